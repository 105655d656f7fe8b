//! Cost Explorer in memory: line items (day, account, service, usage type, record type,
//! amount) summed per query as Cost Explorer does, paged, and refused where it refuses.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rust_decimal::Decimal;

use super::Behaviour;
use crate::costs::{CostGroup, CostPage, CostQuery, Dimension, Granularity};
use crate::{AwsError, Costs, ErrorKind, Page, api};

/// One line of the bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineItem {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub account: String,
    pub service: String,
    pub usage_type: String,
    /// `Usage`, `Tax`, `Credit`, `Refund`, …
    pub record_type: String,
    /// A decimal (`-12.5`, `0.0000001`).
    pub amount: String,
}

#[derive(Debug)]
pub struct FakeCosts {
    items: Mutex<Vec<LineItem>>,
    /// Groups per page (Cost Explorer's own page size is not published).
    page_size: Mutex<usize>,
    /// Days from which on Cost Explorer has no data yet (`YYYY-MM-DD`): asked about them,
    /// it answers `DataUnavailableException`.
    today: Mutex<Option<String>>,
    /// The groups of the last query: its pages are cut from them (one sum per query, not
    /// per page, as Cost Explorer itself keeps a result behind its tokens).
    answered: Mutex<Option<(CostQuery, Arc<Vec<CostGroup>>)>>,
    pub behaviour: Behaviour,
}

impl Default for FakeCosts {
    fn default() -> Self {
        FakeCosts {
            items: Mutex::default(),
            page_size: Mutex::new(1_000),
            today: Mutex::default(),
            answered: Mutex::default(),
            behaviour: Behaviour::default(),
        }
    }
}

impl FakeCosts {
    pub fn add(&self, item: LineItem) {
        self.extend([item]);
    }

    pub fn extend(&self, items: impl IntoIterator<Item = LineItem>) {
        self.items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(items);
        *self.answered.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The groups of `query`, summed from the line items.
    fn groups(&self, query: &CostQuery) -> Result<Arc<Vec<CostGroup>>, AwsError> {
        let mut answered = self.answered.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((last, groups)) = answered.as_ref()
            && last == query
        {
            return Ok(groups.clone());
        }
        let mut sums: BTreeMap<(String, Vec<String>), Decimal> = BTreeMap::new();
        for item in self.items.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            if item.day < query.start || item.day >= query.end {
                continue;
            }
            if query.excluded_record_types.contains(&item.record_type) {
                continue;
            }
            if !query.accounts.is_empty() && !query.accounts.contains(&item.account) {
                continue;
            }
            let amount = Decimal::from_str(&item.amount)
                .map_err(|e| invalid("InternalError", format!("{}: {e}", item.amount)))?;
            let keys = query.group_by.iter().map(|d| key(item, *d).to_string());
            *sums
                .entry((period(&item.day, query.granularity), keys.collect()))
                .or_default() += amount;
        }
        let groups: Arc<Vec<CostGroup>> = Arc::new(
            sums.into_iter()
                .map(|((period, keys), amount)| CostGroup {
                    period,
                    keys,
                    amount: written(amount),
                    unit: "USD".to_string(),
                })
                .collect(),
        );
        *answered = Some((query.clone(), groups.clone()));
        Ok(groups)
    }

    pub fn set_page_size(&self, size: usize) {
        *self.page_size.lock().unwrap_or_else(|p| p.into_inner()) = size.max(1);
    }

    /// The day Cost Explorer lives in: a period starting after it has no data.
    pub fn set_today(&self, day: &str) {
        *self.today.lock().unwrap_or_else(|p| p.into_inner()) = Some(day.to_string());
    }

    /// The sum of the line items of `[start, end)` but those of `excluded` record types:
    /// what a person would read as Cost Explorer's total.
    pub fn total(&self, start: &str, end: &str, excluded: &[&str]) -> Decimal {
        self.items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|i| i.day.as_str() >= start && i.day.as_str() < end)
            .filter(|i| !excluded.contains(&i.record_type.as_str()))
            .filter_map(|i| Decimal::from_str(&i.amount).ok())
            .sum()
    }
}

fn invalid(code: &str, message: impl Into<String>) -> AwsError {
    AwsError::new(api::GET_COST_AND_USAGE, ErrorKind::Terminal, code, message)
}

fn key(item: &LineItem, dimension: Dimension) -> &str {
    match dimension {
        Dimension::LinkedAccount => &item.account,
        Dimension::Service => &item.service,
        Dimension::UsageType => &item.usage_type,
        Dimension::RecordType => &item.record_type,
    }
}

/// As Cost Explorer writes small amounts: in scientific notation (`1.2E-7`).
fn written(amount: Decimal) -> String {
    let amount = amount.normalize();
    if !amount.is_zero() && amount.abs() < Decimal::new(1, 4) {
        let mantissa = amount.mantissa();
        let digits = mantissa.unsigned_abs().to_string();
        let exponent = i64::from(amount.scale()) - (digits.len() as i64 - 1);
        let sign = if mantissa < 0 { "-" } else { "" };
        let (head, tail) = digits.split_at(1);
        let tail = if tail.is_empty() {
            String::new()
        } else {
            format!(".{tail}")
        };
        return format!("{sign}{head}{tail}E-{exponent}");
    }
    amount.to_string()
}

/// The start of the period a day belongs to.
fn period(day: &str, granularity: Granularity) -> String {
    match granularity {
        Granularity::Daily => day.to_string(),
        Granularity::Monthly => format!("{}-01", day.get(..7).unwrap_or(day)),
    }
}

#[async_trait]
impl Costs for FakeCosts {
    async fn get_cost_and_usage(
        &self,
        query: &CostQuery,
        next_token: Option<String>,
    ) -> Result<CostPage, AwsError> {
        self.behaviour
            .enter(api::GET_COST_AND_USAGE, &query.start)
            .await?;
        if query.group_by.is_empty() || query.group_by.len() > 2 {
            return Err(invalid(
                "ValidationException",
                "group by one or two dimensions",
            ));
        }
        if query.start >= query.end {
            return Err(invalid(
                "ValidationException",
                "Start date (and hour) should be before end date (and hour)",
            ));
        }
        if let Some(today) = self
            .today
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            && query.start > *today
        {
            return Err(invalid(
                "DataUnavailableException",
                format!("Data is not available for {}", query.start),
            ));
        }
        let groups = self.groups(query)?;
        let size = *self.page_size.lock().unwrap_or_else(|p| p.into_inner());
        let start = match next_token {
            None => 0,
            Some(token) => token
                .strip_prefix("page-")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n < groups.len())
                .ok_or_else(|| {
                    invalid(
                        "InvalidNextTokenException",
                        "The pagination token is invalid",
                    )
                })?,
        };
        let end = start.saturating_add(size).min(groups.len());
        Ok(CostPage {
            page: Page {
                items: groups[start..end].to_vec(),
                next_token: (end < groups.len()).then(|| format!("page-{end}")),
            },
            estimated: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_amounts_are_written_in_scientific_notation_and_read_back_exactly() {
        for text in ["0.00000012", "-0.00005", "12.5", "-3", "0"] {
            let amount = Decimal::from_str(text).unwrap();
            let shown = written(amount);
            let back = Decimal::from_str(&shown)
                .or_else(|_| Decimal::from_scientific(&shown))
                .unwrap();
            assert_eq!(back, amount, "{text} → {shown}");
        }
        assert_eq!(written(Decimal::from_str("0.00000012").unwrap()), "1.2E-7");
    }
}
