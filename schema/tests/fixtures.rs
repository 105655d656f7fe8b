//! Data-driven fixtures: every folder under `tests/fixtures/valid`, `tests/fixtures/warnings`
//! and `tests/fixtures/invalid` is a settings repository. Adding a case is adding a folder;
//! the expected output is an insta snapshot (rendered diagnostics, or the resolved model and
//! its warnings). `warnings` holds settings that are valid but get warnings: they may be
//! applied, and `spa validate` exits 0 on them.
//!
//! A `GENERATE` file lists `path size` lines: files too large to commit, made at test time.

use std::path::Path;

use spa_schema::diag::Style;
use spa_schema::explain::explain_text;
use spa_schema::{MemoryFiles, Resolver, load};

fn read_case(dir: &Path) -> MemoryFiles {
    let mut files = MemoryFiles::new();
    for entry in walk(dir) {
        let relative = entry
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = std::fs::read(&entry).unwrap();
        if relative == "GENERATE" {
            for line in String::from_utf8(bytes).unwrap().lines() {
                let (path, size) = line.split_once(' ').unwrap();
                let size: usize = size.trim().parse().unwrap();
                files = files.with(path, "Account\n".repeat(size / 8 + 1));
            }
        } else {
            files = files.with(&relative, bytes);
        }
    }
    files
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn case_dir(settings: &Path) -> &Path {
    settings.parent().unwrap()
}

#[test]
fn invalid_fixtures_report_located_errors() {
    insta::glob!("fixtures/invalid/*/settings.yaml", |path| {
        let loaded = load(&read_case(case_dir(path)), "settings.yaml");
        assert!(
            loaded.error_count() > 0,
            "{} should be invalid",
            path.display()
        );
        assert!(loaded.valid().is_none());
        let rendered = loaded.render(Style::Plain);
        insta::assert_snapshot!(rendered);
    });
}

fn resolved(loaded: &spa_schema::Loaded) -> String {
    let settings = loaded.valid().expect("valid settings");
    let resolver = Resolver::new(settings);
    let mut out = String::new();
    for ou in &settings.organizational_units {
        out.push_str(&explain_text(
            &resolver.organizational_unit(&ou.identifier.value),
        ));
        out.push('\n');
    }
    for account in settings.listed_accounts() {
        let parent = settings
            .organizational_units
            .first()
            .map(|ou| ou.identifier.value.as_str());
        out.push_str(&explain_text(&resolver.account(account, parent)));
        out.push('\n');
    }
    for policy in &settings.service_control_policies {
        let at =
            |span: Option<spa_schema::Span>| span.map_or("default".to_string(), |s| s.to_string());
        let list = |values: Vec<String>| values.join(", ");
        out.push_str(&format!(
            "service control policy {} ← {}\n  file          {}\n  description   {}\n  OUs           {}\n  accounts      {}\n  states        {}\n  minified      {} characters: {}\n\n",
            policy.full_name,
            at(policy.name.span),
            policy.file.path,
            policy.description.as_ref().map_or("", |d| d.value.as_str()),
            list(policy.organizational_units.iter().map(|o| format!("{} ← {}", o.value, at(o.span))).collect()),
            list(policy.accounts.iter().map(|a| format!("{} ← {}", a.value, at(a.span))).collect()),
            list(policy.states.iter().map(|s| s.value.as_str().to_string()).collect()),
            policy.minified.chars().count(),
            policy.minified,
        ));
        assert!(!policy.text.is_empty());
    }
    if loaded.warning_count() > 0 {
        out.push_str("warnings:\n");
        out.push_str(&loaded.render(Style::Plain));
    }
    out
}

#[test]
fn warning_fixtures_are_valid_and_warned() {
    insta::glob!("fixtures/warnings/*/settings.yaml", |path| {
        let loaded = load(&read_case(case_dir(path)), "settings.yaml");
        assert_eq!(loaded.error_count(), 0, "{}", loaded.render(Style::Plain));
        assert!(
            loaded.warning_count() > 0,
            "{} has no warning",
            path.display()
        );
        assert!(
            loaded.valid().is_some(),
            "warnings do not make settings invalid"
        );
        insta::assert_snapshot!(loaded.render(Style::Plain));
    });
}

#[test]
fn valid_fixtures_resolve() {
    insta::glob!("fixtures/valid/*/settings.yaml", |path| {
        let loaded = load(&read_case(case_dir(path)), "settings.yaml");
        assert_eq!(loaded.error_count(), 0, "{}", loaded.render(Style::Plain));
        insta::assert_snapshot!(resolved(&loaded));
    });
}

fn load_fixture(kind: &str, case: &str) -> spa_schema::Loaded {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind)
        .join(case);
    load(&read_case(&dir), "settings.yaml")
}

#[test]
fn new_keys_are_decoded_with_their_places() {
    use spa_schema::model::ParameterTier;
    let loaded = load_fixture("valid", "new-keys");
    let settings = loaded.valid().expect("valid");
    assert_eq!(settings.worker.build_timeout_in_minutes.value, 120);
    assert!(settings.worker.build_timeout_in_minutes.span.is_some());
    assert_eq!(
        settings.worker.build_service_role_policy_arn.value,
        "arn:aws:iam::111111111111:policy/spa/SpaPurgeAccess"
    );
    assert_eq!(
        settings.automation.parameter_tier.value,
        ParameterTier::IntelligentTiering
    );
    assert!(!settings.features.with_account_parameters.value);
    assert!(settings.features.with_slack_webhook_on_alerts.is_some());
    let reporting = &settings.reporting;
    assert_eq!(
        reporting.costs_exchange_rates_url.value,
        "http://127.0.0.1:8080/eurofxref-daily.xml"
    );
    // Parsed once: 2021-01-01T00:00:00Z was a Friday; the month-to-date report runs on
    // Fridays at 06:00.
    let new_year_2021 = 1_609_459_200;
    assert_eq!(
        reporting
            .activities_month_to_date_schedule_expression
            .schedule
            .next_after(new_year_2021),
        Some(new_year_2021 + 6 * 3600)
    );
    let span = reporting
        .costs_final_schedule_expression
        .expression
        .span
        .unwrap();
    assert_eq!((span.line, span.column), (19, 36));
}

#[test]
fn new_keys_have_their_defaults() {
    use spa_schema::model::ParameterTier;
    let files = MemoryFiles::new().with("settings.yaml", "environment_identifier: SpaTest\n");
    let loaded = load(&files, "settings.yaml");
    let settings = loaded.valid().expect("valid");
    assert_eq!(settings.worker.build_timeout_in_minutes.value, 480);
    assert_eq!(
        settings.worker.build_service_role_policy_arn.value,
        "arn:aws:iam::aws:policy/AdministratorAccess"
    );
    assert_eq!(
        settings.automation.parameter_tier.value,
        ParameterTier::Standard
    );
    assert!(settings.features.with_account_parameters.value);
    assert!(settings.features.with_slack_webhook_on_alerts.is_none());
    let reporting = &settings.reporting;
    assert_eq!(
        reporting.costs_exchange_rates_url.value,
        "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
    );
    for (schedule, expected) in [
        (
            &reporting.inventories_schedule_expression,
            "cron(23 3 ? * SAT *)",
        ),
        (
            &reporting.activities_schedule_expression,
            "cron(42 3 1 * ? *)",
        ),
        (
            &reporting.activities_month_to_date_schedule_expression,
            "cron(42 3 ? * SAT *)",
        ),
        (
            &reporting.costs_daily_schedule_expression,
            "cron(42 0 * * ? *)",
        ),
        (
            &reporting.costs_early_schedule_expression,
            "cron(0 4 6 * ? *)",
        ),
        (
            &reporting.costs_final_schedule_expression,
            "cron(0 4 14 * ? *)",
        ),
    ] {
        assert_eq!(schedule.expression.value, expected);
        assert!(schedule.expression.span.is_none());
        assert_eq!(
            schedule.schedule,
            spa_schema::schedule::Schedule::parse(expected).unwrap()
        );
    }
}

/// The example repository is valid; its only warnings are keys spa does not use yet.
#[test]
fn the_example_repository_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../example-config-repo");
    let loaded = load(&read_case(&dir), "settings.yaml");
    assert_eq!(loaded.error_count(), 0, "{}", loaded.render(Style::Plain));
    assert!(loaded.valid().is_some());
    for diagnostic in &loaded.diagnostics {
        assert_eq!(
            diagnostic.code,
            "ignored-key",
            "{}",
            loaded.render(Style::Plain)
        );
    }
    let policies = &loaded.settings.as_ref().unwrap().service_control_policies;
    assert_eq!(policies.len(), 5);
    for policy in policies {
        assert!(policy.full_name.starts_with("SpaDemo-"));
        assert!(!policy.minified.is_empty() && policy.minified.len() < 5_120);
    }
}

/// The example policies that deny what spa does escape the lock-out warning only through
/// their exemption of spa's roles: without it, the check fires.
#[test]
fn the_example_policies_exempt_spa_and_need_to() {
    use spa_schema::diag::{Span, intern};
    use spa_schema::policy::{Context, check_document};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../example-config-repo/policies");
    let settings = intern("settings.yaml");
    let context = Context {
        name: "Example",
        written: Span::point(settings, 1, 1),
        named: Span::point(settings, 1, 1),
        member_role: "AWSControlTowerExecution",
    };
    for name in ["restrict-regions.json", "deny-work-during-purge.json"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let mut diagnostics = Vec::new();
        check_document(intern(name), &text, &context, &mut diagnostics);
        assert!(diagnostics.is_empty(), "{name}: {diagnostics:?}");
        let mut document: serde_json::Value = serde_json::from_str(&text).unwrap();
        for statement in document["Statement"].as_array_mut().unwrap() {
            statement["Condition"]
                .as_object_mut()
                .unwrap()
                .remove("ArnNotLike")
                .expect("an exemption");
        }
        let text = serde_json::to_string_pretty(&document).unwrap();
        check_document(intern(name), &text, &context, &mut diagnostics);
        assert!(
            diagnostics.iter().any(|d| d.code == "policy-lockout"),
            "{name} without its exemption: {diagnostics:?}"
        );
    }
}
