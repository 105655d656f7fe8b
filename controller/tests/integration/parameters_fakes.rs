//! Parameter Store at its quotas, on fakes that enforce them (the emulator enforces none):
//! a plan that would pass the standard-tier quota is refused before any write, the tier
//! strategies of settings get what they promise, AWS's own refusal is classified and
//! explained, and a first publication of 10,000 accounts is paced by the write quota.
#![allow(clippy::print_stderr)] // the scale test reports its virtual time

use std::fmt::Write as _;
use std::sync::Arc;

use spa_controller::apply::{ApplyOptions, Refusal, Scope, apply};
use spa_controller::aws::fake::{self, Behaviour, FakeOrganizations, FakeParameters};
use spa_controller::aws::{Aws, ErrorKind, Tier, api};
use spa_controller::desired::desired;
use spa_controller::observe::observe;
use spa_controller::plan::{Plan, plan};
use spa_schema::{MemoryFiles, Settings};

use crate::common::valid_settings;

const ALLOW: ApplyOptions = ApplyOptions {
    allow_destructive: true,
    concurrency: 8,
};

/// An organization of `accounts` listed accounts in one OU, a store holding `others`
/// standard parameters of other tools, and settings listing the accounts in a CSV file.
fn world(
    accounts: usize,
    others: usize,
    automation: &str,
    behaviour: fn() -> Behaviour,
) -> (Arc<FakeParameters>, Aws, Settings) {
    let organizations = Arc::new(FakeOrganizations::new(behaviour()));
    let root = organizations.root_id();
    organizations.add_unit("ou-quot-sandbox1", "Sandboxes", &root);
    let mut csv = String::from("Account\n");
    for index in 0..accounts {
        let id = format!("{:012}", 500_000_000_000usize + index);
        organizations.add_account(
            &id,
            "p",
            "ou-quot-sandbox1",
            &[
                ("account-state", "released"),
                ("account-holder", "p@example.com"),
            ],
        );
        let _ = writeln!(csv, "{id}");
    }
    let parameters = Arc::new(FakeParameters::new(behaviour()));
    for index in 0..others {
        parameters.insert(&format!("/OtherTool/{index}"), "x");
    }
    let yaml = format!(
        "environment_identifier: SpaQuota\n{automation}organizational_units:\n  - identifier: ou-quot-sandbox1\nfeatures:\n  with_csv_files: [accounts.csv]\n"
    );
    let settings = valid_settings(
        &MemoryFiles::new()
            .with("settings.yaml", yaml.as_str())
            .with("accounts.csv", csv.as_str()),
    );
    let aws = fake::aws(organizations, parameters.clone());
    (parameters, aws, settings)
}

async fn plan_now(aws: &Aws, settings: &Settings) -> (Plan, Scope) {
    let observed = observe(aws, settings).await;
    let plan = plan(&desired(settings, &observed, None), &observed);
    (plan, Scope::new("SpaQuota", &observed))
}

#[tokio::test(start_paused = true)]
async fn a_plan_past_the_standard_quota_is_refused_before_any_write() {
    // 9,950 parameters of other tools, and settings that publish 51 (an OU, 50 accounts).
    let (parameters, aws, settings) = world(50, 9_950, "", Behaviour::default);
    let (plan, scope) = plan_now(&aws, &settings).await;
    let usage = plan.parameter_store.clone().unwrap();
    assert_eq!((usage.standard, usage.standard_elsewhere), (51, 9_950));
    assert_eq!(plan.blockers.len(), 1, "{:?}", plan.blockers);
    let blocker = &plan.blockers[0];
    for words in [
        "10001 standard parameters",
        "51 of spa's under /SpaQuota/, 9950 of others",
        "1 above the standard-tier quota of 10000",
        "ParameterLimitExceeded",
        "`automation.parameter_tier: intelligent-tiering`",
        "about $0.05 a month",
        "all 51 of spa's: $2.55 a month",
        "`features.with_account_parameters: false` (spa then publishes 1 instead of 51",
    ] {
        assert!(blocker.contains(words), "{words}: {blocker}");
    }
    let text = spa_controller::render::text(&plan);
    assert!(text.contains("Cannot be applied"), "{text}");
    let refused = apply(&aws, &plan, &scope, ALLOW, &|_, _| {}).await;
    assert!(matches!(refused, Err(Refusal::Blocked(_))), "{refused:?}");
    assert_eq!(
        parameters.behaviour.served.calls(api::PUT_PARAMETER),
        0,
        "nothing written"
    );
}

#[tokio::test(start_paused = true)]
async fn intelligent_tiering_makes_what_passes_the_quota_advanced_and_says_what_it_costs() {
    let (parameters, aws, settings) = world(
        50,
        9_950,
        "automation:\n  parameter_tier: intelligent-tiering\n",
        Behaviour::default,
    );
    let (plan, scope) = plan_now(&aws, &settings).await;
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    let usage = plan.parameter_store.clone().unwrap();
    assert_eq!((usage.standard, usage.advanced), (50, 1));
    assert_eq!(usage.monthly_cost_cents, 5);
    let text = spa_controller::render::text(&plan);
    assert!(
        text.contains("1 advanced parameters of spa's, about $0.05 a month"),
        "{text}"
    );
    let report = apply(&aws, &plan, &scope, ALLOW, &|_, _| {}).await.unwrap();
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(parameters.count(Tier::Standard), 10_000);
    assert_eq!(parameters.count(Tier::Advanced), 1);
    // Converged: the tiers AWS chose are read back, nothing is planned again.
    let (again, _) = plan_now(&aws, &settings).await;
    assert!(again.no_changes, "{:?}", again.parameters);
}

#[tokio::test(start_paused = true)]
async fn advanced_makes_every_parameter_advanced_once() {
    let (parameters, aws, settings) = world(3, 0, "", Behaviour::default);
    let (plan, scope) = plan_now(&aws, &settings).await;
    apply(&aws, &plan, &scope, ALLOW, &|_, _| {}).await.unwrap();
    assert_eq!(parameters.count(Tier::Standard), 4);
    // The strategy changes: every parameter moves to the advanced tier, once.
    let settings = {
        let (_, _, settings) = world(
            3,
            0,
            "automation:\n  parameter_tier: advanced\n",
            Behaviour::default,
        );
        settings
    };
    let (plan, scope) = plan_now(&aws, &settings).await;
    assert_eq!(plan.parameters.len(), 4);
    assert!(plan.parameters.iter().all(|p| p.tier_change));
    apply(&aws, &plan, &scope, ALLOW, &|_, _| {}).await.unwrap();
    assert_eq!(parameters.count(Tier::Advanced), 4);
    let (again, _) = plan_now(&aws, &settings).await;
    assert!(again.no_changes, "{:?}", again.parameters);
}

#[tokio::test(start_paused = true)]
async fn without_account_parameters_only_what_is_shared_is_published() {
    let (parameters, aws, settings) = world(5, 0, "", Behaviour::default);
    let (plan, scope) = plan_now(&aws, &settings).await;
    apply(&aws, &plan, &scope, ALLOW, &|_, _| {}).await.unwrap();
    assert_eq!(parameters.count(Tier::Standard), 6);
    let yaml = "environment_identifier: SpaQuota\norganizational_units:\n  - identifier: ou-quot-sandbox1\nfeatures:\n  with_account_parameters: false\n";
    let fewer = valid_settings(&MemoryFiles::new().with("settings.yaml", yaml));
    let (plan, _) = plan_now(&aws, &fewer).await;
    // The account parameters go: deletions, destructive like every deletion.
    assert_eq!(plan.parameters.len(), 5);
    assert_eq!(plan.destructive.len(), 5);
}

#[tokio::test(start_paused = true)]
async fn aws_refusing_a_parameter_past_the_quota_is_a_quota_error_that_says_what_to_do() {
    let parameters = FakeParameters::new(Behaviour::default()).with_standard_quota(2);
    let aws = fake::aws(
        Arc::new(FakeOrganizations::new(Behaviour::default())),
        Arc::new(parameters),
    );
    aws.put_parameter("/a", "1", Tier::Standard).await.unwrap();
    aws.put_parameter("/b", "1", Tier::Standard).await.unwrap();
    let error = aws
        .put_parameter("/c", "1", Tier::Standard)
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Quota);
    assert_eq!(error.code, "ParameterLimitExceeded");
    let message = error.to_string();
    assert!(message.contains("automation.parameter_tier"), "{message}");
    assert!(
        message.contains("features.with_account_parameters"),
        "{message}"
    );
    // Never retried: one attempt.
    assert_eq!(aws.calls().calls(api::PUT_PARAMETER), 3);
    // Intelligent-tiering goes to the advanced tier instead.
    aws.put_parameter("/c", "1", Tier::IntelligentTiering)
        .await
        .unwrap();
}

/// The first publication of 10,000 accounts (10,000 account parameters, 100 OUs, 2
/// buildspecs: 10,102 parameters, more than the standard tier holds, so with
/// intelligent-tiering) against fakes that enforce the published quotas: the bound is
/// PutParameter at 3/s, (10,102 − 3) / 3 = 3,366 s ≈ 56 min of virtual time.
#[tokio::test(start_paused = true)]
async fn the_first_publication_of_ten_thousand_accounts_is_paced_by_the_write_quota() {
    let organizations = Arc::new(FakeOrganizations::new(Behaviour::with_quotas()));
    let root = organizations.root_id();
    let mut yaml = String::from(
        "environment_identifier: SpaScale\nautomation:\n  parameter_tier: intelligent-tiering\nworker:\n  preparation_buildspec_template_file: prep.yaml\n  purge_buildspec_template_file: purge.yaml\norganizational_units:\n",
    );
    let mut csv = String::from("Account\n");
    for unit in 0..100 {
        let ou = format!("ou-scal-unit{unit:04}");
        organizations.add_unit(&ou, "unit", &root);
        let _ = writeln!(yaml, "  - identifier: {ou}");
        for index in 0..100 {
            let id = format!("{:012}", 400_000_000_000usize + unit * 100 + index);
            organizations.add_account(
                &id,
                "p",
                &ou,
                &[
                    ("account-state", "released"),
                    ("account-holder", "p@example.com"),
                ],
            );
            let _ = writeln!(csv, "{id}");
        }
    }
    yaml.push_str("features:\n  with_csv_files: [accounts.csv]\n");
    let buildspec = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n";
    let settings = valid_settings(
        &MemoryFiles::new()
            .with("settings.yaml", yaml.as_str())
            .with("accounts.csv", csv.as_str())
            .with("prep.yaml", buildspec)
            .with("purge.yaml", buildspec),
    );
    let parameters = Arc::new(FakeParameters::new(Behaviour::with_quotas()));
    let aws = fake::aws(organizations, parameters.clone());
    let observed = observe(&aws, &settings).await;
    let plan = plan(&desired(&settings, &observed, None), &observed);
    assert_eq!(plan.parameters.len(), 10_102);
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    let usage = plan.parameter_store.clone().unwrap();
    assert_eq!((usage.standard, usage.advanced), (10_000, 102));
    let scope = Scope::new("SpaScale", &observed);
    let start = tokio::time::Instant::now();
    let report = apply(&aws, &plan, &scope, ALLOW, &|_, _| {}).await.unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(report.failed, 0);
    let served = &parameters.behaviour.served;
    assert_eq!(served.count(api::PUT_PARAMETER, "ok"), 10_102);
    assert_eq!(
        served.count(api::PUT_PARAMETER, "throttled"),
        0,
        "no throttle"
    );
    assert_eq!(parameters.count(Tier::Standard), 10_000);
    assert_eq!(parameters.count(Tier::Advanced), 102);
    eprintln!(
        "10,102 parameters published in {elapsed:.0} s of virtual time ({:.1} min)",
        elapsed / 60.0
    );
}
