//! Cost Explorer, through the management account's role (its data covers the whole
//! organization). Every request is billed ($0.01): callers group as much as one request
//! allows, and [`Aws::cost_and_usage`] counts the requests it made.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Aws, AwsError, ErrorKind, Page, api};

/// The metric spa reads: what AWS bills, before any amortization.
pub const METRIC: &str = "UnblendedCost";

/// How many pages one query may take before spa calls it an error: a month of 10,000
/// accounts × 40 services is far below it; a service handing out tokens forever is not.
pub const MAX_PAGES: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Granularity {
    Daily,
    Monthly,
}

/// A dimension to group by (Cost Explorer takes at most two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Dimension {
    LinkedAccount,
    Service,
    UsageType,
    RecordType,
}

impl Dimension {
    /// The name Cost Explorer gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::LinkedAccount => "LINKED_ACCOUNT",
            Dimension::Service => "SERVICE",
            Dimension::UsageType => "USAGE_TYPE",
            Dimension::RecordType => "RECORD_TYPE",
        }
    }
}

/// One GetCostAndUsage request, without its page token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CostQuery {
    /// First day, included (`YYYY-MM-DD`).
    pub start: String,
    /// Last day, excluded.
    pub end: String,
    pub granularity: Granularity,
    /// One or two dimensions.
    pub group_by: Vec<Dimension>,
    /// Record types left out (`Credit`, `Refund`, …); none when empty.
    pub excluded_record_types: Vec<String>,
    /// Only these linked accounts; the whole organization when empty.
    pub accounts: Vec<String>,
}

/// One group of a result: its keys in the order of `group_by`, the amount as Cost
/// Explorer wrote it (a decimal, maybe in scientific notation, negative for credits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostGroup {
    /// Start of the period the group belongs to (`YYYY-MM-DD`).
    pub period: String,
    pub keys: Vec<String>,
    pub amount: String,
    /// `USD` for every organization that pays in dollars.
    pub unit: String,
}

/// The groups of a query, and how many requests they took.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CostResult {
    pub groups: Vec<CostGroup>,
    pub requests: usize,
    /// True when Cost Explorer said some of the data is an estimate (a month not closed).
    pub estimated: bool,
}

/// A page of groups, with the estimate flag of its results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostPage {
    pub page: Page<CostGroup>,
    pub estimated: bool,
}

/// The backend of Cost Explorer.
#[async_trait]
pub trait Costs: Send + Sync {
    async fn get_cost_and_usage(
        &self,
        query: &CostQuery,
        next_token: Option<String>,
    ) -> Result<CostPage, AwsError>;
}

impl Aws {
    /// Every group of `query`, page after page.
    pub async fn cost_and_usage(&self, query: &CostQuery) -> Result<CostResult, AwsError> {
        let costs = &self.backends.costs;
        let mut result = CostResult::default();
        let mut token: Option<String> = None;
        loop {
            let current = token.clone();
            let page = self
                .call(api::GET_COST_AND_USAGE, || {
                    costs.get_cost_and_usage(query, current.clone())
                })
                .await?;
            result.requests += 1;
            result.estimated |= page.estimated;
            result.groups.extend(page.page.items);
            match page.page.next_token {
                Some(next) if !next.is_empty() => {
                    if token.as_ref() == Some(&next) || result.requests >= MAX_PAGES {
                        return Err(AwsError::new(
                            api::GET_COST_AND_USAGE,
                            ErrorKind::Terminal,
                            "Pagination",
                            format!(
                                "Cost Explorer kept handing out pages ({} so far): stopped",
                                result.requests
                            ),
                        ));
                    }
                    token = Some(next);
                }
                _ => return Ok(result),
            }
        }
    }
}
