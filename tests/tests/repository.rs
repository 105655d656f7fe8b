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

/// The example parameter files of `deploy/examples/` are what `spa deploy parameters`
/// derives from the example settings: settings stay the single source.
#[test]
fn deploy_examples_are_derived_from_the_example_settings() {
    let repo = spa_tests::GitRepo::example();
    let dir = repo.dir.path();
    let automation = [
        "--organization-id",
        "o-1rb4example",
        "--image-uri",
        "ghcr.io/spa-project/spa:0.1.0",
        "--settings-repository-url",
        "https://github.com/example-corp/spa-settings",
        "--vpc-id",
        "vpc-0123456789abcdef0",
        "--subnet-ids",
        "subnet-0123456789abcdef0,subnet-0fedcba9876543210",
    ];
    for (stack, extra) in [
        ("management", &[][..]),
        ("automation", &automation[..]),
        ("member-role", &[][..]),
    ] {
        let mut args = vec!["deploy", "parameters", stack];
        args.extend_from_slice(extra);
        let run = spa_tests::spa(dir, &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let committed = std::fs::read_to_string(
            workspace().join(format!("deploy/examples/{stack}.parameters.json")),
        )
        .unwrap();
        assert_eq!(
            run.stdout, committed,
            "deploy/examples/{stack}.parameters.json: regenerate it with `spa deploy parameters {stack}`"
        );
    }
    // What settings cannot say is asked for by name.
    let run = spa_tests::spa(dir, &["deploy", "parameters", "automation"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--organization-id"), "{}", run.stderr);
}
