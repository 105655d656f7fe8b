//! One scheduled (or asked-for) cost run, end to end: the daily metric of a day, or the
//! report of a month — its files in the bucket, then the e-mail when it is the final one —
//! and the run's manifest, which says what was made, what it cost and how the e-mail went.
//! The manifest is written last: it is what tells the schedule the run is done.

use rust_decimal::Decimal;

use super::daily;
use super::fetch::CostError;
use super::report::{self, CostSettings, Label, Made};
use crate::aws::Aws;
use crate::reports::activities::Month;

/// How the e-mail went.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mailed {
    /// SES took it; the files linked instead of attached (too large).
    Sent {
        message_id: String,
        linked: Vec<String>,
    },
    Failed {
        error: String,
    },
    /// No sender or no recipient in settings.
    NotConfigured,
    /// Not asked for (the early report).
    NotAsked,
}

/// The record of a monthly run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Manifest {
    pub month: String,
    pub files: Vec<String>,
    pub accounts: usize,
    pub cost_centers: usize,
    pub charged_usd: Decimal,
    pub spent_usd: Decimal,
    pub estimated: bool,
    pub cost_explorer_requests: usize,
    pub organizations_calls: usize,
    pub warnings: Vec<String>,
    pub email: Mailed,
}

/// The key of a month's manifest.
pub fn manifest_key(settings: &CostSettings, month: Month) -> String {
    report::key(settings, month, Label::Summary, "report", None, "json")
}

/// Makes the report of `month`, writes it to `bucket`, sends the e-mail when `email`; the
/// manifest, written last.
pub async fn monthly(
    aws: &Aws,
    http: &reqwest::Client,
    bucket: &str,
    settings: &CostSettings,
    month: Month,
    today: &str,
    email: bool,
) -> Result<(Made, Manifest), CostError> {
    let made = report::make(aws, http, settings, month, today).await?;
    let files = report::upload(aws, bucket, &made.files).await?;
    let mailed = if !email {
        Mailed::NotAsked
    } else {
        match report::message(settings, month, &made.files, Some(bucket)) {
            None => Mailed::NotConfigured,
            Some(message) => match report::send(aws, &message).await {
                Ok((message_id, linked)) => Mailed::Sent { message_id, linked },
                Err(error) => {
                    tracing::warn!(%month, "the cost e-mail did not leave: {error}");
                    Mailed::Failed {
                        error: error.to_string(),
                    }
                }
            },
        }
    };
    let manifest = Manifest {
        month: month.to_string(),
        files,
        accounts: made.accounts,
        cost_centers: made.cost_centers,
        charged_usd: made.charged,
        spent_usd: made.spent,
        estimated: made.estimated,
        cost_explorer_requests: made.requests,
        organizations_calls: made.directory_calls,
        warnings: made.warnings.clone(),
        email: mailed,
    };
    let body = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    aws.put_object(
        bucket,
        &manifest_key(settings, month),
        format!("{body}\n").as_bytes(),
        "application/json",
    )
    .await?;
    Ok((made, manifest))
}

/// Sends the daily metric of `day` and writes its record; what it found.
pub async fn daily(
    aws: &Aws,
    bucket: &str,
    settings: &CostSettings,
    day: &str,
) -> Result<daily::Daily, CostError> {
    let read = daily::read(aws, settings, day).await?;
    aws.put_metric_data(crate::monitoring::NAMESPACE, &daily::data(&read))
        .await?;
    let body = serde_json::to_string_pretty(&read).unwrap_or_default();
    aws.put_object(
        bucket,
        &daily::key(settings, day),
        format!("{body}\n").as_bytes(),
        "application/json",
    )
    .await?;
    Ok(read)
}
