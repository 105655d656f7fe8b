//! Every number and duration on the command line is checked before anything is read or
//! called: out of range is a usage error (exit 2) naming the flag and the range. Each case
//! runs where there is no settings repository and no AWS, so only the check can answer.

use spa_tests::spa;

/// clap's "For more information, try '--help'." and usage lines vary with the command:
/// keep the error line alone.
fn error_line(stderr: &str) -> String {
    stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line in {stderr}"))
        .to_string()
}

fn refused(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let run = spa(dir.path(), args);
    assert_eq!(run.code, 2, "{args:?} must be a usage error: {run:?}");
    assert_eq!(run.stdout, "", "{args:?}");
    error_line(&run.stderr)
}

#[test]
fn a_rate_limit_is_a_finite_number_in_range() {
    // Each of these used to be accepted, and the command then waited (nearly) for ever.
    insta::assert_snapshot!(
        refused(&["plan", "--rate-limit", "org-list-tags=NaN"]),
        @"error: invalid value 'org-list-tags=NaN' for '--rate-limit <FAMILY=RATE/BURST>': `NaN` is out of range: the rate (calls per second) must be a number from 0.01 to 10000"
    );
    insta::assert_snapshot!(
        refused(&["status", "--rate-limit", "ssm-write=5/inf"]),
        @"error: invalid value 'ssm-write=5/inf' for '--rate-limit <FAMILY=RATE/BURST>': `inf` is out of range: the burst (bucket size) must be a number from 1 to 10000"
    );
    for value in ["1e-300", "-1", "0", "1e9", "five"] {
        let line = refused(&["apply", "--rate-limit", &format!("org-tag={value}/5")]);
        assert!(
            line.contains("'--rate-limit <FAMILY=RATE/BURST>'"),
            "{line}"
        );
        assert!(line.contains("from 0.01 to 10000"), "{line}");
    }
    // The families are listed (their names come from the AWS layer; docs/aws.md).
    let line = refused(&["plan", "--rate-limit", "org-tags=5/8"]);
    assert!(
        line.contains("unknown family `org-tags`; known: "),
        "{line}"
    );
    assert!(line.contains("org-list-tags"), "{line}");
}

#[test]
fn concurrency_is_between_1_and_256() {
    insta::assert_snapshot!(
        refused(&["apply", "--concurrency", "0"]),
        @"error: invalid value '0' for '--concurrency <N>': 0 is not in 1..=256"
    );
    let line = refused(&["lifecycle", "run", "--concurrency", "100000"]);
    assert!(
        line.contains("'--concurrency <N>'") && line.contains("1..=256"),
        "{line}"
    );
    let line = refused(&["lifecycle", "expire-now", "--concurrency=-3"]);
    assert!(line.contains("'--concurrency <N>'"), "{line}");
}

#[test]
fn durations_are_bounded() {
    insta::assert_snapshot!(
        refused(&["controller", "run", "--repo", ".", "--interval", "99999999h"]),
        @"error: invalid value '99999999h' for '--interval <DURATION>': `99999999h` is too long: at most 366 days"
    );
    insta::assert_snapshot!(
        refused(&["controller", "run", "--repo", ".", "--build-poll", "10ms"]),
        @"error: invalid value '10ms' for '--build-poll <DURATION>': `10ms` is too short: an interval is at least 1s"
    );
    insta::assert_snapshot!(
        refused(&["controller", "run", "--repo", ".", "--lease-duration", "1s"]),
        @"error: invalid value '1s' for '--lease-duration <DURATION>': `1s` is too short: a lease is at least 3s"
    );
    let line = refused(&["lifecycle", "check", "--stuck-after", "0s"]);
    assert!(
        line.contains("'--stuck-after <DURATION>'") && line.contains("positive"),
        "{line}"
    );
    let line = refused(&["lifecycle", "run", "--timeout", "1.5h"]);
    assert!(
        line.contains("'--timeout <DURATION>'") && line.contains("not a duration"),
        "{line}"
    );
    let line = refused(&["controller", "health", "--timeout", "400d"]);
    assert!(
        line.contains("'--timeout <DURATION>'") && line.contains("too long"),
        "{line}"
    );
}

#[test]
fn other_numbers_and_times_are_checked_too() {
    let line = refused(&["validate", "--max-diagnostics=-1"]);
    assert!(line.contains("'--max-diagnostics <N>'"), "{line}");
    let line = refused(&[
        "controller",
        "run",
        "--repo",
        ".",
        "--listen",
        "127.0.0.1:99999",
    ]);
    assert!(line.contains("'--listen <ADDRESS:PORT>'"), "{line}");
    // Checked here, before the controller is asked (nothing listens at this URL).
    let line = refused(&[
        "suspend",
        "--reason",
        "audit",
        "--until",
        "2027-02-31T00:00:00Z",
        "--controller",
        "http://127.0.0.1:9",
    ]);
    assert!(line.contains("'--until <TIME>'"), "{line}");
}
