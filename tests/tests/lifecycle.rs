//! `spa lifecycle` on the seeded example organization, as an operator runs it: anomalies
//! found, nothing changed without --yes, a foreign account or an unknown state refused,
//! one account moved.

use spa_tests::{Emulator, GitRepo};

const DANA: &str = "785090654109";

fn state_of(emulator: &Emulator, repo: &GitRepo, account: &str) -> serde_json::Value {
    let run = emulator.spa(repo.path(), &["status", "--format", "json"]);
    run.json()["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == account)
        .map(|a| a["state"].clone())
        .unwrap()
}

#[test]
fn check_lists_anomalies_and_commands_change_nothing_without_yes() {
    let emulator = Emulator::start();
    let repo = GitRepo::example();
    let run = emulator.spa(repo.path(), &["dev", "seed", "--org", "organization.yaml"]);
    assert_eq!(run.code, 0, "{run:?}");

    let _snapshots = spa_tests::snapshots().bind_to_scope();
    // Before any apply: accounts without state or tags from settings.
    let run = emulator.spa(repo.path(), &["lifecycle", "check"]);
    assert_eq!(run.code, 4, "anomalies: exit 4 {run:?}");
    insta::assert_snapshot!("check_before_any_apply", run.stdout);
    let run = emulator.spa(repo.path(), &["lifecycle", "check", "--format", "json"]);
    assert_eq!(run.code, 4, "anomalies: exit 4 {run:?}");
    let report = run.json();
    assert_eq!(report["accounts"], 22);
    let anomalies: Vec<(String, String)> = report["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["account"].as_str().unwrap().to_string(),
                a["anomaly"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        anomalies.contains(&(DANA.to_string(), "no `account-state` tag".to_string())),
        "{anomalies:?}"
    );
    assert!(
        anomalies
            .iter()
            .any(|(a, m)| a == DANA && m.starts_with("tag `cost-center`")),
        "{anomalies:?}"
    );

    // Without --yes (and no terminal): shown, refused, nothing changed.
    let run = emulator.spa(repo.path(), &["lifecycle", "release-all"]);
    assert_eq!(run.code, 1, "{run:?}");
    insta::assert_snapshot!("release_all_preview", run.stdout);
    insta::assert_snapshot!("release_all_refused", run.stderr);
    assert_eq!(state_of(&emulator, &repo, DANA), serde_json::Value::Null);

    // An account outside the settings is refused.
    let run = emulator.spa(
        repo.path(),
        &[
            "lifecycle",
            "set-state",
            "999999999999",
            "released",
            "--yes",
        ],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("not managed"), "{run:?}");
    let run = emulator.spa(repo.path(), &["lifecycle", "builds", "999999999999"]);
    assert_eq!(run.code, 2, "not even read: {run:?}");
    // A production account is in the organization, not in settings.
    let run = emulator.spa(
        repo.path(),
        &["lifecycle", "set-state", "672973276996", "vanilla", "--yes"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("neither listed nor in a listed organizational unit"),
        "{run:?}"
    );
    let run = emulator.spa(
        repo.path(),
        &["lifecycle", "set-state", DANA, "retired", "--yes"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("expected vanilla, assigned, released or expired"),
        "{run:?}"
    );

    let run = emulator.spa(
        repo.path(),
        &["lifecycle", "set-state", DANA, "expired", "--yes"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("1 account(s) moved to expired"),
        "{run:?}"
    );
    assert_eq!(state_of(&emulator, &repo, DANA), "expired");

    // Nothing ran inside the account yet.
    let run = emulator.spa(repo.path(), &["lifecycle", "builds", DANA]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("no project yet"), "{run:?}");
}
