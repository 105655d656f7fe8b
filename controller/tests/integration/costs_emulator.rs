//! The monthly cost report end to end on the emulator, as FinOps meets it: the example
//! organization, its settings applied (cost tags from the CSV files); Cost Explorer's
//! answers for November injected (paged, with credits, a refund, tax, scientific
//! notation); `spa report costs --upload --email`; the files read back from S3 and checked
//! — workbook formulas against their rows, Excel totals against the CSV's, the sum over
//! cost centers against Cost Explorer's total — and the e-mail read back from SES with
//! its attachments equal to the files in the bucket.

use std::str::FromStr;

use rust_decimal::Decimal;
use spa_controller::aws::sdk::{AwsOptions, sdk_config};
use spa_tests::{Emulator, GitRepo, Run};

use crate::workbooks::{self, check_pair, csv_rows};

const BUCKET: &str = "spademo-reports";
const MANAGEMENT: &str = "111111111111";
const ALICE: &str = "155545259459"; // CC-4100 (finops.csv), Data Science, managed
const DANA: &str = "785090654109"; // CC-5200, Engineering Sandboxes, managed
const SHOP: &str = "672973276996"; // CC-PROD (tagged in the organization), not managed
const LOGS: &str = "083062288888"; // no cost tag, at the root
const GONE: &str = "999999999999"; // spent in November, not in the organization any more

const RATES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <Cube><Cube time="2026-12-02"><Cube currency="USD" rate="1.0512"/><Cube currency="JPY" rate="158.37"/></Cube></Cube>
</gesmes:Envelope>"#;

fn assert_ok(run: &Run) {
    assert_eq!(run.code, 0, "{run:?}");
}

fn group(account: &str, item: &str, amount: &str) -> serde_json::Value {
    serde_json::json!({
        "Keys": [account, item],
        "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}
    })
}

fn answer(groups: Vec<serde_json::Value>, next: Option<&str>) -> serde_json::Value {
    let mut answer = serde_json::json!({
        "ResultsByTime": [{
            "TimePeriod": {"Start": "2026-11-01", "End": "2026-12-01"},
            "Total": {},
            "Groups": groups,
            "Estimated": false
        }],
        "DimensionValueAttributes": []
    });
    if let Some(next) = next {
        answer["NextPageToken"] = serde_json::json!(next);
    }
    answer
}

/// What Cost Explorer answers, in the order spa asks: services (two pages), usage types,
/// record types.
fn answers() -> Vec<serde_json::Value> {
    vec![
        answer(
            vec![
                group(
                    ALICE,
                    "Amazon Elastic Compute Cloud - Compute",
                    "120.4512345678",
                ),
                group(ALICE, "Amazon Simple Storage Service", "3.2E-7"),
                group(DANA, "AWS Lambda", "0.0000001"),
            ],
            Some("page-2"),
        ),
        answer(
            vec![
                group(DANA, "Amazon Elastic Compute Cloud - Compute", "56.78"),
                group(SHOP, "Amazon Relational Database Service", "999.99"),
                group(LOGS, "Amazon Simple Storage Service", "12.3456"),
                group(GONE, "AWS Lambda", "1.5"),
            ],
            None,
        ),
        answer(
            vec![
                group(ALICE, "EU-BoxUsage:t3.micro", "120.4512345678"),
                group(ALICE, "EU-TimedStorage-ByteHrs", "3.2E-7"),
                group(DANA, "EU-Request", "0.0000001"),
                group(DANA, "EU-BoxUsage:m5.large", "56.78"),
                group(SHOP, "EU-InstanceUsage:db.r5.large", "999.99"),
                group(LOGS, "EU-TimedStorage-ByteHrs", "12.3456"),
                group(GONE, "EU-Request", "1.5"),
            ],
            None,
        ),
        answer(
            vec![
                group(ALICE, "Usage", "120.45123488"),
                group(ALICE, "Credit", "-100"),
                group(DANA, "Usage", "56.7800001"),
                group(DANA, "Refund", "-6.78"),
                group(SHOP, "Usage", "999.99"),
                group(SHOP, "Tax", "199.998"),
                group(LOGS, "Usage", "12.3456"),
                group(GONE, "Usage", "1.5"),
            ],
            None,
        ),
    ]
}

async fn s3(emulator: &Emulator) -> aws_sdk_s3::Client {
    let config = sdk_config(&AwsOptions::emulator(&emulator.endpoint)).await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
}

async fn object(s3: &aws_sdk_s3::Client, key: &str) -> Vec<u8> {
    let output = s3
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{key}: {e:?}"));
    output.body.collect().await.unwrap().into_bytes().to_vec()
}

fn key(label: &str, report: &str, ext: &str) -> String {
    format!("SpaReports/Costs/{label}/2026/2026-11-{label}-{report}.{ext}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_of_costs_is_reported_in_s3_and_mailed_with_its_summaries() {
    let emulator = Emulator::start();
    let repo = GitRepo::example();
    // The rates from a local server: the test has no Internet.
    let rates = spa_tests::http::serve(200, "text/xml", RATES);
    let settings = std::fs::read_to_string(repo.path().join("settings.yaml")).unwrap();
    repo.write(
        "settings.yaml",
        settings.replace(
            "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml",
            &format!("{rates}/eurofxref-daily.xml"),
        ),
    );
    repo.commit("Rates from the test's server");
    assert_ok(&emulator.spa(repo.path(), &["dev", "seed", "--org", "organization.yaml"]));
    assert_ok(&emulator.spa(repo.path(), &["apply", "--yes", "--allow-destructive"]));
    let config = sdk_config(&AwsOptions::emulator(&emulator.endpoint)).await;
    crate::common::bucket(&config, BUCKET).await;
    aws_sdk_sesv2::Client::new(&config)
        .create_email_identity()
        .email_identity("spa@example.com")
        .send()
        .await
        .unwrap();
    // Cost Explorer answers the management account, where spa asks.
    emulator.give_costs(MANAGEMENT, &answers());

    let run = emulator.spa(
        repo.path(),
        &[
            "report",
            "costs",
            "--month",
            "2026-11",
            "--upload",
            "--email",
            "--reports-bucket",
            BUCKET,
        ],
    );
    assert_ok(&run);
    assert!(
        run.stderr.contains(
            "5 account(s) in 4 cost center(s); charged 1284.28 USD (credits and refunds -106.78)"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("4 Cost Explorer request(s) ($0.04)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("e-mail sent to finops@example.com"),
        "{}",
        run.stderr
    );

    // Cost Explorer's totals of the month, from what it answered.
    let sum = |answer: &serde_json::Value| -> Decimal {
        answer["ResultsByTime"][0]["Groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                let amount = g["Metrics"]["UnblendedCost"]["Amount"].as_str().unwrap();
                Decimal::from_str(amount)
                    .or_else(|_| Decimal::from_scientific(amount))
                    .unwrap()
            })
            .sum()
    };
    let answers = answers();
    let charged = sum(&answers[3]);
    let spent = sum(&answers[0]) + sum(&answers[1]);

    let s3 = s3(&emulator).await;
    let charges_csv = object(&s3, &key("Summary", "charges", "csv")).await;
    let charges = check_pair(
        &charges_csv,
        &object(&s3, &key("Summary", "charges", "xlsx")).await,
        "Charges",
        4,
    );
    assert_eq!(
        charges[0], charged,
        "the cost centers add up to Cost Explorer's total"
    );
    let header = &csv_rows(&charges_csv)[0];
    assert_eq!(
        header[4..],
        [
            "Charges (USD)",
            "Credit (USD)",
            "Refund (USD)",
            "Tax (USD)",
            "Usage (USD)"
        ]
    );
    assert_eq!(charges[1], Decimal::from(-100), "the credit is visible");
    assert_eq!(
        charges[2],
        Decimal::from_str("-6.78").unwrap(),
        "the refund too"
    );

    // Services: credits left out; every cost center's file adds up to the summary.
    let services = check_pair(
        &object(&s3, &key("Summary", "services", "csv")).await,
        &object(&s3, &key("Summary", "services", "xlsx")).await,
        "Services",
        3,
    );
    assert_eq!(services, [spent]);
    let mut centers = Decimal::ZERO;
    for center in ["CC-4100", "CC-5200", "CC-PROD", "NoCostTag"] {
        let csv = object(&s3, &key(center, "services", "csv")).await;
        let xlsx = object(&s3, &key(center, "services", "xlsx")).await;
        centers += check_pair(&csv, &xlsx, "Services", 6)[0];
        let usages = object(&s3, &key(center, "usages", "csv")).await;
        assert!(csv_rows(&usages).len() >= 3, "{center}: usages");
    }
    assert_eq!(centers, services[0]);
    // Who spent: names and units from Organizations, the unmanaged account included.
    let shop = csv_rows(&object(&s3, &key("CC-PROD", "services", "csv")).await);
    assert_eq!(
        shop[1][..6],
        [
            "2026-11",
            "CC-PROD",
            "Production",
            SHOP,
            "shop-prod",
            "Amazon Relational Database Service"
        ]
    );
    // Plain decimals, never scientific notation.
    let alice = String::from_utf8(object(&s3, &key("CC-4100", "services", "csv")).await).unwrap();
    assert!(alice.contains(",0.00000032\r\n"), "{alice}");

    // EUR at the day's rate (the rates are in EUR); GBP is not in them: a warning of the
    // run, in its manifest, and no file.
    let euros = check_pair(
        &object(&s3, &key("Summary", "charges-EUR", "csv")).await,
        &object(&s3, &key("Summary", "charges-EUR", "xlsx")).await,
        "Charges",
        4,
    );
    let rate = Decimal::ONE / Decimal::from_str("1.0512").unwrap();
    let expected = charged * rate.round_dp(6);
    assert!((euros[0] - expected).abs() < Decimal::from_str("0.0001").unwrap());
    let manifest: serde_json::Value =
        serde_json::from_slice(&object(&s3, &key("Summary", "report", "json")).await).unwrap();
    assert!(
        manifest["warnings"]
            .to_string()
            .contains("no charges summary in GBP"),
        "{manifest:#}"
    );
    assert_eq!(manifest["cost_explorer_requests"], 4);

    // The e-mail, as SES keeps it: its attachment is the workbook in the bucket.
    let (code, data) = spa_tests::http::request(
        "GET",
        &format!("{}/moto-api/data.json", emulator.endpoint),
        None,
        None,
    )
    .unwrap();
    assert_eq!(code, 200);
    let data: serde_json::Value = serde_json::from_str(&data).unwrap();
    let raw = find_raw_message(&data).expect("a raw message in SES");
    let message = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    assert_eq!(message.subject(), Some("Summary cost report for 2026-11"));
    let from = message.from().unwrap().first().unwrap();
    assert_eq!(from.address(), Some("spa@example.com"));
    assert_eq!(from.name(), Some("SPA"));
    assert!(
        message
            .body_html(0)
            .unwrap()
            .contains("<h1>Personal AWS accounts of Example Corp - costs of 2026-11</h1>")
    );
    let attachments = workbooks::attachments(&message);
    let names: Vec<&str> = attachments.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "2026-11-Summary-charges-EUR.xlsx",
            "2026-11-Summary-charges.xlsx"
        ]
    );
    assert_eq!(
        attachments[1].1,
        object(&s3, &key("Summary", "charges", "xlsx")).await
    );
    let read = workbooks::read(&attachments[1].1, "Charges");
    assert!(workbooks::check_subtotals(&read) > 5);
}

/// The first `RawMessage` anywhere in the emulator's state.
fn find_raw_message(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Object(map) => map.iter().find_map(|(key, value)| match value {
            serde_json::Value::String(text) if key == "raw_data" || key == "RawMessage" => {
                Some(text.clone())
            }
            other => find_raw_message(other),
        }),
        serde_json::Value::Array(items) => items.iter().find_map(find_raw_message),
        _ => None,
    }
}
