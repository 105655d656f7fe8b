//! The activities of a month, one CSV file per cost center: `Cost Center, Transaction,
//! Stamp, Account, Identifier, Duration`. Key:
//! `<activities_prefix>/<cost center>/YYYY/YYYY-MM-<cost center>-activities.csv`, the cost
//! center percent-encoded (never a path), and a manifest of the month's files at
//! `<activities_prefix>/YYYY/YYYY-MM-activities.json` (for scripts, and to know the month
//! is done). The predecessor named both monthly runs after the day they ran; these are named
//! after the month they cover.

use std::collections::BTreeMap;

use super::{ReportSettings, csv_text, key_segment};
use crate::aws::{Aws, AwsError};
use crate::records::{Activity, parse_all};

pub const HEADER: [&str; 6] = [
    "Cost Center",
    "Transaction",
    "Stamp",
    "Account",
    "Identifier",
    "Duration",
];

/// A month, `YYYY-MM`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    pub year: i16,
    pub month: i8,
}

impl Month {
    pub fn parse(text: &str) -> Result<Month, String> {
        let fail = || format!("`{text}` is not a month: expected YYYY-MM, e.g. 2026-11");
        let (year, month) = text.split_once('-').ok_or_else(fail)?;
        // `str::parse` takes a sign (`2026-+1`): only digits are a month.
        if !(year.bytes().chain(month.bytes())).all(|b| b.is_ascii_digit()) {
            return Err(fail());
        }
        let year: i16 = year.parse().map_err(|_| fail())?;
        let month: i8 = month.parse().map_err(|_| fail())?;
        if year.to_string().len() != 4 || !(1..=12).contains(&month) || text.len() != 7 {
            return Err(fail());
        }
        Ok(Month { year, month })
    }

    /// The month of a time (UTC).
    pub fn of(ms: i64) -> Month {
        let date = jiff::tz::Offset::UTC
            .to_datetime(
                jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            )
            .date();
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn previous(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// Its days, `YYYY-MM-DD`.
    pub fn days(self) -> Vec<String> {
        let Ok(first) = jiff::civil::Date::new(self.year, self.month, 1) else {
            return Vec::new();
        };
        (1..=first.days_in_month())
            .map(|day| format!("{self}-{day:02}"))
            .collect()
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The key of a cost center's file for `month`.
pub fn key(settings: &ReportSettings, month: Month, cost_center: &str) -> String {
    let segment = key_segment(cost_center);
    format!(
        "{}/{segment}/{:04}/{month}-{segment}-activities.csv",
        settings.activities_prefix, month.year
    )
}

/// The key of the month's manifest.
pub fn manifest_key(settings: &ReportSettings, month: Month) -> String {
    format!(
        "{}/{:04}/{month}-activities.json",
        settings.activities_prefix, month.year
    )
}

/// Every activity of the month (one Query per day), and how many records were skipped.
pub async fn read(
    aws: &Aws,
    settings: &ReportSettings,
    month: Month,
) -> Result<(Vec<Activity>, usize), AwsError> {
    let mut activities = Vec::new();
    let mut skipped = 0;
    for day in month.days() {
        let items = aws
            .records_of(&settings.tables.activities, "day", &day)
            .await?;
        let (read, odd) = parse_all::<Activity>(&settings.tables.activities, items);
        activities.extend(read);
        skipped += odd;
    }
    Ok((activities, skipped))
}

/// The rows of activities, by cost center, then time, then account.
pub fn rows(activities: &[Activity]) -> Vec<Vec<String>> {
    let mut sorted: Vec<&Activity> = activities.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.cost_center, &a.end, &a.account).cmp(&(&b.cost_center, &b.end, &b.account))
    });
    sorted
        .iter()
        .map(|a| {
            vec![
                a.cost_center.clone(),
                a.transaction.clone(),
                a.end.clone(),
                a.account.clone(),
                a.identifier.clone(),
                a.duration.to_string(),
            ]
        })
        .collect()
}

/// Every activity in one CSV text.
pub fn csv(activities: &[Activity]) -> String {
    csv_text(&HEADER, &rows(activities))
}

/// One CSV text per cost center, by cost center.
pub fn files(activities: &[Activity]) -> BTreeMap<String, String> {
    let mut by_cost_center: BTreeMap<String, Vec<Activity>> = BTreeMap::new();
    for activity in activities {
        by_cost_center
            .entry(activity.cost_center.clone())
            .or_default()
            .push(activity.clone());
    }
    by_cost_center
        .into_iter()
        .map(|(cost_center, activities)| (cost_center, csv(&activities)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_checked_and_named() {
        assert_eq!(Month::parse("2026-11").unwrap().to_string(), "2026-11");
        for bad in [
            "2026-13", "26-11", "2026-1", "2026/11", "november", "2026-+1", "+026-01",
        ] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
        let january = Month::parse("2027-01").unwrap();
        assert_eq!(january.previous().to_string(), "2026-12");
        assert_eq!(Month::parse("2028-02").unwrap().days().len(), 29);
        assert_eq!(Month::of(1_796_000_123_456).to_string(), "2026-11");
    }
}
