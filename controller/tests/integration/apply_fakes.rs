//! Apply on the fakes: convergence, idempotence, exactly one write per changed item, and
//! faults the emulator cannot show (throttling storms, a failing account, a crash midway,
//! quotas at 10,000 accounts). Time is paused: rate-limited hours take milliseconds.
#![allow(clippy::print_stderr)] // the scale tests report their virtual time

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use spa_controller::apply::{ApplyOptions, Refusal, Scope, apply, write_count};
use spa_controller::aws::fake::{self, Behaviour, FakeOrganizations, FakeParameters, Fault};
use spa_controller::aws::{Aws, ErrorKind, api};
use spa_controller::desired::desired;
use spa_controller::observe::observe;
use spa_controller::plan::{Plan, plan};
use spa_schema::Settings;

use crate::common::{paused_runtime, settings_yaml};

const WRITES: [spa_controller::aws::Api; 4] = [
    api::TAG_RESOURCE,
    api::UNTAG_RESOURCE,
    api::PUT_PARAMETER,
    api::DELETE_PARAMETERS,
];

/// What spa owns, as observed now.
async fn owned(aws: &Aws, settings: &Settings) -> Scope {
    Scope::new(
        &settings.environment_identifier.value,
        &observe(aws, settings).await,
    )
}

async fn plan_now(aws: &Aws, settings: &Settings) -> Plan {
    let observed = observe(aws, settings).await;
    plan(&desired(settings, &observed, Some("c0ffee")), &observed)
}

fn writes_served(organizations: &FakeOrganizations, parameters: &FakeParameters) -> u64 {
    WRITES
        .iter()
        .map(|w| {
            organizations.behaviour.served.count(w, "ok")
                + parameters.behaviour.served.count(w, "ok")
        })
        .sum()
}

const ALLOW: ApplyOptions = ApplyOptions {
    allow_destructive: true,
    concurrency: 8,
};

/// A random fleet: accounts with random tags in a few OUs, settings that own some keys.
#[derive(Debug, Clone)]
struct World {
    units: Vec<Vec<BTreeMap<String, String>>>,
    default_tags: BTreeMap<String, String>,
    unit_tags: Vec<BTreeMap<String, String>>,
    unset: Vec<String>,
    listed: Vec<(usize, usize, BTreeMap<String, String>)>,
    stale_parameters: usize,
}

const KEYS: [&str; 5] = ["team", "owner", "obsolete", "cost-center", "account-state"];

fn tags(keys: &'static [&'static str]) -> impl Strategy<Value = BTreeMap<String, String>> {
    proptest::collection::btree_map(proptest::sample::select(keys), "[a-c]{1,2}", 0..3)
        .prop_map(|m| m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn world() -> impl Strategy<Value = World> {
    let owned: &'static [&'static str] = &["team", "owner", "cost-center"];
    (
        proptest::collection::vec(proptest::collection::vec(tags(&KEYS), 0..5), 1..4),
        tags(owned),
        proptest::collection::vec(tags(owned), 3),
        proptest::sample::subsequence(vec!["obsolete".to_string(), "owner".to_string()], 0..=2),
        proptest::collection::vec((0usize..3, 0usize..5, tags(owned)), 0..4),
        0usize..3,
    )
        .prop_map(
            |(units, default_tags, unit_tags, unset, listed, stale_parameters)| World {
                units,
                default_tags,
                unit_tags,
                unset,
                listed,
                stale_parameters,
            },
        )
}

fn account_id(unit: usize, index: usize) -> String {
    format!("{:012}", 300_000_000_000usize + unit * 100 + index)
}

fn build(world: &World) -> (Arc<FakeOrganizations>, Arc<FakeParameters>, Settings) {
    let organizations = Arc::new(FakeOrganizations::new(Behaviour::default()));
    let root = organizations.root_id();
    let parameters = Arc::new(FakeParameters::new(Behaviour::default()));
    for index in 0..world.stale_parameters {
        parameters.insert(
            &format!("/SpaProp/Accounts/{index:012}"),
            "{\"stale\": true}",
        );
    }
    parameters.insert("/Elsewhere/x", "not ours");
    let yaml_map = |out: &mut String, indent: &str, map: &BTreeMap<String, String>| {
        let _ = writeln!(out, "{indent}account_tags:");
        for (k, v) in map {
            let _ = writeln!(out, "{indent}  {k}: {v}");
        }
    };
    let mut yaml = String::from("environment_identifier: SpaProp\ndefaults:\n");
    yaml_map(&mut yaml, "  ", &world.default_tags);
    let unset: Vec<&String> = world
        .unset
        .iter()
        .filter(|k| !world.default_tags.contains_key(*k))
        .collect();
    if !unset.is_empty() {
        let _ = writeln!(
            yaml,
            "  unset_tags: [{}]",
            unset
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    yaml.push_str("organizational_units:\n");
    for (unit, accounts) in world.units.iter().enumerate() {
        let ou = format!("ou-prop-unit{unit:04}");
        organizations.add_unit(&ou, &format!("unit {unit}"), &root);
        let _ = writeln!(yaml, "  - identifier: {ou}");
        yaml_map(&mut yaml, "    ", &world.unit_tags[unit % 3]);
        for (index, tags) in accounts.iter().enumerate() {
            let tags: Vec<(&str, &str)> =
                tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            organizations.add_account(
                &account_id(unit, index),
                &format!("p{unit}{index}"),
                &ou,
                &tags,
            );
        }
    }
    let listed: Vec<_> = world
        .listed
        .iter()
        .filter(|(u, i, _)| world.units.get(*u).is_some_and(|a| *i < a.len()))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    if !listed.is_empty() {
        yaml.push_str("accounts:\n");
        for (unit, index, tags) in listed {
            if seen.insert((unit, index)) {
                let _ = writeln!(yaml, "  - identifier: '{}'", account_id(*unit, *index));
                yaml_map(&mut yaml, "    ", tags);
            }
        }
    }
    (organizations, parameters, settings_yaml(&yaml))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Apply then plan is empty; a second apply writes nothing; every changed item costs
    /// exactly one write; tags that settings do not own are never touched.
    #[test]
    fn apply_converges_and_is_idempotent(world in world()) {
        let (organizations, parameters, settings) = build(&world);
        let before: BTreeMap<String, BTreeMap<String, String>> = world.units.iter().enumerate()
            .flat_map(|(u, accounts)| (0..accounts.len()).map(move |i| account_id(u, i)))
            .map(|id| { let tags = organizations.tags_of(&id); (id, tags) })
            .collect();
        let aws = fake::aws(organizations.clone(), parameters.clone());
        paused_runtime().block_on(async {
            let first = plan_now(&aws, &settings).await;
            prop_assert_eq!(&first, &plan_now(&aws, &settings).await, "plan is deterministic");
            let report = apply(&aws, &first, &owned(&aws, &settings).await, ALLOW, &|_, _| {}).await.unwrap();
            prop_assert_eq!(report.failed, 0);
            // The dashboard is written to CloudWatch, not counted here.
            let dashboard = u64::from(first.dashboard.is_some());
            prop_assert_eq!(writes_served(&organizations, &parameters) + dashboard, write_count(&first) as u64);
            let second = plan_now(&aws, &settings).await;
            prop_assert!(second.no_changes, "{:#?}", second);
            let served = writes_served(&organizations, &parameters);
            apply(&aws, &second, &owned(&aws, &settings).await, ALLOW, &|_, _| {}).await.unwrap();
            prop_assert_eq!(writes_served(&organizations, &parameters), served, "a second apply writes nothing");
            Ok(())
        })?;
        // Unowned keys keep their values.
        let owned: Vec<&str> = vec!["team", "owner", "cost-center", "obsolete", "account-state", "account-holder", "managed-by"];
        for (id, tags) in before {
            let after = organizations.tags_of(&id);
            for (key, value) in tags.iter().filter(|(k, _)| !owned.contains(&k.as_str())) {
                prop_assert_eq!(after.get(key), Some(value));
            }
            prop_assert_eq!(after.get("account-state").map(String::as_str), Some(tags.get("account-state").map(String::as_str).unwrap_or("vanilla")));
        }
        prop_assert_eq!(parameters.get("/Elsewhere/x").map(|(v, _)| v), Some("not ours".to_string()));
    }
}

fn simple_world(accounts: usize) -> (Arc<FakeOrganizations>, Arc<FakeParameters>, Settings) {
    let world = World {
        units: vec![vec![BTreeMap::new(); accounts]],
        default_tags: [("team".to_string(), "platform".to_string())].into(),
        unit_tags: vec![BTreeMap::new(); 3],
        unset: Vec::new(),
        listed: Vec::new(),
        stale_parameters: 0,
    };
    build(&world)
}

#[tokio::test(start_paused = true)]
async fn a_throttling_storm_during_apply_is_absorbed() {
    let (organizations, parameters, settings) = simple_world(12);
    let aws = fake::aws(organizations.clone(), parameters);
    let plan = plan_now(&aws, &settings).await;
    let scope = owned(&aws, &settings).await;
    organizations.behaviour.storm(Duration::from_secs(30));
    let report = apply(&aws, &plan, &scope, ALLOW, &|_, _| {}).await.unwrap();
    assert_eq!(report.failed, 0);
    assert!(aws.calls().count(api::TAG_RESOURCE, "throttled") > 0);
    assert!(plan_now(&aws, &settings).await.no_changes);
}

#[tokio::test(start_paused = true)]
async fn one_failing_account_does_not_stop_the_others() {
    let (organizations, parameters, settings) = simple_world(6);
    let broken = account_id(0, 2);
    organizations.behaviour.inject(Fault {
        api: Some(api::TAG_RESOURCE),
        resource: Some(broken.clone()),
        kind: ErrorKind::AccessDenied,
        times: None,
    });
    let aws = fake::aws(organizations, parameters);
    let plan = plan_now(&aws, &settings).await;
    let report = apply(
        &aws,
        &plan,
        &owned(&aws, &settings).await,
        ALLOW,
        &|_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(report.failed, 1);
    let failed: Vec<&str> = report
        .results
        .iter()
        .filter(|r| r.error.is_some())
        .map(|r| r.target.as_str())
        .collect();
    assert_eq!(failed, vec![broken.as_str()]);
    assert!(
        report
            .results
            .iter()
            .filter(|r| r.error.is_some())
            .all(|r| r.error.as_ref().unwrap().contains("AccessDenied")
                || r.error.as_ref().unwrap().contains("InjectedFault"))
    );
    let next = plan_now(&aws, &settings).await;
    let remaining: Vec<&str> = next.accounts.iter().map(|a| a.account.as_str()).collect();
    assert_eq!(
        remaining,
        vec![broken.as_str()],
        "only the broken account is left to do"
    );
}

#[tokio::test(start_paused = true)]
async fn a_crash_in_the_middle_of_apply_converges_on_the_next_one() {
    let (organizations, parameters, settings) = simple_world(40);
    organizations
        .behaviour
        .set_latency(Duration::from_millis(500));
    let aws = fake::aws(organizations.clone(), parameters.clone());
    let plan = plan_now(&aws, &settings).await;
    // The process dies after a few seconds: the apply future is dropped midway.
    let crashed = tokio::time::timeout(
        Duration::from_secs(3),
        apply(
            &aws,
            &plan,
            &owned(&aws, &settings).await,
            ALLOW,
            &|_, _| {},
        ),
    )
    .await;
    assert!(crashed.is_err(), "the apply was cut short");
    let partial = organizations
        .behaviour
        .served
        .count(api::TAG_RESOURCE, "ok");
    assert!(
        partial > 0 && partial < 40,
        "{partial} accounts were tagged before the crash"
    );

    let next = plan_now(&aws, &settings).await;
    assert_eq!(
        next.accounts.len() as u64,
        40 - partial,
        "the next plan has exactly what is left"
    );
    let report = apply(
        &aws,
        &next,
        &owned(&aws, &settings).await,
        ALLOW,
        &|_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(report.failed, 0);
    assert!(plan_now(&aws, &settings).await.no_changes);
}

#[tokio::test(start_paused = true)]
async fn a_saved_plan_refuses_destructive_changes_unless_allowed() {
    let (organizations, parameters, settings) = simple_world(2);
    parameters.insert("/SpaProp/Accounts/000000000001", "{}");
    let aws = fake::aws(organizations, parameters.clone());
    let plan = plan_now(&aws, &settings).await;
    assert_eq!(plan.destructive.len(), 1);
    let refused = apply(
        &aws,
        &plan,
        &owned(&aws, &settings).await,
        ApplyOptions {
            allow_destructive: false,
            concurrency: 4,
        },
        &|_, _| {},
    )
    .await;
    assert!(refused.is_err());
    assert!(
        parameters.get("/SpaProp/Accounts/000000000001").is_some(),
        "nothing was deleted"
    );
    assert!(
        WRITES.iter().all(|w| aws.calls().calls(w) == 0),
        "no write was even attempted"
    );
}

/// A change to all 10,000 accounts against fakes that enforce the published quotas: the
/// bound is TagResource, 10,000 calls at 4/s after a burst of 6: (10,000 − 6) / 4 =
/// 2,498.5 s ≈ 41.6 min.
#[tokio::test(start_paused = true)]
async fn ten_thousand_accounts_tagged_within_ten_percent_of_the_quota_bound() {
    let organizations = Arc::new(FakeOrganizations::new(Behaviour::with_quotas()));
    let root = organizations.root_id();
    let mut yaml = String::from(
        "environment_identifier: SpaScale\ndefaults:\n  account_tags:\n    cost-center: CC-2027\norganizational_units:\n",
    );
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
                    ("cost-center", "CC-2026"),
                    ("account-state", "released"),
                    ("account-holder", "p@example.com"),
                ],
            );
        }
    }
    let settings = settings_yaml(&yaml);
    let parameters = Arc::new(FakeParameters::new(Behaviour::with_quotas()));
    let aws = fake::aws(organizations.clone(), parameters.clone());
    let observed = observe(&aws, &settings).await;
    let desired = desired(&settings, &observed, None);
    let mut plan = plan(&desired, &observed);
    // Only the tag change is measured: the 100 OU parameters go at 3/s beside it.
    assert_eq!(plan.accounts.len(), 10_000);
    plan.parameters.clear();
    let scope = Scope::new(&settings.environment_identifier.value, &observed);
    let start = tokio::time::Instant::now();
    let report = apply(&aws, &plan, &scope, ALLOW, &|_, _| {}).await.unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(report.failed, 0);
    assert_eq!(
        organizations
            .behaviour
            .served
            .count(api::TAG_RESOURCE, "ok"),
        10_000,
        "one write per account"
    );
    let throttled = organizations
        .behaviour
        .served
        .count(api::TAG_RESOURCE, "throttled");
    assert_eq!(throttled, 0, "no throttle at all");
    let bound = (10_000.0 - 6.0) / 4.0;
    assert!(
        elapsed >= bound * 0.9 && elapsed <= bound * 1.1,
        "{elapsed:.0} s against a bound of {bound:.0} s"
    );
    eprintln!(
        "10,000 accounts tagged in {elapsed:.1} s of virtual time ({:.1} min)",
        elapsed / 60.0
    );
}

/// Whatever a plan says, apply writes nothing outside what spa owns: a parameter outside
/// /<env>/ or an account the settings do not manage makes it refuse the whole plan.
#[tokio::test(start_paused = true)]
async fn a_plan_writing_outside_what_spa_owns_is_refused_whole() {
    let (organizations, parameters, settings) = simple_world(3);
    let root = organizations.root_id();
    organizations.add_account("999999999999", "production", &root, &[]);
    parameters.insert("/Elsewhere/x", "not ours");
    let aws = fake::aws(organizations.clone(), parameters.clone());
    let scope = owned(&aws, &settings).await;
    let honest = plan_now(&aws, &settings).await;
    let mut outside = honest.clone();
    outside
        .parameters
        .push(spa_controller::plan::ParameterChange {
            name: "/Elsewhere/x".into(),
            action: spa_controller::plan::Action::Delete,
            kind: spa_controller::desired::ValueKind::Text,
            before: Some("not ours".into()),
            after: None,
            tier: spa_controller::aws::Tier::Standard,
            tier_change: false,
            destructive: true,
        });
    let mut foreign = honest.clone();
    foreign.accounts.push(spa_controller::plan::AccountChange {
        account: "999999999999".into(),
        name: "production".into(),
        organizational_unit: None,
        tags: vec![spa_controller::plan::TagChange {
            key: "owner".into(),
            action: spa_controller::plan::TagAction::Add,
            before: None,
            after: Some("attacker".into()),
        }],
        destructive: Vec::new(),
    });
    for plan in [&outside, &foreign] {
        let refused = apply(&aws, plan, &scope, ALLOW, &|_, _| {}).await;
        assert!(
            matches!(refused, Err(Refusal::NotOwned { .. })),
            "{refused:?}"
        );
    }
    assert!(
        WRITES.iter().all(|w| aws.calls().calls(w) == 0),
        "nothing written"
    );
    assert_eq!(
        parameters.get("/Elsewhere/x").map(|(v, _)| v).as_deref(),
        Some("not ours")
    );
    assert!(organizations.tags_of("999999999999").is_empty());
    // The honest plan goes through.
    let report = apply(&aws, &honest, &scope, ALLOW, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(report.failed, 0);
}
