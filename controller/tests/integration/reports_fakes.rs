//! Reports, metrics and the dashboard on the fakes: the predecessor's columns and keys, a
//! cost center that is not a safe key, a record of an unknown shape, a report missed while
//! the controller was down, metrics in batches of 1,000, the dashboard as desired state.

use spa_controller::apply::{ApplyOptions, Scope, apply};
use spa_controller::aws::fake::{self, Fakes};
use spa_controller::aws::records::Item;
use spa_controller::aws::{Aws, api};
use spa_controller::desired::desired;
use spa_controller::observe::observe;
use spa_controller::plan::{Action, plan};
use spa_controller::records::{Activity, Login, Shadow, Tables, to_item};
use spa_controller::reports::activities::Month;
use spa_controller::reports::schedule::{self, Due};
use spa_controller::reports::{ReportSettings, inventory};
use spa_schema::Settings;

use crate::common::settings_yaml;

const BUCKET: &str = "spa-reports";

fn settings() -> Settings {
    settings_yaml(
        // Costs off (the tag is the default one): their schedules are costs_fakes.rs's.
        "environment_identifier: SpaRep\norganizational_units:\n  - identifier: ou-rep1-sandbox1\n",
    )
}

fn tables(fakes: &Fakes, settings: &Settings) -> Tables {
    let tables = Tables::of(settings);
    fakes.records.create_table(&tables.shadows, &["account"]);
    fakes
        .records
        .create_table(&tables.activities, &["day", "stamp"]);
    fakes
        .records
        .create_table(&tables.transactions, &["account"]);
    tables
}

fn shadow(account: &str, cost_center: &str, state: &str) -> Shadow {
    Shadow {
        account: account.to_string(),
        name: format!("person-{account}"),
        email: format!("{account}@example.com"),
        organizational_unit: Some("ou-rep1-sandbox1".to_string()),
        organizational_unit_name: Some("Sandboxes".to_string()),
        tags: [
            ("cost-center", cost_center),
            ("account-state", state),
            ("account-holder", "holder@example.com"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        ..Shadow::default()
    }
}

fn activity(account: &str, cost_center: &str, end: &str, transaction: &str) -> Activity {
    Activity {
        day: end[..10].to_string(),
        stamp: format!("{}#{account}", &end[11..]),
        label: "SuccessfulMaintenanceEvent".to_string(),
        transaction: transaction.to_string(),
        account: account.to_string(),
        cost_center: cost_center.to_string(),
        identifier: "holder@example.com".to_string(),
        begin: end.to_string(),
        end: end.to_string(),
        duration: 3600,
        expires_at: 0,
    }
}

fn csv_rows(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[tokio::test(start_paused = true)]
async fn reports_have_the_predecessors_columns_and_safe_keys() {
    let fakes = Fakes::default();
    let settings = settings();
    let tables = tables(&fakes, &settings);
    let aws = fakes.aws();
    let mut logged = shadow("111111111111", "CC-4100", "released");
    logged.console_login = Some(Login {
        identity: "ana@example.com".to_string(),
        at: "2026-11-30T08:00:00.000Z".to_string(),
    });
    fakes.records.insert(&tables.shadows, to_item(&logged));
    fakes.records.insert(
        &tables.shadows,
        to_item(&shadow("222222222222", "=1+2", "expired")),
    );
    // A record of an unknown shape (a person's, or an older version's): skipped.
    let mut odd = Item::new();
    odd.insert("account".into(), "333333333333".into());
    odd.insert("tags".into(), "not a map".into());
    fakes.records.insert(&tables.shadows, odd);

    let report = ReportSettings::of(&settings);
    let key = schedule::upload_inventory(&aws, BUCKET, &report, "2026-11-28")
        .await
        .unwrap();
    assert_eq!(
        key,
        "SpaReports/Inventories/2026/11/2026-11-28-inventory.csv"
    );
    let (body, kind) = fakes.objects.get(BUCKET, &key).unwrap();
    assert_eq!(kind, "text/csv; charset=utf-8");
    let (header, rows) = csv_rows(&body);
    assert_eq!(header, inventory::HEADER);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        rows[0],
        [
            "'=1+2",
            "holder@example.com",
            "Sandboxes",
            "222222222222",
            "person-222222222222",
            "222222222222@example.com",
            "expired",
            ""
        ],
        "a formula is neutralized"
    );
    assert_eq!(rows[1][7], "2026-11-30T08:00:00.000Z");

    for item in [
        activity(
            "111111111111",
            "CC-4100",
            "2026-11-03T10:00:00.000Z",
            "MaintenanceTransaction",
        ),
        activity(
            "111111111111",
            "CC-4100",
            "2026-11-30T23:59:59.000Z",
            "OnBoardingTransaction",
        ),
        activity(
            "222222222222",
            "../../R&D",
            "2026-11-15T12:00:00.000Z",
            "MaintenanceTransaction",
        ),
        // Another month: not in November's files.
        activity(
            "111111111111",
            "CC-4100",
            "2026-12-01T00:00:00.000Z",
            "MaintenanceTransaction",
        ),
    ] {
        fakes.records.insert(&tables.activities, to_item(&item));
    }
    let keys = schedule::upload_activities(&aws, BUCKET, &report, Month::parse("2026-11").unwrap())
        .await
        .unwrap();
    assert_eq!(
        keys,
        [
            "SpaReports/Activities/%2E%2E%2F%2E%2E%2FR%26D/2026/2026-11-%2E%2E%2F%2E%2E%2FR%26D-activities.csv",
            "SpaReports/Activities/CC-4100/2026/2026-11-CC-4100-activities.csv",
        ],
        "named after the month they cover; a cost center is never a path"
    );
    let (body, _) = fakes.objects.get(BUCKET, &keys[1]).unwrap();
    let (header, rows) = csv_rows(&body);
    assert_eq!(
        header,
        [
            "Cost Center",
            "Transaction",
            "Stamp",
            "Account",
            "Identifier",
            "Duration"
        ]
    );
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][2], "2026-11-03T10:00:00.000Z");
    assert_eq!(rows[1][1], "OnBoardingTransaction");
    assert_eq!(rows[1][5], "3600");
    let manifest = fakes
        .objects
        .get(BUCKET, "SpaReports/Activities/2026/2026-11-activities.json")
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&manifest.0).unwrap();
    assert_eq!(manifest["activities"], 3);
    // One Query per day of the month.
    assert_eq!(aws.calls().calls(api::QUERY), 30);
}

/// Thursday 2026-12-03 06:31:00 UTC.
const THURSDAY: i64 = 1_796_279_460;

#[tokio::test(start_paused = true)]
async fn a_report_missed_while_the_controller_was_down_runs_when_it_comes_back_once() {
    let fakes = Fakes::default();
    let settings = settings();
    tables(&fakes, &settings);
    let clock = fake::virtual_clock(THURSDAY * 1000);
    fakes.objects.set_clock(clock.clone());
    let aws = fakes.aws();
    let now = || clock() / 1000;
    // The controller was down since before Saturday 2026-11-28 03:23 (inventory), before
    // Tuesday 2026-12-01 03:42 (November's activities) and the Saturday's month to date.
    let due = schedule::due(&aws, BUCKET, &settings, now()).await.unwrap();
    assert_eq!(
        due,
        [
            Due::Inventory {
                date: "2026-11-28".to_string()
            },
            Due::Activities {
                month: Month::parse("2026-11").unwrap()
            },
        ],
        "the latest firing of each, once: November's month to date is November too"
    );
    for report in &due {
        schedule::run_one(
            &aws,
            &reqwest::Client::new(),
            BUCKET,
            &settings,
            report,
            now(),
        )
        .await
        .unwrap();
    }
    assert!(
        schedule::due(&aws, BUCKET, &settings, now())
            .await
            .unwrap()
            .is_empty()
    );
    // Saturday 2026-12-05 03:42: the inventory of that day and December so far.
    tokio::time::sleep(std::time::Duration::from_secs(
        2 * 86_400 + 20 * 3_600 + 12 * 60,
    ))
    .await;
    let due = schedule::due(&aws, BUCKET, &settings, now()).await.unwrap();
    assert_eq!(
        due,
        [
            Due::Inventory {
                date: "2026-12-05".to_string()
            },
            Due::Activities {
                month: Month::parse("2026-12").unwrap()
            },
        ]
    );
}

async fn plan_now(aws: &Aws, settings: &Settings) -> spa_controller::plan::Plan {
    let observed = observe(aws, settings).await;
    plan(&desired(settings, &observed, None), &observed)
}

async fn apply_now(aws: &Aws, settings: &Settings) -> usize {
    let observed = observe(aws, settings).await;
    let plan = plan(&desired(settings, &observed, None), &observed);
    let options = ApplyOptions {
        allow_destructive: true,
        concurrency: 4,
    };
    let report = apply(
        aws,
        &plan,
        &Scope::new("SpaRep", &observed),
        options,
        &|_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(report.failed, 0, "{report:?}");
    report.succeeded
}

#[tokio::test(start_paused = true)]
async fn the_dashboard_is_desired_state() {
    let fakes = Fakes::default();
    let root = fakes.organizations.root_id();
    fakes
        .organizations
        .add_unit("ou-rep1-sandbox1", "Sandboxes", &root);
    let settings = settings_yaml(
        "environment_identifier: SpaRep\nautomation:\n  region: eu-central-1\n  cockpit_markdown_text: '# Our accounts'\nfeatures:\n  with_cost_management_tag: cost-center\norganizational_units:\n  - identifier: ou-rep1-sandbox1\n",
    );
    let aws = fakes.aws();
    let first = plan_now(&aws, &settings).await;
    let change = first.dashboard.clone().unwrap();
    assert_eq!(change.name, "SpaRepCockpit-eu-central-1");
    assert_eq!(change.action, Action::Create);
    apply_now(&aws, &settings).await;
    let body: serde_json::Value = serde_json::from_str(
        &fakes
            .monitoring
            .dashboard_body("SpaRepCockpit-eu-central-1")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(body["start"], "-P28D");
    assert_eq!(
        body["widgets"][0]["properties"]["markdown"],
        "# Our accounts"
    );
    let widgets = body["widgets"].to_string();
    for metric in [
        "DailyCostsByCostCenter",
        "TransactionsByCostCenter",
        "TransactionsByLabel",
        "AccountEventsByLabel",
        "ExceptionsByLabel",
        "Reconciles",
        "AwsThrottles",
        "LifecycleQueueDepth",
    ] {
        assert!(widgets.contains(metric), "{metric}");
    }
    assert!(plan_now(&aws, &settings).await.no_changes);

    // Edited by hand: shown in the plan, repaired by apply.
    fakes
        .monitoring
        .set_dashboard("SpaRepCockpit-eu-central-1", r#"{"widgets":[]}"#);
    let drift = plan_now(&aws, &settings).await;
    assert_eq!(drift.dashboard.as_ref().unwrap().action, Action::Update);
    let text = spa_controller::render::text(&drift);
    assert!(
        text.contains("SpaRepCockpit-eu-central-1 (repaired"),
        "{text}"
    );
    let markdown = spa_controller::render::markdown(&drift, 60_000, "");
    assert!(
        markdown.contains("Dashboard `SpaRepCockpit-eu-central-1`: repaired"),
        "{markdown}"
    );
    apply_now(&aws, &settings).await;
    assert!(plan_now(&aws, &settings).await.no_changes);
    let served = fakes
        .monitoring
        .behaviour
        .served
        .count(api::PUT_DASHBOARD, "ok");
    assert_eq!(served, 2, "created once, repaired once");
}

#[tokio::test(start_paused = true)]
async fn metrics_go_in_batches_of_a_thousand_with_their_dimensions() {
    let fakes = Fakes::default();
    let aws = fakes.aws();
    let metrics = spa_controller::monitoring::FleetMetrics::new("SpaRep");
    for index in 0..2_500 {
        metrics.count(
            "AccountEventsByAccount",
            ("Account", &format!("{:012}", 100_000_000_000u64 + index)),
            1.0,
        );
    }
    metrics.count("ExceptionsByLabel", ("Label", "GenericException"), 1.0);
    assert_eq!(metrics.flush(&aws, 0).await.unwrap(), 2_501);
    assert_eq!(
        fakes
            .monitoring
            .behaviour
            .served
            .count(api::PUT_METRIC_DATA, "ok"),
        3
    );
    // The series CloudWatch now has (ListMetrics is checked on the emulator).
    let listed: std::collections::BTreeSet<(String, Vec<(String, String)>)> = fakes
        .monitoring
        .data()
        .into_iter()
        .filter(|(namespace, _)| namespace == spa_controller::monitoring::NAMESPACE)
        .map(|(_, d)| (d.name, d.dimensions))
        .collect();
    assert_eq!(listed.len(), 2_501);
    let exception = listed
        .iter()
        .find(|(name, _)| name == "ExceptionsByLabel")
        .unwrap();
    assert_eq!(
        exception.1,
        [
            ("Environment".to_string(), "SpaRep".to_string()),
            ("Label".to_string(), "GenericException".to_string())
        ]
    );
}
