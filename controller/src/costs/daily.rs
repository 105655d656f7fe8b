//! The daily cost metric: what each cost center spent on a day, as
//! `DailyCostsByCostCenter{CostCenter, Environment}` in CloudWatch (the dashboard's cost
//! widget), and as a small JSON record in the bucket, which also tells the schedule that
//! the day is done. The day is the day before yesterday: Cost Explorer's figures for
//! yesterday are still moving.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::directory;
use super::fetch::{self, CostError};
use super::report::CostSettings;
use crate::aws::Aws;
use crate::aws::monitoring::Datum;

pub const METRIC: &str = "DailyCostsByCostCenter";

/// What each cost center spent on `day`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Daily {
    pub day: String,
    pub environment: String,
    pub cost_centers: BTreeMap<String, Decimal>,
    /// Billed Cost Explorer requests made.
    pub requests: usize,
}

/// The key of a day's record.
pub fn key(settings: &CostSettings, day: &str) -> String {
    format!(
        "{}/Daily/{}/{day}-daily.json",
        settings.prefix,
        day.get(..4).unwrap_or(day)
    )
}

/// Reads what each cost center spent on `day` (`YYYY-MM-DD`).
pub async fn read(aws: &Aws, settings: &CostSettings, day: &str) -> Result<Daily, CostError> {
    let (lines, requests) = fetch::day(aws, day).await?;
    let accounts: BTreeSet<String> = lines.iter().map(|l| l.account.clone()).collect();
    let mut warnings = Vec::new();
    let shadows = super::report::shadows(aws, &settings.tables.shadows, &mut warnings).await;
    for warning in warnings {
        tracing::warn!(day, "{warning}");
    }
    let directory = directory::read(aws, &settings.tag, &shadows, &accounts, false).await?;
    let mut cost_centers: BTreeMap<String, Decimal> = BTreeMap::new();
    for line in &lines {
        *cost_centers
            .entry(directory.who(&line.account).cost_center)
            .or_default() += line.amount;
    }
    Ok(Daily {
        day: day.to_string(),
        environment: settings.environment.clone(),
        cost_centers,
        requests,
    })
}

/// The metric's values: one per cost center, stamped at the start of the day (UTC).
pub fn data(daily: &Daily) -> Vec<Datum> {
    let timestamp_ms = daily
        .day
        .parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| {
            jiff::tz::Offset::UTC
                .to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
                .ok()
        })
        .map_or(0, |t| t.as_millisecond());
    daily
        .cost_centers
        .iter()
        .map(|(center, amount)| Datum {
            name: METRIC.to_string(),
            dimensions: vec![
                ("CostCenter".to_string(), center.clone()),
                ("Environment".to_string(), daily.environment.clone()),
            ],
            value: amount.to_f64().unwrap_or_default(),
            timestamp_ms,
            unit: "None".to_string(),
        })
        .collect()
}

/// The day whose costs are reported at `now_ms`: the day before yesterday (UTC).
pub fn day_for(now_ms: i64) -> String {
    crate::records::day_of(now_ms.saturating_sub(2 * 86_400_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_a_value_per_cost_center_at_midnight() {
        let daily = Daily {
            day: "2026-12-01".into(),
            environment: "SpaTest".into(),
            cost_centers: [("CC-1".to_string(), Decimal::new(1250, 2))].into(),
            requests: 1,
        };
        let data = data(&daily);
        assert_eq!(data.len(), 1);
        assert_eq!(data[0].value, 12.5);
        assert_eq!(data[0].timestamp_ms, 1_796_083_200_000);
        assert_eq!(day_for(1_796_279_460_000), "2026-12-01");
    }
}
