//! Facts about the repository itself that must stay true.

use spa_tests::workspace;

/// The example settings repository ships the project's buildspecs; they must not drift.
#[test]
fn example_buildspecs_are_the_shipped_ones() {
    for name in ["preparation.yaml", "purge.yaml"] {
        let shipped = std::fs::read(workspace().join("buildspecs").join(name)).unwrap();
        let example = std::fs::read(
            workspace()
                .join("example-config-repo/buildspecs")
                .join(name),
        )
        .unwrap();
        assert!(
            shipped == example,
            "example-config-repo/buildspecs/{name} differs from buildspecs/{name}: copy it over"
        );
    }
}

/// Buildspecs are published to SSM: 8 KB at most (advanced tier).
#[test]
fn shipped_buildspecs_fit_in_a_parameter() {
    for name in ["preparation.yaml", "purge.yaml"] {
        let size = std::fs::metadata(workspace().join("buildspecs").join(name))
            .unwrap()
            .len();
        assert!(size <= 8192, "buildspecs/{name} is {size} bytes");
    }
}
