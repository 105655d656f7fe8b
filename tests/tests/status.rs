//! `spa dev seed` and `spa status` on the local emulator, as a newcomer runs them.

use spa_tests::{Emulator, GitRepo};

#[test]
fn status_of_the_seeded_example_organization() {
    let emulator = Emulator::start();
    let repo = GitRepo::example();
    let run = emulator.spa(repo.path(), &["dev", "seed", "--org", "organization.yaml"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("6 organizational units, 29 accounts"),
        "{run:?}"
    );

    let run = emulator.spa(repo.path(), &["status", "--format", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.json();
    assert_eq!(report["complete"], true);
    let accounts = report["accounts"].as_array().unwrap();
    // 16 listed accounts and 6 more in listed OUs; production, security and root accounts
    // are not managed and never read.
    assert_eq!(accounts.len(), 22);
    let names: Vec<&str> = accounts
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    for unmanaged in ["shop-prod", "security-tooling", "log-archive"] {
        assert!(
            !names.contains(&unmanaged),
            "{unmanaged} must not be observed"
        );
    }
    assert_eq!(report["counts_by_state"]["released"], 4);
    assert_eq!(report["counts_by_state"]["(none)"], 15);
    let dana = accounts.iter().find(|a| a["name"] == "dana-eng").unwrap();
    assert_eq!(dana["organizational_unit"], "ou-1rb4-yu9tf5hp");
    assert_eq!(report["calls"]["ListTagsForResource"]["ok"], 22);
    assert_eq!(report["calls"]["ListRoots"]["ok"], 1);
    assert!(report["calls"].get("ListParents").is_none());

    let _snapshots = spa_tests::snapshots().bind_to_scope();
    let run = emulator.spa(repo.path(), &["status"]);
    assert_eq!(run.code, 0, "{run:?}");
    insta::assert_snapshot!("seeded_example", run.stdout);

    // explain finds the parent OU in the live organization.
    let run = emulator.spa(repo.path(), &["explain", "785090654109"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(
            "cascade: defaults → organizational unit ou-1rb4-yu9tf5hp → account item 785090654109"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn status_says_when_aws_cannot_be_reached() {
    let repo = GitRepo::example();
    let emulator = Emulator::start();
    let endpoint = emulator.endpoint.clone();
    drop(emulator); // nothing listens there any more
    let run = spa_tests::spa(repo.path(), &["status", "--endpoint-url", &endpoint]);
    // The reason comes from the AWS SDK (and which read fails first varies): only what spa
    // adds is checked.
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with("error: cannot read the organization: "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("scripts/emulator start"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_listed_organizational_unit_that_does_not_exist_is_reported() {
    let emulator = Emulator::start();
    let repo = GitRepo::example();
    assert_eq!(
        emulator
            .spa(repo.path(), &["dev", "seed", "--org", "organization.yaml"])
            .code,
        0
    );
    let settings = std::fs::read_to_string(repo.path().join("settings.yaml")).unwrap();
    repo.write(
        "settings.yaml",
        // Everywhere: the OU's item and the preventive controls that target it.
        settings.replace("ou-1rb4-mkgvehvu", "ou-1rb4-doesnotexist"),
    );
    repo.commit("a typo in an OU id");
    let run = emulator.spa(repo.path(), &["status"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("warning: organizational unit ou-1rb4-doesnotexist is listed in settings but does not exist"),
        "{}",
        run.stdout
    );
}

/// A long observation says how far it is: a bar with counts, rate and time left on a
/// terminal (checked under a pseudo-terminal, `script` of util-linux), a line every few
/// seconds elsewhere, and nothing of it on stdout.
#[test]
fn a_long_observation_shows_its_progress() {
    let emulator = Emulator::start();
    let repo = GitRepo::example();
    let run = emulator.spa(repo.path(), &["dev", "seed", "--org", "organization.yaml"]);
    assert_eq!(run.code, 0, "{run:?}");
    // 22 accounts at 3 tag reads a second: about 7 s, past the quiet first 2 s.
    let slow = ["status", "--rate-limit", "org-list-tags=3/1"];

    let command = format!("{} {}", spa_tests::spa_bin().display(), slow.join(" "));
    let output = std::process::Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .current_dir(repo.path())
        .envs(emulator.env())
        .env("TERM", "xterm-256color")
        .env("NO_COLOR", "1")
        .output()
        .expect("script (util-linux) runs");
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{screen}");
    assert!(screen.contains("observing: tags read"), "{screen}");
    assert!(
        screen.contains("/22 ("),
        "a count of a known total: {screen}"
    );
    assert!(screen.contains("left)"), "a time left: {screen}");
    assert!(screen.contains("/s,"), "a rate: {screen}");
    assert!(screen.contains("dana-eng"), "then the result: {screen}");

    // Without a terminal: lines on stderr, stdout keeps only the data.
    let run = emulator.spa(repo.path(), &slow);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("observing: tags read for"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains('\r'), "no bar drawn into a pipe");
    assert!(!run.stdout.contains("observing"), "{}", run.stdout);
}
