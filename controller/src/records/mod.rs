//! Records in the installation's DynamoDB tables (docs/records.md): the shadow of each
//! managed account, activities (console logins, on-boardings and maintenances that ended
//! well), and open transactions. Written by the [`Recorder`] from the events spa emits and
//! sees; read by the reports.
//!
//! A record of a shape spa does not know (written by an older version, or by hand) is
//! skipped with a warning wherever records are read: never a crash.

use serde::{Deserialize, Serialize};
use spa_schema::Settings;

use crate::aws::records::Item;

mod recorder;

pub use recorder::{AccountInfo, Fact, Recorder, RecorderCounters, RecordsConfig};

/// What an observation says of each managed account, for their shadows.
pub fn accounts_of(observation: &crate::observe::Observation) -> Vec<AccountInfo> {
    observation
        .accounts
        .values()
        .filter_map(|a| {
            Some(AccountInfo {
                account: a.id.clone(),
                name: a.name.clone(),
                email: a.email.clone(),
                organizational_unit: a.parent.clone(),
                organizational_unit_name: a
                    .parent
                    .as_ref()
                    .and_then(|p| observation.organizational_units.get(p))
                    .map(|u| u.name.clone()),
                // Accounts whose tags could not be read keep their shadow as it was.
                tags: a.tags.clone()?,
            })
        })
        .collect()
}

/// The three tables, named by `metering.*_datastore`, else after the environment as the
/// automation stack names them (`<env>Shadows`, `<env>Activities`, `<env>Transactions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tables {
    pub shadows: String,
    pub activities: String,
    pub transactions: String,
}

impl Tables {
    pub fn of(settings: &Settings) -> Tables {
        let environment = &settings.environment_identifier.value;
        let name = |set: &Option<spa_schema::Located<String>>, kind: &str| {
            set.as_ref()
                .map_or_else(|| format!("{environment}{kind}"), |n| n.value.clone())
        };
        Tables {
            shadows: name(&settings.metering.shadows_datastore, "Shadows"),
            activities: name(&settings.metering.activities_datastore, "Activities"),
            transactions: name(&settings.metering.transactions_datastore, "Transactions"),
        }
    }
}

/// How long each kind of record is kept (`metering.*_ttl_in_seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifetimes {
    pub shadows_seconds: u64,
    pub activities_seconds: u64,
    /// Past it, an open transaction is a failure (FailedOnBoardingException, …).
    pub transactions_seconds: u64,
}

impl Lifetimes {
    pub fn of(settings: &Settings) -> Lifetimes {
        Lifetimes {
            shadows_seconds: settings.metering.shadows_ttl_in_seconds.value,
            activities_seconds: settings.metering.activities_ttl_in_seconds.value,
            transactions_seconds: settings.metering.transactions_ttl_in_seconds.value,
        }
    }
}

/// A console login seen on an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    /// Who: the session name (usually an e-mail) of a person through single sign-on, or
    /// the IAM user, or `root`.
    pub identity: String,
    pub at: String,
}

/// The shadow of a managed account: what spa knows of it, kept for reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shadow {
    pub account: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub organizational_unit: Option<String>,
    #[serde(default)]
    pub organizational_unit_name: Option<String>,
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
    /// The label of the last account event (`ReleasedAccount`, …).
    #[serde(default)]
    pub last_event: Option<String>,
    /// When each event label last happened (RFC 3339), `ConsoleLogin` included.
    #[serde(default)]
    pub stamps: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub preparation_report: Option<String>,
    #[serde(default)]
    pub purge_report: Option<String>,
    #[serde(default)]
    pub console_login: Option<Login>,
    /// When DynamoDB may delete it (seconds since the epoch).
    #[serde(default)]
    pub expires_at: i64,
}

/// What ended well: a console login, an on-boarding, a maintenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    /// `YYYY-MM-DD` (UTC) of `end`: the partition key.
    pub day: String,
    /// `HH:MM:SS.mmmZ#<id>`: the sort key; the id makes a replayed event the same record.
    pub stamp: String,
    /// `ConsoleLoginEvent`, `SuccessfulOnBoardingEvent`, `SuccessfulMaintenanceEvent`.
    pub label: String,
    /// `ConsoleLoginTransaction`, `OnBoardingTransaction`, `MaintenanceTransaction`.
    pub transaction: String,
    pub account: String,
    pub cost_center: String,
    /// Who: the person who signed in, or the holder of the account.
    pub identifier: String,
    pub begin: String,
    pub end: String,
    /// Seconds from begin to end.
    pub duration: i64,
    #[serde(default)]
    pub expires_at: i64,
}

/// An on-boarding or a maintenance that began and has not ended yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub account: String,
    /// `OnBoardingTransaction` or `MaintenanceTransaction`.
    pub transaction: String,
    pub begin: String,
    pub begin_ms: i64,
    pub cost_center: String,
    pub identifier: String,
    #[serde(default)]
    pub expires_at: i64,
}

/// A record read back, or why it was skipped (logged once per read by the caller).
pub fn from_item<T: serde::de::DeserializeOwned>(item: Item) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::Object(item)).map_err(|e| e.to_string())
}

/// A record to write.
pub fn to_item<T: Serialize>(record: &T) -> Item {
    match serde_json::to_value(record) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => Item::new(),
    }
}

/// Reads every record of a table, skipping (with one warning) those of an unknown shape.
pub async fn read_all<T: serde::de::DeserializeOwned>(
    aws: &crate::aws::Aws,
    table: &str,
) -> Result<(Vec<T>, usize), crate::aws::AwsError> {
    let items = aws.all_records(table).await?;
    Ok(parse_all(table, items))
}

/// The records of `items` that have the shape of `T`, and how many were skipped.
pub fn parse_all<T: serde::de::DeserializeOwned>(table: &str, items: Vec<Item>) -> (Vec<T>, usize) {
    let mut records = Vec::with_capacity(items.len());
    let mut skipped = 0;
    let mut first = None;
    for item in items {
        match from_item::<T>(item) {
            Ok(record) => records.push(record),
            Err(why) => {
                skipped += 1;
                first.get_or_insert(why);
            }
        }
    }
    if let Some(why) = first {
        tracing::warn!(
            table,
            skipped,
            "records of an unknown shape skipped (an older version's, or written by hand): {why}"
        );
    }
    (records, skipped)
}

/// The key of a shadow or a transaction.
pub fn account_key(account: &str) -> Item {
    let mut key = Item::new();
    key.insert("account".to_string(), account.into());
    key
}

/// RFC 3339, milliseconds, UTC.
pub fn rfc3339_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// The cost center of an account without a usable cost tag.
pub const NO_COST_TAG: &str = "NoCostTag";

/// The cost center a cost tag's value names: `NoCostTag` when the tag is absent or blank,
/// in every record, report and metric alike.
pub fn cost_center(value: Option<&str>) -> String {
    value
        .filter(|v| !v.trim().is_empty())
        .unwrap_or(NO_COST_TAG)
        .to_string()
}

/// The day (UTC) of a time, `YYYY-MM-DD`.
pub fn day_of(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// The sort key of an activity: time of day, then an id that names the occurrence.
pub fn stamp_of(ms: i64, id: &str) -> String {
    let time = jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default();
    format!("{time}#{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_of_an_unknown_shape_are_skipped() {
        let good = to_item(&Transaction {
            account: "123456789012".into(),
            transaction: "OnBoardingTransaction".into(),
            begin: rfc3339_ms(0),
            begin_ms: 0,
            cost_center: "CC".into(),
            identifier: "a@example.com".into(),
            expires_at: 0,
        });
        let mut odd = Item::new();
        odd.insert("account".into(), "210987654321".into());
        odd.insert("transaction".into(), 42.into());
        let (read, skipped) = parse_all::<Transaction>("t", vec![good, odd]);
        assert_eq!(read.len(), 1);
        assert_eq!(skipped, 1);
    }

    #[test]
    fn times_are_written_in_utc() {
        let ms = 1_796_000_123_456;
        assert_eq!(rfc3339_ms(ms), "2026-11-30T00:55:23.456Z");
        assert_eq!(day_of(ms), "2026-11-30");
        assert_eq!(stamp_of(ms, "x"), "00:55:23.456Z#x");
    }
}
