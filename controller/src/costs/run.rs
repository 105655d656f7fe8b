//! One scheduled (or asked-for) cost run, end to end: the daily metric of a day, or the
//! report of a month — its files in the bucket, then the e-mail when it is the final one —
//! and the run's manifest, which says what was made, what it cost and how the e-mail went.
//! The manifest is written last: it is what tells the schedule the run is done. A run that
//! failed after its e-mail left is run again by the schedule; a marker written when SES
//! takes the e-mail keeps the retry from mailing the same report twice.

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
    /// Sent by an earlier attempt of the same scheduled run (its marker says so).
    AlreadySent,
}

/// Whether a monthly run sends its e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mail {
    No,
    /// Asked for by a person: sent every time.
    Send,
    /// The schedule's final report, fired at `since_ms`: sent unless an attempt of this
    /// firing already sent it.
    Once {
        since_ms: i64,
    },
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

/// The key of the marker of a month's e-mail: written when SES takes it, with its id.
pub fn email_key(settings: &CostSettings, month: Month) -> String {
    report::key(settings, month, Label::Summary, "email", None, "json")
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
    email: Mail,
) -> Result<(Made, Manifest), CostError> {
    let made = report::make(aws, http, settings, month, today).await?;
    let files = report::upload(aws, bucket, &made.files).await?;
    let mailed = match (
        email,
        report::message(settings, month, &made.files, Some(bucket)),
    ) {
        (Mail::No, _) => Mailed::NotAsked,
        (_, None) => Mailed::NotConfigured,
        (email, Some(message)) => {
            let marker = email_key(settings, month);
            let sent_before = match email {
                Mail::Once { since_ms } => aws
                    .object_info(bucket, &marker)
                    .await?
                    .is_some_and(|o| o.modified_ms >= since_ms),
                _ => false,
            };
            if sent_before {
                tracing::info!(%month, "the cost e-mail left at an earlier attempt: not sent again");
                Mailed::AlreadySent
            } else {
                match report::send(aws, &message).await {
                    Ok((message_id, linked)) => {
                        let body = serde_json::json!({ "message_id": message_id }).to_string();
                        if let Err(error) = aws
                            .put_object(bucket, &marker, body.as_bytes(), "application/json")
                            .await
                        {
                            tracing::warn!(%month, "the cost e-mail left, but its marker was not written (a retry would send it again): {error}");
                        }
                        Mailed::Sent { message_id, linked }
                    }
                    Err(error) => {
                        tracing::warn!(%month, "the cost e-mail did not leave: {error}");
                        Mailed::Failed {
                            error: error.to_string(),
                        }
                    }
                }
            }
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
