//! The operator commands against a running controller, as an operator (or the container's
//! health check) runs them.

use spa_tests::{ADMIN_TOKEN, Emulator, GitRepo, spa, spa_env};

#[test]
fn operator_commands_reach_the_controller_and_say_when_they_cannot() {
    let _snapshots = spa_tests::snapshots().bind_to_scope();
    let emulator = Emulator::start();
    let repo = GitRepo::example();
    let path = repo.path().display().to_string();
    let mut controller = emulator.controller(repo.path(), &["--repo", &path, "--no-lifecycle"]);
    let url = controller.url();
    let dir = repo.path();

    let run = spa(dir, &["controller", "health", "--controller", &url]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", ""),
        "quiet when healthy"
    );
    let run = spa_env(
        dir,
        &["controller", "health"],
        &[("SPA_CONTROLLER_URL", &url)],
    );
    assert_eq!(run.code, 0, "the URL from the environment: {run:?}");

    let run = spa(
        dir,
        &[
            "controller",
            "status",
            "--controller",
            &url,
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["branch"], "main", "{}", run.stdout);

    // The mutating endpoints need the token.
    let run = spa(dir, &["resync", "--controller", &url]);
    assert_eq!(run.code, 1, "{run:?}");
    insta::assert_snapshot!("resync_without_token", run.stderr);
    let run = spa_env(
        dir,
        &["resync", "--controller", &url],
        &[("SPA_ADMIN_TOKEN", ADMIN_TOKEN)],
    );
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "resync requested\n"),
        "{run:?}"
    );

    controller.kill();
    let run = spa(dir, &["controller", "health", "--controller", &url]);
    assert_eq!(run.code, 1, "nothing answers: {run:?}");
    assert_eq!(run.stdout, "");
    insta::assert_snapshot!("health_without_controller", run.stderr);
    let run = spa(dir, &["controller", "status", "--controller", &url]);
    assert_eq!(run.code, 1, "{run:?}");
    insta::assert_snapshot!("status_without_controller", run.stderr);

    let run = spa(dir, &["resume", "--controller", "127.0.0.1:8080"]);
    assert_eq!(run.code, 2, "not a URL: {run:?}");
    insta::assert_snapshot!("resume_with_a_bad_url", run.stderr);
}
