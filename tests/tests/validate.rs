//! `spa validate`, `spa explain` and `spa schema` as a user runs them, on real Git repositories.

use spa_tests::{GitRepo, spa, workspace};

const VALID: &str = "environment_identifier: SpaTest
defaults:
  account_tags:
    managed-by: spa
accounts:
  - identifier: '123456789012'
    note: Alice
";

#[test]
fn each_ref_gets_its_own_answer() {
    let repo = GitRepo::new();
    repo.write("settings.yaml", VALID);
    let good = repo.commit("valid settings");
    repo.write(
        "settings.yaml",
        VALID.replace("account_tags", "acount_tags"),
    );
    let bad = repo.commit("typo");
    repo.git(&["tag", "v1", &good]);

    let run = spa(repo.path(), &["validate", "--ref", &good]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.starts_with("valid: settings.yaml at "),
        "{run:?}"
    );
    assert!(run.stdout.contains(&good[..12]));

    let run = spa(
        repo.path(),
        &["validate", "--ref", "v1", "--format", "json"],
    );
    assert_eq!(run.code, 0);
    assert_eq!(run.json()["revision"]["commit"], good);

    let _snapshots = spa_tests::snapshots().bind_to_scope();
    let run = spa(repo.path(), &["validate"]);
    assert_eq!(run.code, 3, "{run:?}");
    insta::assert_snapshot!("broken_text_stdout", run.stdout);
    insta::assert_snapshot!("broken_text_stderr", run.stderr);

    let run = spa(
        repo.path(),
        &["validate", "--ref", &bad, "--format", "json"],
    );
    assert_eq!(run.code, 3);
    let report = run.json();
    assert_eq!(report["revision"]["commit"], bad);
    insta::assert_json_snapshot!("broken_json", report);
}

#[test]
fn max_diagnostics_bounds_text_and_json() {
    let _snapshots = spa_tests::snapshots().bind_to_scope();
    let repo = GitRepo::new();
    // Five accounts with an impossible id, and a typo: six errors of two codes.
    let mut settings =
        String::from("environment_identifier: SpaTest\ndefaults:\n  acount_tags: {}\naccounts:\n");
    for id in ["1", "22", "333", "4444", "55555"] {
        settings.push_str(&format!("  - identifier: '{id}'\n"));
    }
    repo.write("settings.yaml", settings);
    repo.commit("many mistakes");

    let run = spa(repo.path(), &["validate", "--max-diagnostics", "2"]);
    assert_eq!(run.code, 3, "{run:?}");
    insta::assert_snapshot!("max_2_text_stderr", run.stderr);

    let run = spa(repo.path(), &["validate", "--max-diagnostics", "0"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(
        run.stderr.matches("error[").count(),
        6,
        "0 shows all: {}",
        run.stderr
    );

    let run = spa(
        repo.path(),
        &["validate", "--max-diagnostics", "2", "--format", "json"],
    );
    assert_eq!(run.code, 3, "{run:?}");
    let summary = &run.json()["diagnostics_summary"];
    assert_eq!(summary["errors"], 6);
    assert_eq!(summary["diagnostics"].as_array().unwrap().len(), 2);
    assert_eq!(summary["omitted"], 4);
    insta::assert_json_snapshot!("max_2_json_counts", summary["counts"]);
}

#[test]
fn worktree_sees_uncommitted_edits() {
    let repo = GitRepo::new();
    repo.write(
        "settings.yaml",
        VALID.replace("account_tags", "acount_tags"),
    );
    repo.commit("typo");
    repo.write("settings.yaml", VALID);
    assert_eq!(
        spa(repo.path(), &["validate"]).code,
        3,
        "the commit is still broken"
    );
    let run = spa(repo.path(), &["validate", "--worktree"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("uncommitted changes"), "{run:?}");
}

#[test]
fn remote_repositories_are_read_through_a_cache() {
    let repo = GitRepo::new();
    repo.write("settings.yaml", VALID);
    let commit = repo.commit("valid");
    let url = format!("file://{}", repo.path().display());
    let elsewhere = tempfile::tempdir().unwrap();
    let run = spa(
        elsewhere.path(),
        &["validate", "--repo", &url, "--format", "json"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["revision"]["commit"], commit);
}

#[test]
fn every_invalid_fixture_exits_3_with_located_errors() {
    let fixtures = workspace().join("schema/tests/fixtures/invalid");
    let mut cases = 0;
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let case = entry.unwrap().path();
        let repo = GitRepo::new();
        repo.copy_dir(&case, "");
        if let Ok(generate) = std::fs::read_to_string(case.join("GENERATE")) {
            for line in generate.lines() {
                let (path, size) = line.split_once(' ').unwrap();
                repo.write(
                    path,
                    "Account\n".repeat(size.trim().parse::<usize>().unwrap() / 8 + 1),
                );
            }
        }
        repo.commit("case");
        let run = spa(repo.path(), &["validate"]);
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(run.code, 3, "{name}: {run:?}");
        assert!(run.stderr.contains("error["), "{name}: {}", run.stderr);
        assert!(
            run.stderr.contains(" --> "),
            "{name} has no location: {}",
            run.stderr
        );
        cases += 1;
    }
    assert!(cases >= 20, "only {cases} fixtures found");
}

#[test]
fn a_symlink_out_of_the_repository_is_refused() {
    let repo = GitRepo::new();
    repo.write(
        "settings.yaml",
        format!("{VALID}features:\n  with_csv_files: [teams.csv]\n"),
    );
    std::os::unix::fs::symlink("../../../../etc/passwd", repo.path().join("teams.csv")).unwrap();
    repo.commit("sneaky link");
    let run = spa(repo.path(), &["validate"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("error[path-outside-repository]"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("root:"),
        "nothing of the target is read"
    );
}

#[test]
fn the_example_repository_is_valid() {
    let repo = GitRepo::example();
    let run = spa(repo.path(), &["validate"]);
    assert_eq!(run.code, 0, "{run:?}");
    // No problem at all, only keys spa does not use yet (each said so once).
    let problems: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error") || l.starts_with("warning"))
        .filter(|l| !l.starts_with("warning[ignored-key]"))
        .collect();
    assert!(problems.is_empty(), "{}", run.stderr);
}

#[test]
fn explain_shows_where_each_value_comes_from() {
    let repo = GitRepo::new();
    repo.write(
        "settings.yaml",
        "defaults:
  preparation:
    variables:
      BUDGET_AMOUNT: 500.0
organizational_units:
  - identifier: ou-ab12-cdef3456
    preparation:
      feature: enabled
accounts:
  - identifier: '123456789012'
    account_tags:
      team: data
features:
  with_csv_files: [finops.csv]
",
    );
    repo.write(
        "finops.csv",
        "Account,Tag: cost-center,Preparation: BUDGET_AMOUNT\n123456789012,CC-7,1000\n",
    );
    repo.commit("cascade");
    let run = spa(
        repo.path(),
        &["explain", "123456789012", "--parent", "ou-ab12-cdef3456"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let _snapshots = spa_tests::snapshots().bind_to_scope();
    insta::assert_snapshot!("explain_account_with_parent", run.stdout);

    let run = spa(
        repo.path(),
        &["explain", "123456789012", "--format", "json", "--offline"],
    );
    assert_eq!(run.code, 0);
    let report = run.json();
    assert_eq!(
        report["published"]["preparation"]["feature"], "disabled",
        "no parent given"
    );
    assert_eq!(
        report["published"]["preparation"]["variables"]["BUDGET_AMOUNT"],
        "1000"
    );
    assert!(
        report["notes"][0].as_str().unwrap().contains("offline"),
        "{report}"
    );

    let run = spa(repo.path(), &["explain", "12345"]);
    assert_eq!(run.code, 2, "{run:?}");
    insta::assert_snapshot!("explain_not_an_id", run.stderr);
}

#[test]
fn schema_prints_the_committed_json_schema() {
    let run = spa(&workspace(), &["schema"]);
    assert_eq!(run.code, 0);
    let committed =
        std::fs::read_to_string(workspace().join("schema/settings.schema.json")).unwrap();
    assert_eq!(run.stdout, committed);
}

#[test]
fn the_controller_refuses_a_repository_it_cannot_open() {
    let dir = tempfile::tempdir().unwrap();
    let run = spa(
        dir.path(),
        &[
            "controller",
            "run",
            "--repo",
            "/nonexistent/settings",
            "--listen",
            "127.0.0.1:0",
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("cannot open the settings repository"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("/nonexistent/settings"),
        "{}",
        run.stderr
    );
}
