//! Benchmark: the records written while 10,000 accounts go through the maintenance window
//! (purged, prepared, released again), against fakes that enforce the published quotas —
//! DynamoDB's on-demand rates included — on tokio's paused clock; then the inventory of the
//! 10,000 accounts from their shadows: time, memory, calls, size. Run it with
//! `cargo bench -p spa-controller --bench records_10k` (docs/benchmarks.md).

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use spa_controller::aws::api;
use spa_controller::aws::fake::{
    self, Behaviour, FakeMember, FakeOrganizations, FakeRecords, Fakes,
};
use spa_controller::lifecycle::engine::{Engine, EngineOptions, accounts_from};
use spa_controller::monitoring::FleetMetrics;
use spa_controller::observe::observe;
use spa_controller::records::{Fact, Recorder, RecordsConfig, Tables, accounts_of};
use spa_controller::reports::{ReportSettings, schedule};
use spa_schema::{MemoryFiles, load};

/// Friday 2026-11-20 18:00:00 UTC, a firing of `cron(0 18 ? * FRI *)`.
const FRIDAY_18: i64 = 1_795_197_600;

mod common;
use common::memory;

/// The inventory of 10,000 shadows, measured first, in a process that holds nothing else.
async fn inventory() {
    use spa_controller::records::{Login, Shadow, to_item};
    let settings = load(
        &MemoryFiles::new().with("settings.yaml", "environment_identifier: SpaScale\n"),
        "settings.yaml",
    )
    .valid()
    .expect("valid settings")
    .clone();
    let fakes = Fakes::default();
    let tables = Tables::of(&settings);
    fakes.records.create_table(&tables.shadows, &["account"]);
    for index in 0..10_000usize {
        let account = format!("{:012}", 400_000_000_000usize + index);
        let shadow = Shadow {
            name: format!("person-{index}"),
            email: format!("person-{index}@example.com"),
            organizational_unit: Some(format!("ou-scal-unit{:04}", index / 100)),
            organizational_unit_name: Some(format!("unit {}", index / 100)),
            tags: [
                ("account-state", "released".to_string()),
                ("account-holder", format!("person-{index}@example.com")),
                ("cost-center", format!("CC-{}", index % 20)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            console_login: Some(Login {
                identity: format!("person-{index}@example.com"),
                at: "2026-11-30T08:00:00.000Z".to_string(),
            }),
            account,
            ..Shadow::default()
        };
        fakes.records.insert(&tables.shadows, to_item(&shadow));
    }
    let aws = fakes.aws();
    let before = memory().0;
    let wall = Instant::now();
    let report = ReportSettings::of(&settings);
    let key = schedule::upload_inventory(&aws, "bench", &report, "2026-11-21")
        .await
        .expect("inventory");
    let seconds = wall.elapsed().as_secs_f64();
    let (body, _) = fakes.objects.get("bench", &key).expect("uploaded");
    let served = &fakes.records.behaviour.served;
    println!(
        "inventory of 10,000 accounts: {seconds:.2} s, {} Scan page(s) of the shadows table, 1 PutObject of {:.2} MB ({} rows); memory {before:.1} MiB resident before (the fake table itself), peak {:.1} MiB",
        served.count(api::SCAN, "ok"),
        body.len() as f64 / 1_000_000.0,
        body.iter().filter(|b| **b == b'\n').count() - 1,
        memory().1
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime");
    runtime.block_on(inventory());
    runtime.block_on(async {
        let organizations = Arc::new(FakeOrganizations::new(Behaviour::with_quotas()));
        let root = organizations.root_id();
        let since = ((FRIDAY_18 - 3 * 86_400) * 1000).to_string();
        let mut yaml = String::from(
            "environment_identifier: SpaScale\nautomation:\n  maintenance_window_expression: \"cron(0 18 ? * FRI *)\"\nworker:\n  purge_buildspec_template_file: purge.yaml\nfeatures:\n  with_account_parameters: false\n  with_csv_files: [finops.csv]\ndefaults:\n  purge:\n    feature: enabled\norganizational_units:\n",
        );
        let mut csv = String::from("Account,Tag: cost-center\n");
        for unit in 0..100 {
            let ou = format!("ou-scal-unit{unit:04}");
            organizations.add_unit(&ou, &format!("unit {unit}"), &root);
            let _ = writeln!(yaml, "  - identifier: {ou}");
            for index in 0..100 {
                let id = format!("{:012}", 400_000_000_000usize + unit * 100 + index);
                organizations.add_account(
                    &id,
                    &format!("person-{unit}-{index}"),
                    &ou,
                    &[
                        ("account-state", "released"),
                        ("account-since", &since),
                        ("account-holder", "p@example.com"),
                        ("cost-center", &format!("CC-{}", unit % 20)),
                    ],
                );
                let _ = writeln!(csv, "{id},CC-{}", unit % 20);
            }
        }
        let loaded = load(
            &MemoryFiles::new()
                .with("settings.yaml", yaml.as_str())
                .with("finops.csv", csv.as_str())
                .with("purge.yaml", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo purge\n"),
            "settings.yaml",
        );
        let settings = Arc::new(loaded.valid().expect("valid settings").clone());
        let clock = fake::virtual_clock(FRIDAY_18 * 1000 + 1);
        let run_clock = clock.clone();
        let records = Arc::new(FakeRecords::new(Behaviour::with_quotas()));
        let tables = Tables::of(&settings);
        records.create_table(&tables.shadows, &["account"]);
        records.create_table(&tables.activities, &["day", "stamp"]);
        records.create_table(&tables.transactions, &["account"]);
        let fakes = Fakes {
            organizations: organizations.clone(),
            records: records.clone(),
            ..Fakes::new(Behaviour::with_quotas, move || {
                FakeMember::with_run_time(Duration::from_secs(3600), run_clock.clone())
            })
        };
        let aws = fakes.aws();
        let observation = observe(&aws, &settings).await;
        let metrics = Arc::new(FleetMetrics::new("SpaScale"));
        let recorder = Recorder::start(
            aws.clone(),
            clock.clone(),
            RecordsConfig::of(&settings, "default"),
            metrics.clone(),
        );
        recorder.record(Fact::Accounts(accounts_of(&observation)));
        recorder.flush().await;
        let writes_before = records.behaviour.served.count(api::PUT_ITEM, "ok");
        let start = tokio::time::Instant::now();
        let wall = Instant::now();
        let engine = Engine::new(
            aws.clone(),
            clock,
            EngineOptions {
                poll: Duration::from_secs(600),
                expire_now: true,
                ..EngineOptions::default()
            },
            settings.clone(),
        )
        .with_recorder(recorder.clone());
        engine.set_accounts(accounts_from(&observation));
        let engine = Arc::new(engine);
        engine.queue_all();
        engine.work(true).await;
        recorder.flush().await;
        let virtual_minutes = start.elapsed().as_secs_f64() / 60.0;
        let served = &records.behaviour.served;
        let puts = served.count(api::PUT_ITEM, "ok") - writes_before;
        let deletes = served.count(api::DELETE_ITEM, "ok");
        let throttled = served.count(api::PUT_ITEM, "throttled") + served.count(api::DELETE_ITEM, "throttled");
        let activities = records.items(&tables.activities).len();
        println!(
            "maintenance window of 10,000 accounts: {puts} PutItem and {deletes} DeleteItem in {virtual_minutes:.1} min of virtual time ({:.1} writes a second on average), {throttled} throttled, {} records dropped; {activities} activities; wall time {:.1} s",
            (puts + deletes) as f64 / (virtual_minutes * 60.0),
            recorder.counters.dropped.load(std::sync::atomic::Ordering::Relaxed),
            wall.elapsed().as_secs_f64()
        );

    });
}
