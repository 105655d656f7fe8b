//! `spa plan` on the seeded example organization, as a reviewer reads it: text on a
//! terminal, Markdown in a pull request.

use spa_tests::{Emulator, GitRepo};

#[test]
fn the_plan_of_the_example_reads_well() {
    let _snapshots = spa_tests::snapshots().bind_to_scope();
    let emulator = Emulator::start();
    let repo = GitRepo::example();
    let run = emulator.spa(repo.path(), &["dev", "seed", "--org", "organization.yaml"]);
    assert_eq!(run.code, 0, "{run:?}");

    let run = emulator.spa(repo.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 4, "changes pending: {run:?}");
    // Nothing on stderr but, on a busy machine, the observation's progress (after 2 s).
    assert!(
        run.stderr.lines().all(|l| l.starts_with("observing: ")),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains('\u{1b}'), "NO_COLOR: no escapes");
    insta::assert_snapshot!("example_text", run.stdout);

    // What a reviewer reads first; the details repeat what is published, one block per
    // parameter (24), per account whose tags change (22), per policy created (5) and one for
    // the policies' attachments.
    let run = emulator.spa(repo.path(), &["plan", "--format", "markdown"]);
    assert_eq!(run.code, 0, "{run:?}");
    let (head, details) = run.stdout.split_once("#### Details\n").expect("details");
    insta::assert_snapshot!("example_markdown_head", head);
    assert_eq!(
        details.matches("<details>").count(),
        24 + 22 + 5 + 1,
        "{details}"
    );

    // Colour on request, even into a pipe; the words stay the same.
    let run = emulator.spa(repo.path(), &["plan", "--color", "always"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("\u{1b}["), "--color always colours");
    let words = emulator
        .spa(repo.path(), &["plan", "--color", "never"])
        .stdout;
    assert_eq!(strip_escapes(&run.stdout), words);
}

/// The text without its ANSI escapes (`ESC [ … m`).
fn strip_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
