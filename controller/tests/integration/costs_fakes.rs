//! The cost reports on the fakes, for what the emulator cannot show: Cost Explorer summing
//! line items, paging its answer and refusing a period it has no data for; SES refusing
//! a sender; accounts that left the organization; cost tags made to break files.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use spa_controller::aws::fake::{Fakes, LineItem};
use spa_controller::aws::{Aws, Family, Limiters, Quota, api};
use spa_controller::costs::fetch::CostError;
use spa_controller::costs::report::CostSettings;
use spa_controller::costs::run::{self, Mailed};
use spa_controller::reports::activities::Month;
use spa_controller::reports::schedule::{self, Due};
use spa_schema::MemoryFiles;

use crate::common::valid_settings;
use crate::workbooks::{self, check_pair, csv_rows};

const BUCKET: &str = "spatest-reports";
const NOVEMBER: Month = Month {
    year: 2026,
    month: 11,
};
const SENDER: &str = "finops-robot@example.com";
const INJECTION: &str = "=HYPERLINK(\"http://evil.example\",\"x\")";
const AWKWARD: &str = "R&D, \"Paris\"\nlab";

const RATES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <Cube><Cube time="2026-12-02"><Cube currency="USD" rate="1.25"/><Cube currency="JPY" rate="160"/></Cube></Cube>
</gesmes:Envelope>"#;

/// Accounts: (id, name, unit, cost tag).
const ACCOUNTS: [(&str, &str, &str, Option<&str>); 5] = [
    ("111111111111", "alice", "Data", Some("CC-1")),
    ("222222222222", "bob", "Web", Some("CC-1")),
    ("333333333333", "carol", "Data", Some(INJECTION)),
    ("444444444444", "dan", "Web", Some(AWKWARD)),
    ("555555555555", "erin", "Root", None),
];
/// Spent, and left the organization since.
const GONE: &str = "666666666666";

fn fakes() -> Fakes {
    let fakes = Fakes::default();
    let root = fakes.organizations.root_id();
    fakes
        .organizations
        .add_unit("ou-aaaa-11111111", "Data", &root);
    fakes
        .organizations
        .add_unit("ou-bbbb-22222222", "Web", &root);
    for (id, name, unit, tag) in ACCOUNTS {
        let parent = match unit {
            "Data" => "ou-aaaa-11111111".to_string(),
            "Web" => "ou-bbbb-22222222".to_string(),
            _ => root.clone(),
        };
        let tags: Vec<(&str, &str)> = tag.map(|t| ("cost-center", t)).into_iter().collect();
        fakes.organizations.add_account(id, name, &parent, &tags);
    }
    fakes.mail.verify(SENDER);
    fakes.costs.set_page_size(7);
    fakes
}

/// A month of line items: 40 days × accounts × services and record types, with credits,
/// a refund, tax, tiny and negative amounts; October and December around it.
fn bill(fakes: &Fakes) {
    let accounts: Vec<&str> = ACCOUNTS.iter().map(|a| a.0).chain([GONE]).collect();
    let services = ["Amazon EC2", "Amazon S3", "AWS Lambda"];
    let mut items = Vec::new();
    for day in [
        "2026-10-31",
        "2026-11-01",
        "2026-11-15",
        "2026-11-30",
        "2026-12-01",
    ] {
        for (a, account) in accounts.iter().enumerate() {
            for (s, service) in services.iter().enumerate() {
                let item = |record: &str, amount: String| LineItem {
                    day: day.into(),
                    account: account.to_string(),
                    service: service.to_string(),
                    usage_type: format!("EU-{service}-Usage{}", s % 2),
                    record_type: record.into(),
                    amount,
                };
                items.push(item("Usage", format!("{}.{:02}0000001", a + s, a * 7 + s)));
                items.push(item("Tax", "0.00000012".into()));
                if s == 0 {
                    items.push(item("Credit", format!("-{}.5", a)));
                }
            }
        }
    }
    items.push(LineItem {
        day: "2026-11-20".into(),
        account: "111111111111".into(),
        service: "Amazon EC2".into(),
        usage_type: "EU-BoxUsage".into(),
        record_type: "Refund".into(),
        amount: "-3.25".into(),
    });
    fakes.costs.extend(items);
}

fn settings(extra: &str, rates_url: &str) -> spa_schema::Settings {
    let yaml = format!(
        "environment_identifier: SpaTest\nautomation:\n  account_id: \"123456789012\"\nfeatures:\n  with_cost_management_tag: cost-center\n  with_cost_extra_currencies: [EUR, JPY, CHF]\n  with_cost_email_recipients: [finops@example.com, cfo@example.com]\n  with_origin_email_recipient: '\"FinOps\" <{SENDER}>'\n{extra}reporting:\n  costs_exchange_rates_url: {rates_url}/eurofxref-daily.xml\n  costs_markdown_template: |\n    # Costs of {{month}}\n\n    | what | where |\n    |---|---|\n    | charges | attached |\n"
    );
    valid_settings(&MemoryFiles::new().with("settings.yaml", yaml.as_str()))
}

/// Fakes' Aws with room for many pages (Cost Explorer's 1 a second would make the test wait).
fn aws(fakes: &Fakes) -> Aws {
    fakes.aws_with(Limiters::new(&BTreeMap::from([(
        Family::CostExplorer,
        Quota::new(1_000.0, 1_000.0),
    )])))
}

fn object(fakes: &Fakes, key: &str) -> Vec<u8> {
    fakes
        .objects
        .get(BUCKET, key)
        .unwrap_or_else(|| panic!("{key} is in the bucket"))
        .0
}

fn stored(fakes: &Fakes, key: &str) -> bool {
    fakes.objects.get(BUCKET, key).is_some()
}

fn key(report: &str, label: &str, ext: &str) -> String {
    format!("SpaReports/Costs/{label}/2026/2026-11-{label}-{report}.{ext}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_is_reported_to_the_cent_and_mailed_with_its_summaries() {
    let fakes = fakes();
    bill(&fakes);
    let settings = settings("", &spa_tests::http::serve(200, "text/xml", RATES));
    let costs = CostSettings::of(&settings);
    let aws = aws(&fakes);
    let (made, manifest) = run::monthly(
        &aws,
        &reqwest::Client::new(),
        BUCKET,
        &costs,
        NOVEMBER,
        "2026-12-14",
        run::Mail::Send,
    )
    .await
    .unwrap();

    // Cost Explorer: three queries, paged by 7 groups; every request counted.
    let served = fakes.costs.behaviour.served.calls(api::GET_COST_AND_USAGE);
    assert_eq!(made.requests as u64, served);
    assert!(served > 3, "the answers were paged: {served} requests");
    assert_eq!(manifest.cost_explorer_requests, made.requests);

    // Everything billed in November, credits and the refund included, to the last digit.
    let (start, end) = ("2026-11-01", "2026-12-01");
    let charged = fakes.costs.total(start, end, &[]);
    let spent = fakes.costs.total(start, end, &["Credit", "Refund"]);
    assert_eq!(made.charged, charged);
    assert_eq!(made.spent, spent);
    assert!(charged < spent, "credits lower the charges");

    // The summaries: workbook formulas right, totals equal to the CSV's and to Cost Explorer's.
    let services = check_pair(
        &object(&fakes, &key("services", "Summary", "csv")),
        &object(&fakes, &key("services", "Summary", "xlsx")),
        "Services",
        3,
    );
    assert_eq!(services, [spent]);
    let charges_csv = object(&fakes, &key("charges", "Summary", "csv"));
    let charges = check_pair(
        &charges_csv,
        &object(&fakes, &key("charges", "Summary", "xlsx")),
        "Charges",
        4,
    );
    assert_eq!(charges[0], charged);
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
    assert_eq!(
        charges[2],
        Decimal::from_str("-3.25").unwrap(),
        "the refund"
    );
    assert!(charges[1] < Decimal::ZERO, "credits are visible");

    // Per cost center: the services' totals add up to the summary's; no credit among them.
    let mut centers = Decimal::ZERO;
    let mut seen = Vec::new();
    for file in made
        .files
        .iter()
        .filter(|f| f.key.ends_with("-services.csv") && !f.key.contains("/Summary/"))
    {
        let xlsx = file.key.replace(".csv", ".xlsx");
        let total = check_pair(&file.bytes, &object(&fakes, &xlsx), "Services", 6);
        centers += total[0];
        let rows = csv_rows(&file.bytes);
        seen.push(rows[1][1].clone());
        assert!(rows.iter().all(|r| !r.contains(&"Credit".to_string())));
    }
    assert_eq!(
        centers, spent,
        "the cost centers add up to the organization"
    );
    seen.sort();
    // The formula is neutralized in CSV; the newline and quotes survive quoting.
    assert_eq!(
        seen,
        [
            "'=HYPERLINK(\"http://evil.example\",\"x\")",
            "CC-1",
            "NoCostTag",
            AWKWARD
        ]
    );
    // In Excel the formula is text, never a formula.
    let injected = made
        .files
        .iter()
        .find(|f| f.key.contains("HYPERLINK") && f.key.ends_with(".xlsx"))
        .expect("the file of the injected cost center");
    let read = workbooks::read(&injected.bytes, "Services");
    assert_eq!(
        read.values[1][1],
        calamine::Data::String(INJECTION.to_string())
    );
    assert!(read.formulas[1][1].is_empty());
    // Keys never leave the prefix, whatever the cost center.
    for file in &made.files {
        let rest = file.key.strip_prefix("SpaReports/Costs/").unwrap();
        assert_eq!(rest.matches('/').count(), 2, "{}", file.key);
    }

    // EUR and JPY at the day's rate; CHF is not in the document: a warning, no file.
    let euros = check_pair(
        &object(&fakes, &key("charges-EUR", "Summary", "csv")),
        &object(&fakes, &key("charges-EUR", "Summary", "xlsx")),
        "Charges",
        4,
    );
    let expected = (charged / Decimal::from_str("1.25").unwrap()).round_dp(2);
    assert_eq!(euros[0].round_dp(2), expected);
    assert!(stored(&fakes, &key("charges-JPY", "Summary", "csv")));
    assert!(!stored(&fakes, &key("charges-CHF", "Summary", "csv")));
    assert!(
        manifest.warnings.iter().any(|w| w.contains("CHF")),
        "{:?}",
        manifest.warnings
    );

    // The e-mail: to both recipients, the charges summaries attached as they are in S3.
    let Mailed::Sent { linked, .. } = &manifest.email else {
        panic!("{:?}", manifest.email)
    };
    assert!(linked.is_empty());
    let sent = fakes.mail.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, ["finops@example.com", "cfo@example.com"]);
    let message = mail_parser::MessageParser::default()
        .parse(&sent[0].raw)
        .unwrap();
    assert_eq!(message.subject(), Some("Summary cost report for 2026-11"));
    assert!(message.body_text(0).unwrap().contains("# Costs of 2026-11"));
    assert!(message.body_html(0).unwrap().contains("<table>"));
    let attached = workbooks::attachments(&message);
    let names: Vec<&str> = attached.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "2026-11-Summary-charges-EUR.xlsx",
            "2026-11-Summary-charges-JPY.xlsx",
            "2026-11-Summary-charges.xlsx"
        ]
    );
    assert_eq!(
        attached[2].1,
        object(&fakes, &key("charges", "Summary", "xlsx"))
    );

    // The manifest is in the bucket, last.
    let written: serde_json::Value =
        serde_json::from_slice(&object(&fakes, &key("report", "Summary", "json"))).unwrap();
    assert_eq!(written["email"]["sent"]["linked"], serde_json::json!([]));
    assert_eq!(written["accounts"], 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_sender_is_named_and_the_files_are_written_all_the_same() {
    let fakes = fakes();
    bill(&fakes);
    let settings = settings("", &spa_tests::http::serve(200, "text/xml", RATES));
    let mut costs = CostSettings::of(&settings);
    costs.from = Some("nobody@unverified.example".into());
    let (_, manifest) = run::monthly(
        &aws(&fakes),
        &reqwest::Client::new(),
        BUCKET,
        &costs,
        NOVEMBER,
        "2026-12-14",
        run::Mail::Send,
    )
    .await
    .unwrap();
    let Mailed::Failed { error } = &manifest.email else {
        panic!("{:?}", manifest.email)
    };
    assert!(error.contains("MessageRejected"), "{error}");
    assert!(error.contains("verified identity"), "the hint: {error}");
    assert!(fakes.mail.sent().is_empty());
    assert!(stored(&fakes, &key("charges", "Summary", "xlsx")));
    assert!(stored(&fakes, &key("report", "Summary", "json")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn months_without_costs_are_said_so_and_the_future_is_refused_before_any_request() {
    let fakes = fakes();
    let settings = settings("", "http://127.0.0.1:9");
    let costs = CostSettings::of(&settings);
    let aws = aws(&fakes);
    let http = reqwest::Client::new();
    let december = Month {
        year: 2026,
        month: 12,
    };
    let future = run::monthly(
        &aws,
        &http,
        BUCKET,
        &costs,
        december,
        "2026-11-30",
        run::Mail::No,
    )
    .await;
    assert!(
        matches!(future, Err(CostError::Future { .. })),
        "{future:?}"
    );
    assert_eq!(
        fakes.costs.behaviour.served.calls(api::GET_COST_AND_USAGE),
        0
    );

    // An empty month: files with a zero total; the rates could not be read: a warning.
    let (made, manifest) = run::monthly(
        &aws,
        &http,
        BUCKET,
        &costs,
        NOVEMBER,
        "2026-12-14",
        run::Mail::No,
    )
    .await
    .unwrap();
    assert_eq!(made.accounts, 0);
    assert_eq!(manifest.email, Mailed::NotAsked);
    let total = workbooks::csv_total(&object(&fakes, &key("charges", "Summary", "csv")), 4);
    assert_eq!(total, [Decimal::ZERO]);
    assert!(
        manifest
            .warnings
            .iter()
            .any(|w| w.contains("no exchange rates"))
    );
    assert!(
        manifest
            .warnings
            .iter()
            .any(|w| w.contains("no costs for 2026-11"))
    );

    // Cost Explorer without data for the period: its error, with what it means.
    fakes.costs.set_today("2026-10-15");
    let error = run::monthly(
        &aws,
        &http,
        BUCKET,
        &costs,
        NOVEMBER,
        "2026-12-14",
        run::Mail::No,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(error.contains("DataUnavailableException"), "{error}");
    assert!(error.contains("no data for this period yet"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedules_run_the_daily_metric_and_the_final_report_once() {
    let fakes = fakes();
    bill(&fakes);
    let settings = settings("", &spa_tests::http::serve(200, "text/xml", RATES));
    let aws = aws(&fakes);
    // 2026-12-14 05:00 UTC: after the daily run of 00:42, the early report of the 6th and
    // the final one of the 14th (04:00).
    let now = 1_797_224_400;
    fakes
        .objects
        .set_clock(std::sync::Arc::new(move || (now + 1) * 1000));
    let due = schedule::due(&aws, BUCKET, &settings, now).await.unwrap();
    let costs: Vec<&Due> = due
        .iter()
        .filter(|d| matches!(d, Due::DailyCosts { .. } | Due::MonthlyCosts { .. }))
        .collect();
    assert_eq!(
        costs,
        [
            &Due::DailyCosts {
                day: "2026-12-12".into()
            },
            &Due::MonthlyCosts {
                month: NOVEMBER,
                email: true,
                firing: now - 3600
            }
        ],
        "the early report is not run after the final one"
    );
    let http = reqwest::Client::new();
    for report in costs {
        schedule::run_one(&aws, &http, BUCKET, &settings, report, now)
            .await
            .unwrap();
    }
    assert_eq!(fakes.mail.sent().len(), 1);
    let again = schedule::due(&aws, BUCKET, &settings, now + 60)
        .await
        .unwrap();
    assert!(
        !again
            .iter()
            .any(|d| matches!(d, Due::DailyCosts { .. } | Due::MonthlyCosts { .. })),
        "{again:?}"
    );
    // No line item on the 12th: the metric holds nothing; the record says so.
    let daily: serde_json::Value = serde_json::from_slice(&object(
        &fakes,
        "SpaReports/Costs/Daily/2026/2026-12-12-daily.json",
    ))
    .unwrap();
    assert_eq!(daily["cost_centers"], serde_json::json!({}));
}

/// The final run failed after its e-mail left (its manifest could not be written): the
/// schedule runs it again, and the FinOps mailbox gets the report once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_final_run_retried_after_its_e_mail_left_does_not_mail_twice() {
    let fakes = fakes();
    bill(&fakes);
    let settings = settings("", &spa_tests::http::serve(200, "text/xml", RATES));
    let costs = CostSettings::of(&settings);
    let aws = aws(&fakes);
    let now = 1_797_224_400;
    fakes
        .objects
        .set_clock(std::sync::Arc::new(move || (now + 1) * 1000));
    let final_run = Due::MonthlyCosts {
        month: NOVEMBER,
        email: true,
        firing: now - 3600,
    };
    let http = reqwest::Client::new();
    fakes
        .objects
        .behaviour
        .inject(spa_controller::aws::fake::Fault {
            api: Some(api::PUT_OBJECT),
            resource: Some(run::manifest_key(&costs, NOVEMBER)),
            kind: spa_controller::aws::ErrorKind::Terminal,
            times: Some(1),
        });
    let error = schedule::run_one(&aws, &http, BUCKET, &settings, &final_run, now).await;
    assert!(error.is_err(), "the manifest write failed");
    assert_eq!(fakes.mail.sent().len(), 1, "the e-mail left");
    let due = schedule::due(&aws, BUCKET, &settings, now + 60)
        .await
        .unwrap();
    assert!(due.contains(&final_run), "still due: {due:?}");
    schedule::run_one(&aws, &http, BUCKET, &settings, &final_run, now + 60)
        .await
        .unwrap();
    assert_eq!(fakes.mail.sent().len(), 1, "not mailed twice");
    let manifest: serde_json::Value =
        serde_json::from_slice(&object(&fakes, &run::manifest_key(&costs, NOVEMBER))).unwrap();
    assert_eq!(manifest["email"], "already_sent");
    // Another firing of the final schedule (one set to fire twice a month) mails again.
    let later = Due::MonthlyCosts {
        month: NOVEMBER,
        email: true,
        firing: now + 120,
    };
    fakes
        .objects
        .set_clock(std::sync::Arc::new(move || (now + 121) * 1000));
    schedule::run_one(&aws, &http, BUCKET, &settings, &later, now + 121)
        .await
        .unwrap();
    assert_eq!(fakes.mail.sent().len(), 2);
    // A person asking for the e-mail gets it, marker or not.
    run::monthly(
        &aws,
        &http,
        BUCKET,
        &costs,
        NOVEMBER,
        "2026-12-14",
        run::Mail::Send,
    )
    .await
    .unwrap();
    assert_eq!(fakes.mail.sent().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_metric_sums_each_cost_center_s_spending_of_the_day() {
    let fakes = fakes();
    bill(&fakes);
    let settings = settings("", "http://127.0.0.1:9");
    let costs = CostSettings::of(&settings);
    let daily = run::daily(&aws(&fakes), BUCKET, &costs, "2026-11-15")
        .await
        .unwrap();
    assert_eq!(daily.requests, 1);
    let total: Decimal = daily.cost_centers.values().copied().sum();
    assert_eq!(
        total,
        fakes
            .costs
            .total("2026-11-15", "2026-11-16", &["Credit", "Refund"])
    );
    let data = fakes.monitoring.data();
    let cc1: Vec<_> = data
        .iter()
        .filter(|(_, d)| d.dimensions.contains(&("CostCenter".into(), "CC-1".into())))
        .collect();
    assert_eq!(cc1.len(), 1);
    assert_eq!(cc1[0].0, "SustainablePersonalAccount");
    assert_eq!(cc1[0].1.name, "DailyCostsByCostCenter");
    let expected = daily.cost_centers["CC-1"]
        .to_string()
        .parse::<f64>()
        .unwrap();
    assert!((cc1[0].1.value - expected).abs() < 1e-9);
}
