//! What the organization spent, from Cost Explorer, in as few billed requests as the
//! groupings allow: three for a month (services, usage types and record types, each per
//! linked account), one for a day; more only when Cost Explorer pages its answer.

use std::str::FromStr;

use rust_decimal::Decimal;

use crate::aws::costs::{CostQuery, Dimension, Granularity};
use crate::aws::{Aws, AwsError};
use crate::reports::activities::Month;

/// Record types that are not spending: shown in the charges, left out of services,
/// usages and the daily metric.
pub const NOT_SPENDING: [&str; 2] = ["Credit", "Refund"];

/// One amount of the bill: an account, what it is for (a service, a usage type or a record
/// type), and the amount in USD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub account: String,
    pub item: String,
    pub amount: Decimal,
}

/// The organization's bill of a month, by linked account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill {
    pub month: Month,
    /// Account × service, credits and refunds left out.
    pub services: Vec<Line>,
    /// Account × usage type, credits and refunds left out.
    pub usages: Vec<Line>,
    /// Account × record type (usage, tax, support, credit, refund…): everything billed.
    pub charges: Vec<Line>,
    /// Billed requests made ($0.01 each).
    pub requests: usize,
    /// Cost Explorer said some of it is an estimate (the month is not closed yet).
    pub estimated: bool,
}

/// Why costs could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CostError {
    #[error("{0}")]
    Aws(#[from] AwsError),
    #[error(
        "Cost Explorer gave an amount spa cannot read ({amount:?}, account {account}): {problem}"
    )]
    Amount {
        account: String,
        amount: String,
        problem: String,
    },
    #[error("Cost Explorer answered in {unit}: spa reports in USD")]
    Currency { unit: String },
    #[error("{month} has not started yet: there are no costs to report")]
    Future { month: Month },
    #[error("{key}: no workbook: {problem}")]
    Workbook { key: String, problem: String },
}

/// An amount as Cost Explorer writes it: a plain decimal, or scientific notation for tiny
/// ones (`1.2E-7`), negative for credits.
pub fn parse_amount(text: &str) -> Result<Decimal, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Decimal::ZERO);
    }
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map(|d| d.normalize())
        .map_err(|e| e.to_string())
}

/// The first day of a month and of the next one, `YYYY-MM-DD`.
pub fn period(month: Month) -> (String, String) {
    let next = if month.month == 12 {
        Month {
            year: month.year + 1,
            month: 1,
        }
    } else {
        Month {
            year: month.year,
            month: month.month + 1,
        }
    };
    (format!("{month}-01"), format!("{next}-01"))
}

fn lines(groups: Vec<crate::aws::costs::CostGroup>) -> Result<Vec<Line>, CostError> {
    groups
        .into_iter()
        .map(|group| {
            let account = group.keys.first().cloned().unwrap_or_default();
            if !group.unit.is_empty() && group.unit != "USD" {
                return Err(CostError::Currency { unit: group.unit });
            }
            let amount = parse_amount(&group.amount).map_err(|problem| CostError::Amount {
                account: account.clone(),
                amount: group.amount.clone(),
                problem,
            })?;
            Ok(Line {
                item: group.keys.get(1).cloned().unwrap_or_default(),
                account,
                amount,
            })
        })
        .collect()
}

/// The bill of `month`; `today` (`YYYY-MM-DD`) refuses a month that has not started.
pub async fn month(aws: &Aws, month: Month, today: &str) -> Result<Bill, CostError> {
    let (start, end) = period(month);
    if start.as_str() > today {
        return Err(CostError::Future { month });
    }
    let query = |by: Dimension, spending: bool| CostQuery {
        start: start.clone(),
        end: end.clone(),
        granularity: Granularity::Monthly,
        group_by: vec![Dimension::LinkedAccount, by],
        excluded_record_types: if spending {
            NOT_SPENDING.iter().map(|t| t.to_string()).collect()
        } else {
            Vec::new()
        },
        accounts: Vec::new(),
    };
    let queries = [
        query(Dimension::Service, true),
        query(Dimension::UsageType, true),
        query(Dimension::RecordType, false),
    ];
    // One after the other: three requests gain nothing from running together, and a
    // fixed order keeps runs reproducible.
    let services = aws.cost_and_usage(&queries[0]).await?;
    let usages = aws.cost_and_usage(&queries[1]).await?;
    let charges = aws.cost_and_usage(&queries[2]).await?;
    Ok(Bill {
        month,
        requests: services.requests + usages.requests + charges.requests,
        estimated: services.estimated || usages.estimated || charges.estimated,
        services: lines(services.groups)?,
        usages: lines(usages.groups)?,
        charges: lines(charges.groups)?,
    })
}

/// What each account spent on `day` (`YYYY-MM-DD`), credits and refunds left out; and the
/// requests it took.
pub async fn day(aws: &Aws, day: &str) -> Result<(Vec<Line>, usize), CostError> {
    let next = day
        .parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.tomorrow().ok())
        .map(|d| d.to_string())
        .unwrap_or_else(|| day.to_string());
    let result = aws
        .cost_and_usage(&CostQuery {
            start: day.to_string(),
            end: next,
            granularity: Granularity::Daily,
            group_by: vec![Dimension::LinkedAccount],
            excluded_record_types: NOT_SPENDING.iter().map(|t| t.to_string()).collect(),
            accounts: Vec::new(),
        })
        .await?;
    Ok((lines(result.groups)?, result.requests))
}

/// The days of "month to date" on `today` (`YYYY-MM-DD`): from the first of the month to
/// yesterday, as `[start, end)`; on the first of a month, the whole past month (Cost
/// Explorer refuses an empty period).
pub fn month_to_date(today: jiff::civil::Date) -> (String, String) {
    let first = today.first_of_month();
    let start = if first == today {
        first.yesterday().map_or(first, |d| d.first_of_month())
    } else {
        first
    };
    (start.to_string(), today.to_string())
}

/// What `account` spent per service in `[start, end)`, credits and refunds left out; and
/// the requests it took (one, unless Cost Explorer pages).
pub async fn account_services(
    aws: &Aws,
    account: &str,
    (start, end): (&str, &str),
) -> Result<(Vec<Line>, usize), CostError> {
    let result = aws
        .cost_and_usage(&CostQuery {
            start: start.to_string(),
            end: end.to_string(),
            granularity: Granularity::Monthly,
            group_by: vec![Dimension::LinkedAccount, Dimension::Service],
            excluded_record_types: NOT_SPENDING.iter().map(|t| t.to_string()).collect(),
            accounts: vec![account.to_string()],
        })
        .await?;
    Ok((lines(result.groups)?, result.requests))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_to_date_ends_yesterday_and_is_never_empty() {
        let on = |d: &str| month_to_date(d.parse().unwrap());
        assert_eq!(on("2026-12-03"), ("2026-12-01".into(), "2026-12-03".into()));
        assert_eq!(on("2026-12-01"), ("2026-11-01".into(), "2026-12-01".into()));
        assert_eq!(on("2026-01-01"), ("2025-12-01".into(), "2026-01-01".into()));
    }

    #[test]
    fn amounts_are_read_as_cost_explorer_writes_them() {
        let read = |t: &str| parse_amount(t).unwrap().to_string();
        assert_eq!(read("12.3400000000"), "12.34");
        assert_eq!(read("1.2E-7"), "0.00000012");
        assert_eq!(read("-4.5e-3"), "-0.0045");
        assert_eq!(read("-250"), "-250");
        assert_eq!(read(""), "0");
        assert!(parse_amount("twelve").is_err());
        assert!(parse_amount("1e400").is_err());
    }

    #[test]
    fn a_month_runs_from_its_first_day_to_the_next_month_s() {
        let december = Month {
            year: 2026,
            month: 12,
        };
        assert_eq!(
            period(december),
            ("2026-12-01".to_string(), "2027-01-01".to_string())
        );
    }
}
