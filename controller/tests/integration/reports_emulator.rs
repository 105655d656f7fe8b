//! Records, reports, metrics and the dashboard end to end on the emulator, as an SRE meets
//! them: the example organization goes round a full cycle with `--records`; the inventory
//! and the month's activities are uploaded, read back from S3 and parsed; the metrics are
//! listed by ListMetrics with their dimensions; the dashboard is created, edited by hand,
//! shown in the plan and repaired; the page for people renders in a real headless browser.

use std::collections::BTreeMap;

use spa_controller::aws::sdk::{AwsOptions, sdk_config};
use spa_tests::{Emulator, GitRepo, Run};

const BUCKET: &str = "spademo-reports";
const DANA: &str = "785090654109"; // dana-eng, CC-5200 in finops.csv

fn assert_ok(run: &Run) {
    assert_eq!(run.code, 0, "{run:?}");
}

struct Clients {
    s3: aws_sdk_s3::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

async fn clients(emulator: &Emulator) -> Clients {
    let config = sdk_config(&AwsOptions::emulator(&emulator.endpoint)).await;
    let s3 = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(true)
        .build();
    Clients {
        s3: aws_sdk_s3::Client::from_conf(s3),
        cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
    }
}

/// The tables and the bucket the automation stack creates.
async fn installation(emulator: &Emulator) {
    let config = sdk_config(&AwsOptions::emulator(&emulator.endpoint)).await;
    crate::common::record_tables(&config, "SpaDemo").await;
    crate::common::bucket(&config, BUCKET).await;
}

async fn object(clients: &Clients, key: &str) -> Vec<u8> {
    let output = clients
        .s3
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{key}: {e:?}"));
    output.body.collect().await.unwrap().into_bytes().to_vec()
}

fn csv_rows(bytes: &[u8]) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut reader = csv::Reader::from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(str::to_string))
                .collect()
        })
        .collect();
    (header, rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_reports_metrics_and_the_dashboard_after_a_full_cycle() {
    let emulator = Emulator::start();
    let repo = GitRepo::example();
    assert_ok(&emulator.spa(repo.path(), &["dev", "seed", "--org", "organization.yaml"]));
    let clients = clients(&emulator).await;
    installation(&emulator).await;

    // The settings, the life cycle to released (on-boardings), the maintenance window
    // (maintenances), each with its records.
    assert_ok(&emulator.spa(repo.path(), &["apply", "--yes", "--allow-destructive"]));
    assert_ok(&emulator.spa(
        repo.path(),
        &[
            "lifecycle",
            "run",
            "--until-idle",
            "--records",
            "--poll",
            "1s",
            "--yes",
        ],
    ));
    assert_ok(&emulator.spa(
        repo.path(),
        &[
            "lifecycle",
            "expire-now",
            "--records",
            "--poll",
            "1s",
            "--yes",
        ],
    ));

    // The inventory, uploaded and read back.
    let run = emulator.spa(
        repo.path(),
        &[
            "report",
            "inventory",
            "--upload",
            "--reports-bucket",
            BUCKET,
            "--date",
            "2026-12-03",
        ],
    );
    assert_ok(&run);
    let key = "SpaReports/Inventories/2026/12/2026-12-03-inventory.csv";
    assert_eq!(run.stdout, format!("s3://{BUCKET}/{key}\n"));
    let (header, rows) = csv_rows(&object(&clients, key).await);
    assert_eq!(
        header,
        [
            "Cost Center",
            "Cost Owner",
            "Organizational Unit",
            "Account",
            "Name",
            "Email",
            "State",
            "Console Login"
        ]
    );
    assert_eq!(rows.len(), 22, "every managed account");
    assert!(rows.iter().all(|r| r["State"] == "released"), "{rows:?}");
    let dana = rows.iter().find(|r| r["Account"] == DANA).unwrap();
    assert_eq!(dana["Cost Center"], "CC-5200");
    assert_eq!(dana["Name"], "dana-eng");
    assert_eq!(dana["Organizational Unit"], "Engineering Sandboxes");
    assert_eq!(dana["Cost Owner"], "dana.lee@example.com");

    // The activities of this month: an on-boarding for each account enrolled, a
    // maintenance for every account, one file per cost center.
    let month =
        spa_controller::reports::activities::Month::of(spa_controller::aws::system_clock()())
            .to_string();
    let run = emulator.spa(
        repo.path(),
        &[
            "report",
            "activities",
            "--month",
            &month,
            "--upload",
            "--reports-bucket",
            BUCKET,
        ],
    );
    assert_ok(&run);
    let manifest: serde_json::Value = serde_json::from_slice(
        &object(
            &clients,
            &format!(
                "SpaReports/Activities/{}/{month}-activities.json",
                &month[..4]
            ),
        )
        .await,
    )
    .unwrap();
    let files: Vec<String> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    assert!(
        files.contains(&format!(
            "SpaReports/Activities/CC-5200/{}/{month}-CC-5200-activities.csv",
            &month[..4]
        )),
        "{files:?}"
    );
    let mut all = Vec::new();
    for file in &files {
        let (header, rows) = csv_rows(&object(&clients, file).await);
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
        all.extend(rows);
    }
    assert_eq!(all.len() as u64, manifest["activities"].as_u64().unwrap());
    let maintenances: Vec<_> = all
        .iter()
        .filter(|r| r["Transaction"] == "MaintenanceTransaction")
        .collect();
    assert_eq!(maintenances.len(), 22, "{all:?}");
    assert!(
        all.iter()
            .any(|r| r["Transaction"] == "OnBoardingTransaction" && r["Account"] == DANA),
        "dana-eng was enrolled by the cycle: {all:?}"
    );

    // What the cycle counted, in CloudWatch, with its dimensions.
    let listed = clients
        .cloudwatch
        .list_metrics()
        .namespace("SustainablePersonalAccount")
        .send()
        .await
        .unwrap();
    let by_label: Vec<BTreeMap<String, String>> = listed
        .metrics()
        .iter()
        .filter(|m| m.metric_name() == Some("TransactionsByLabel"))
        .map(|m| {
            m.dimensions()
                .iter()
                .map(|d| {
                    (
                        d.name().unwrap().to_string(),
                        d.value().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .collect();
    assert!(
        by_label.contains(&BTreeMap::from([
            ("Environment".to_string(), "SpaDemo".to_string()),
            ("Label".to_string(), "MaintenanceTransaction".to_string()),
        ])),
        "{by_label:?}"
    );
    for name in [
        "AccountEventsByAccount",
        "AccountEventsByLabel",
        "TransactionsByCostCenter",
    ] {
        assert!(
            listed
                .metrics()
                .iter()
                .any(|m| m.metric_name() == Some(name)),
            "{name}"
        );
    }

    // The dashboard: created by the apply, edited by hand, shown in the plan, repaired.
    let dashboard = "SpaDemoCockpit-eu-west-1";
    let body = clients
        .cloudwatch
        .get_dashboard()
        .dashboard_name(dashboard)
        .send()
        .await
        .unwrap()
        .dashboard_body()
        .unwrap()
        .to_string();
    clients
        .cloudwatch
        .put_dashboard()
        .dashboard_name(dashboard)
        .dashboard_body(r#"{"widgets":[]}"#)
        .send()
        .await
        .unwrap();
    let run = emulator.spa(repo.path(), &["plan", "--format", "json"]);
    assert_ok(&run);
    let plan = run.json();
    assert_eq!(plan["dashboard"]["name"], dashboard);
    assert_eq!(plan["dashboard"]["action"], "update");
    assert_ok(&emulator.spa(repo.path(), &["apply", "--yes"]));
    let repaired = clients
        .cloudwatch
        .get_dashboard()
        .dashboard_name(dashboard)
        .send()
        .await
        .unwrap();
    let as_json = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap();
    assert_eq!(as_json(repaired.dashboard_body().unwrap()), as_json(&body));

    // The page for people, in a real headless browser.
    let page = repo.path().join("fleet.html");
    assert_ok(&emulator.spa(
        repo.path(),
        &[
            "report",
            "inventory",
            "--format",
            "html",
            "--out",
            page.to_str().unwrap(),
        ],
    ));
    let shot = repo.path().join("fleet.png");
    let rendered = spa_tests::browser::screenshot(&page, &shot);
    assert!(
        rendered.contains("Accounts by state and organizational unit"),
        "{rendered}"
    );
    assert!(rendered.contains("Engineering Sandboxes"), "{rendered}");
    // SPA_KEEP_SCREENSHOT=PATH keeps the picture for a person to look at.
    if let Some(keep) = std::env::var_os("SPA_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG image");
    assert!(png.len() > 10_000, "a page was drawn: {} bytes", png.len());
}
