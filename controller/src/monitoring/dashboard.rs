//! The dashboard `<env>Cockpit-<region>` (docs/operations.md): a Markdown banner
//! (`automation.cockpit_markdown_text`), daily costs by cost center when costs are on,
//! transactions by cost center and by label, account events and exceptions by label, then
//! the health of spa itself. Desired state: the plan compares its body as JSON and apply
//! repairs it.

use spa_schema::Settings;

use super::NAMESPACE;

/// A day, in seconds: the period of the fleet's widgets.
const DAY: u32 = 86_400;

/// The banner when settings give none.
const DEFAULT_BANNER: &str = "## Sustainable personal accounts\nThe fleet of personal AWS accounts kept by spa: transactions, account events and exceptions over four weeks, then the health of the controller.";

/// The region of the dashboard: the automation region (`automation.region`, else
/// eu-west-1, as the life cycle's).
pub fn region(settings: &Settings) -> String {
    settings
        .automation
        .region
        .as_ref()
        .map_or_else(|| "eu-west-1".to_string(), |r| r.value.clone())
}

pub fn name(settings: &Settings, region: &str) -> String {
    format!("{}Cockpit-{region}", settings.environment_identifier.value)
}

/// Where a widget goes on the grid.
#[derive(Clone, Copy)]
struct At {
    x: u32,
    y: u32,
}

/// A metric widget of every series of `metric` for the environment, split by `by`.
fn by_dimension(
    environment: &str,
    region: &str,
    (title, metric, by): (&str, &str, &str),
    period: u32,
    At { x, y }: At,
) -> serde_json::Value {
    let search = format!(
        "SEARCH('{{{NAMESPACE},Environment,{by}}} MetricName=\"{metric}\" Environment=\"{environment}\"', 'Sum', {period})"
    );
    serde_json::json!({
        "type": "metric",
        "x": x, "y": y, "width": 12, "height": 6,
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "stacked": true,
            "period": period,
            "metrics": [[{ "expression": search, "id": "e1", "label": "" }]],
        }
    })
}

/// A widget of one series of spa's health (`Environment` only).
fn health(
    environment: &str,
    region: &str,
    title: &str,
    metrics: &[(&str, &str)],
    x: u32,
    y: u32,
) -> serde_json::Value {
    let lines: Vec<serde_json::Value> = metrics
        .iter()
        .map(|(metric, stat)| {
            serde_json::json!([NAMESPACE, metric, "Environment", environment, { "stat": stat }])
        })
        .collect();
    serde_json::json!({
        "type": "metric",
        "x": x, "y": y, "width": 12, "height": 6,
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "period": 300,
            "metrics": lines,
        }
    })
}

/// The body of the dashboard, canonical JSON text.
pub fn body(settings: &Settings, region: &str) -> String {
    let environment = &settings.environment_identifier.value;
    let banner = settings
        .automation
        .cockpit_markdown_text
        .as_ref()
        .map_or(DEFAULT_BANNER, |t| t.value.as_str());
    let mut widgets = vec![serde_json::json!({
        "type": "text",
        "x": 0, "y": 0, "width": 24, "height": 3,
        "properties": { "markdown": banner }
    })];
    let mut y = 3;
    if settings.features.with_cost_management_tag.span.is_some() {
        widgets.push(by_dimension(
            environment,
            region,
            (
                "Daily costs by cost center (USD)",
                "DailyCostsByCostCenter",
                "CostCenter",
            ),
            DAY,
            At { x: 0, y },
        ));
        y += 6;
    }
    let fleet = [
        (
            "Transactions by cost center",
            "TransactionsByCostCenter",
            "CostCenter",
        ),
        ("Transactions by label", "TransactionsByLabel", "Label"),
        ("Account events by label", "AccountEventsByLabel", "Label"),
        ("Exceptions by label", "ExceptionsByLabel", "Label"),
    ];
    for (index, (title, metric, by)) in fleet.iter().enumerate() {
        let x = if index % 2 == 0 { 0 } else { 12 };
        widgets.push(by_dimension(
            environment,
            region,
            (title, metric, by),
            DAY,
            At { x, y },
        ));
        if index % 2 == 1 {
            y += 6;
        }
    }
    widgets.push(serde_json::json!({
        "type": "text",
        "x": 0, "y": y, "width": 24, "height": 1,
        "properties": { "markdown": "### The controller" }
    }));
    y += 1;
    widgets.push(by_dimension(
        environment,
        region,
        ("Reconciles by outcome", "Reconciles", "Outcome"),
        300,
        At { x: 0, y },
    ));
    widgets.push(health(
        environment,
        region,
        "AWS calls and throttles",
        &[("AwsCalls", "Sum"), ("AwsThrottles", "Sum")],
        12,
        y,
    ));
    y += 6;
    widgets.push(health(
        environment,
        region,
        "Accounts queued and parked",
        &[
            ("LifecycleQueueDepth", "Maximum"),
            ("ParkedAccounts", "Maximum"),
        ],
        0,
        y,
    ));
    widgets.push(health(
        environment,
        region,
        "Records dropped and failed",
        &[("RecordsDropped", "Sum"), ("RecordErrors", "Sum")],
        12,
        y,
    ));
    serde_json::json!({
        "start": "-P28D",
        "periodOverride": "inherit",
        "widgets": widgets,
    })
    .to_string()
}
