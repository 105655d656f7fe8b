//! Observation on the fakes, for what the emulator cannot show: throttling, faults, quotas.
//! Time is paused: tokio advances it whenever every task waits, so minutes of rate-limited
//! work take milliseconds, and the elapsed virtual time is what AWS would take.
#![allow(clippy::print_stderr)] // the scale tests report their virtual time

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use spa_controller::aws::fake::{self, Behaviour, FakeOrganizations, FakeParameters, Fault};
use spa_controller::aws::{ErrorKind, api};
use spa_controller::observe::observe;

use crate::common::settings_yaml;

fn ou_id(index: usize) -> String {
    format!("ou-fake-{index:08}")
}

fn account_id(index: usize) -> String {
    format!("{:012}", 200_000_000_000usize + index)
}

/// `units` OUs of `per_unit` accounts each, all listed, plus 3 unmanaged accounts.
fn fleet(
    units: usize,
    per_unit: usize,
    behaviour: Behaviour,
) -> (Arc<FakeOrganizations>, spa_schema::Settings) {
    let organizations = Arc::new(FakeOrganizations::new(behaviour));
    let root = organizations.root_id();
    let mut yaml = String::from("environment_identifier: SpaTest\norganizational_units:\n");
    for unit in 0..units {
        organizations.add_unit(&ou_id(unit), &format!("unit {unit}"), &root);
        let _ = writeln!(yaml, "  - identifier: {}", ou_id(unit));
        for index in 0..per_unit {
            let id = account_id(unit * per_unit + index);
            organizations.add_account(
                &id,
                &format!("person{id}"),
                &ou_id(unit),
                &[("account-state", "released")],
            );
        }
    }
    organizations.add_unit("ou-fake-unmanaged", "production", &root);
    for index in 0..3 {
        organizations.add_account(&format!("9{index:011}"), "prod", "ou-fake-unmanaged", &[]);
    }
    (organizations, settings_yaml(&yaml))
}

fn parameters(count: usize) -> Arc<FakeParameters> {
    let parameters = Arc::new(FakeParameters::new(Behaviour::default()));
    for index in 0..count {
        parameters.insert(&format!("/SpaTest/Accounts/{}", account_id(index)), "{}");
    }
    parameters
}

#[tokio::test(start_paused = true)]
async fn pagination_is_followed_everywhere() {
    let (organizations, settings) = fleet(3, 45, Behaviour::default());
    let aws = fake::aws(organizations.clone(), parameters(95));
    let observation = observe(&aws, &settings).await;
    assert!(observation.complete);
    assert_eq!(observation.accounts.len(), 135);
    assert_eq!(observation.parameters.len(), 95);
    // 3 OUs × ⌈45/20⌉ pages; ⌈95/10⌉ parameter pages; one tag read per managed account.
    assert_eq!(aws.calls().calls(api::LIST_ACCOUNTS_FOR_PARENT), 9);
    assert_eq!(aws.calls().calls(api::GET_PARAMETERS_BY_PATH), 10);
    assert_eq!(aws.calls().calls(api::LIST_TAGS_FOR_RESOURCE), 135);
    assert_eq!(
        organizations
            .behaviour
            .served
            .calls(api::LIST_TAGS_FOR_RESOURCE),
        135,
        "nothing else was read"
    );
}

/// The progress of an observation counts what people wait for: every account found, every
/// tag read, and when the listings are done.
#[tokio::test(start_paused = true)]
async fn an_observation_reports_its_progress() {
    use std::sync::atomic::Ordering::Relaxed;
    let (organizations, settings) = fleet(3, 45, Behaviour::default());
    let aws = fake::aws(organizations, parameters(0));
    let progress = spa_controller::observe::Progress::default();
    let observing = spa_controller::observe::observe_reporting(&aws, &settings, &progress);
    tokio::pin!(observing);
    // Part-way (ListTagsForResource at 10 a second): some read, not all.
    let observation = tokio::select! {
        observation = &mut observing => Some(observation),
        _ = tokio::time::sleep(Duration::from_secs(5)) => None,
    };
    assert!(observation.is_none());
    let read = progress.tags_read.load(Relaxed);
    assert!(read > 0 && read < 135, "{read}");
    let line =
        spa_controller::cli::ops::connect::progress_line(&progress, 10.0, Duration::from_secs(5));
    assert!(
        line.starts_with(&format!("observing: tags read for {read} of ")),
        "{line}"
    );
    let observation = observing.await;
    assert_eq!(observation.accounts.len(), 135);
    assert_eq!(progress.accounts_found.load(Relaxed), 135);
    assert_eq!(progress.tags_read.load(Relaxed), 135);
    assert!(progress.listed.load(Relaxed));
}

#[tokio::test(start_paused = true)]
async fn a_throttling_storm_is_absorbed() {
    let (organizations, settings) = fleet(2, 30, Behaviour::default());
    organizations.behaviour.storm(Duration::from_secs(20));
    let aws = fake::aws(organizations, parameters(10));
    let observation = observe(&aws, &settings).await;
    assert!(observation.complete, "{:#?}", observation.errors);
    assert_eq!(observation.accounts.len(), 60);
    assert!(
        aws.calls().count(api::LIST_ROOTS, "throttled") > 0,
        "the storm was felt"
    );
    assert!(observation.accounts.values().all(|a| a.tags.is_some()));
}

#[tokio::test(start_paused = true)]
async fn a_terminal_error_on_one_account_hides_nothing_else() {
    let (organizations, settings) = fleet(2, 10, Behaviour::default());
    let broken = account_id(7);
    organizations.behaviour.inject(Fault {
        api: Some(api::LIST_TAGS_FOR_RESOURCE),
        resource: Some(broken.clone()),
        kind: ErrorKind::AccessDenied,
        times: None,
    });
    // And a transient fault elsewhere, which is retried away.
    organizations.behaviour.inject(Fault {
        api: Some(api::LIST_TAGS_FOR_RESOURCE),
        resource: Some(account_id(3)),
        kind: ErrorKind::Transient,
        times: Some(2),
    });
    let aws = fake::aws(organizations, parameters(0));
    let observation = observe(&aws, &settings).await;

    assert!(!observation.complete, "a partial observation says so");
    assert_eq!(observation.errors.len(), 1);
    assert_eq!(observation.errors[0].target, broken);
    assert_eq!(observation.errors[0].kind, ErrorKind::AccessDenied);
    assert_eq!(
        observation.accounts[&broken].tags, None,
        "unknown, not empty"
    );
    let others = observation.accounts.values().filter(|a| a.id != broken);
    assert_eq!(others.clone().count(), 19);
    assert!(others.into_iter().all(|a| a.tags.is_some()));
    assert_eq!(
        aws.calls()
            .count(api::LIST_TAGS_FOR_RESOURCE, "access_denied"),
        1,
        "not retried"
    );
    assert_eq!(
        aws.calls().count(api::LIST_TAGS_FOR_RESOURCE, "transient"),
        2
    );
}

#[tokio::test(start_paused = true)]
async fn expired_credentials_are_retried() {
    let (organizations, settings) = fleet(1, 5, Behaviour::default());
    organizations.behaviour.inject(Fault {
        api: Some(api::LIST_TAGS_FOR_RESOURCE),
        resource: None,
        kind: ErrorKind::Expired,
        times: Some(3),
    });
    let aws = fake::aws(organizations, parameters(0));
    let observation = observe(&aws, &settings).await;
    assert!(observation.complete);
    assert_eq!(aws.calls().count(api::LIST_TAGS_FOR_RESOURCE, "expired"), 3);
}

/// 10,000 accounts in 100 OUs against fakes that enforce the published quotas. The bound is
/// ListTagsForResource: 10,000 calls at 10/s after a burst of 15, (10,000 − 15) / 10 =
/// 998.5 s ≈ 16.6 min; everything else (500 ListAccountsForParent pages at 5/s = 100 s,
/// 100 DescribeOrganizationalUnit, 1,000 parameter pages at 40/s = 25 s) runs beside it.
#[tokio::test(start_paused = true)]
async fn ten_thousand_accounts_within_ten_percent_of_the_quota_bound() {
    let (organizations, settings) = fleet(100, 100, Behaviour::with_quotas());
    organizations
        .behaviour
        .set_latency(Duration::from_millis(60));
    let parameters = Arc::new(FakeParameters::new(Behaviour::with_quotas()));
    for index in 0..10_000 {
        parameters.insert(&format!("/SpaTest/Accounts/{}", account_id(index)), "{}");
    }
    let aws = fake::aws(organizations.clone(), parameters);
    let start = tokio::time::Instant::now();
    let observation = observe(&aws, &settings).await;
    let elapsed = start.elapsed().as_secs_f64();

    assert!(
        observation.complete,
        "{:#?}",
        &observation.errors[..observation.errors.len().min(3)]
    );
    assert_eq!(observation.accounts.len(), 10_000);
    assert_eq!(observation.parameters.len(), 10_000);
    let bound = (10_000.0 - 15.0) / 10.0;
    assert!(
        elapsed >= bound * 0.9 && elapsed <= bound * 1.1,
        "observed in {elapsed:.0} s of virtual time; the quota bound is {bound:.0} s"
    );
    // Not one throttle: the client-side limiters keep below the quotas.
    let throttled: u64 = aws
        .calls()
        .snapshot()
        .iter()
        .filter(|((_, o), _)| *o == "throttled")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(throttled, 0);
    assert_eq!(aws.calls().calls(api::LIST_TAGS_FOR_RESOURCE), 10_000);
    assert_eq!(aws.calls().calls(api::LIST_ACCOUNTS_FOR_PARENT), 500);
    assert_eq!(aws.calls().calls(api::GET_PARAMETERS_BY_PATH), 1_000);
    eprintln!(
        "10,000 accounts observed in {elapsed:.1} s of virtual time ({:.1} min)",
        elapsed / 60.0
    );
}
