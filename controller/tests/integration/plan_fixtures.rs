//! Data-driven plan tests: each folder of `tests/plans/` holds settings and an observation;
//! the plan and its three renderings are insta snapshots. Adding a case is adding a folder.

use std::path::Path;

use spa_controller::desired::desired;
use spa_controller::observe::Observation;
use spa_controller::plan::plan;
use spa_controller::render;
use spa_schema::{MemoryFiles, load};

fn case(settings_path: &Path) -> spa_controller::plan::Plan {
    let dir = settings_path.parent().unwrap();
    let mut files = MemoryFiles::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name != "observed.json" {
            files = files.with(&name, std::fs::read(&path).unwrap());
        }
    }
    let loaded = load(&files, "settings.yaml");
    let settings = loaded.valid().expect("fixture settings are valid");
    let observed: Observation =
        serde_json::from_str(&std::fs::read_to_string(dir.join("observed.json")).unwrap()).unwrap();
    let observed = observed.fingerprinted();
    let desired = desired(
        settings,
        &observed,
        Some("0123456789abcdef0123456789abcdef01234567"),
    );
    plan(&desired, &observed)
}

/// The text rendering as it reads without colour.
fn plain(styled: &str) -> String {
    anstream::adapter::strip_str(styled).to_string()
}

#[test]
fn plans_and_renderings() {
    insta::glob!("plans/*/settings.yaml", |path| {
        let plan = case(path);
        insta::assert_snapshot!("text", plain(&render::text(&plan)));
        insta::assert_snapshot!(
            "markdown",
            render::markdown(&plan, render::GITHUB_COMMENT_LIMIT, "See the artifact.")
        );
        insta::assert_snapshot!("json", render::json(&plan));
    });
}

#[test]
fn facts_about_the_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/plans");
    let converged = case(&dir.join("converged-other-formatting/settings.yaml"));
    assert!(
        converged.no_changes,
        "other JSON formatting is not a change: {converged:#?}"
    );

    let drift = case(&dir.join("drift/settings.yaml"));
    let alice = drift
        .accounts
        .iter()
        .find(|a| a.account == "111111111111")
        .unwrap();
    let keys: Vec<(&str, spa_controller::plan::TagAction)> = alice
        .tags
        .iter()
        .map(|t| (t.key.as_str(), t.action))
        .collect();
    use spa_controller::plan::TagAction::*;
    assert_eq!(keys, vec![("team", Change), ("obsolete", Remove)]);
    assert!(drift.parameters.is_empty());
    let bob = drift
        .accounts
        .iter()
        .find(|a| a.account == "222222222222")
        .unwrap();
    assert!(
        bob.tags.iter().all(|t| t.key != "environment"),
        "an unowned tag is never touched"
    );

    let destructive = case(&dir.join("destructive/settings.yaml"));
    let targets: Vec<&str> = destructive
        .destructive
        .iter()
        .map(|d| d.target.as_str())
        .collect();
    assert_eq!(
        targets,
        vec![
            "111111111111",
            "222222222222",
            "/Fix/Accounts/999999999999",
            "/Fix/Documents/Old"
        ]
    );
    assert!(
        destructive
            .parameters
            .iter()
            .all(|p| p.name.starts_with("/Fix/")),
        "never outside the prefix"
    );

    let incomplete = case(&dir.join("incomplete/settings.yaml"));
    assert!(!incomplete.complete);
    assert!(
        incomplete
            .accounts
            .iter()
            .all(|a| a.account != "222222222222")
    );
}

#[test]
fn guardrails_are_planned_and_their_loosening_flagged() {
    use spa_controller::plan::Action::{Create, Delete, Update};
    use spa_controller::plan::AttachAction::{Attach, Detach};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/plans");
    let plan = case(&dir.join("guardrails/settings.yaml"));
    let policies: Vec<(&str, spa_controller::plan::Action, bool)> = plan
        .policies
        .iter()
        .map(|p| (p.name.as_str(), p.action, p.destructive.is_some()))
        .collect();
    assert_eq!(
        policies,
        vec![
            ("Fix-Leave", Update, true),
            ("Fix-Old", Delete, true),
            ("Fix-Regions", Update, false),
            ("Fix-Shares", Create, false),
        ],
        "DenyRoot is the same JSON however it is formatted; Costly is not spa's"
    );
    let attachments: Vec<(&str, &str, spa_controller::plan::AttachAction, bool)> = plan
        .attachments
        .iter()
        .map(|a| {
            (
                a.policy.as_str(),
                a.target.as_str(),
                a.action,
                a.destructive.is_some(),
            )
        })
        .collect();
    assert_eq!(
        attachments,
        vec![
            ("Fix-Freeze", "111111111111", Detach, false),
            ("Fix-Freeze", "222222222222", Attach, false),
            ("Fix-Leave", "ou-fix1-sandbox1", Detach, true),
            ("Fix-Old", "444444444444", Detach, true),
            ("Fix-Old", "ou-fix1-sandbox1", Detach, true),
            ("Fix-Regions", "333333333333", Attach, false),
            ("Fix-Shares", "ou-fix1-sandbox1", Attach, false),
        ],
        "DenyRoot stays on the root, where someone attached it by hand"
    );
    assert_eq!(
        plan.attachments[1].state.as_deref(),
        Some("expired"),
        "a per-state attachment says why"
    );
    assert!(
        plan.skipped.iter().any(|s| s.contains("Fix-Costly")),
        "{:?}",
        plan.skipped
    );
    // The controller applies what is not destructive, and no guardrail leaves a target.
    let safe = plan.without_destructive();
    assert!(safe.policies.iter().all(|p| p.destructive.is_none()));
    assert!(
        safe.attachments
            .iter()
            .all(|a| a.action == Attach || a.target == "111111111111")
    );
    // A per-state attachment decided on a state the account has left is dropped.
    let now = plan.clone().without_stale_states(|account| {
        (account == "222222222222").then(|| "assigned".to_string())
    });
    assert!(
        now.attachments.iter().all(|a| a.policy != "Fix-Freeze"),
        "{:?}",
        now.attachments
    );
    assert_eq!(now.attachments.len(), plan.attachments.len() - 2);
}

#[test]
fn markdown_always_fits_in_a_comment() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/plans");
    let plan = case(&dir.join("first-run/settings.yaml"));
    for limit in [2_000, 5_000, 65_535] {
        let text = render::markdown(&plan, limit, "See the artifact.");
        assert!(text.len() <= limit, "{} > {limit}", text.len());
    }
    let short = render::markdown(&plan, 2_000, "See the artifact.");
    assert!(
        short.contains("are not shown") || short.contains("Truncated"),
        "{short}"
    );
    assert!(short.contains("See the artifact."));
}
