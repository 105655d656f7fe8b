//! Client-side rate limits and retries. Every AWS call goes through a token bucket sized from
//! the published quotas (docs/aws.md) and a retry policy that classifies errors.
//!
//! Buckets run on tokio's clock, so tests with paused time simulate hours of quota-bound
//! work in milliseconds, and fakes enforce the same quotas on the same clock.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// A token bucket: `rate` tokens per second, at most `burst` stored.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub fn new(quota: Quota) -> TokenBucket {
        TokenBucket {
            rate: quota.rate.max(0.001),
            burst: quota.burst.max(1.0),
            state: Mutex::new((quota.burst.max(1.0), Instant::now())),
        }
    }

    /// Takes a token now if one is available; otherwise says how long until one is.
    pub fn try_take(&self) -> Result<(), Duration> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let (tokens, last) = *state;
        let tokens = (tokens + now.saturating_duration_since(last).as_secs_f64() * self.rate)
            .min(self.burst);
        if tokens >= 1.0 {
            *state = (tokens - 1.0, now);
            Ok(())
        } else {
            *state = (tokens, now);
            // At least a millisecond: tokio's timer granularity. A shorter sleep fires at
            // once without moving a paused clock, and the caller would spin forever.
            Err(Duration::from_secs_f64((1.0 - tokens) / self.rate).max(Duration::from_millis(1)))
        }
    }

    /// Waits for a token.
    pub async fn take(&self) {
        while let Err(wait) = self.try_take() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Refill per second and bucket size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quota {
    pub rate: f64,
    pub burst: f64,
}

impl Quota {
    pub const fn new(rate: f64, burst: f64) -> Quota {
        Quota { rate, burst }
    }
}

/// The API families that share a bucket. Each AWS call belongs to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    OrgListRoots,
    /// ListAccountsForParent, ListParents, ListOrganizationalUnitsForParent (one shared bucket).
    OrgListParents,
    OrgListChildren,
    OrgListAccounts,
    OrgListTags,
    OrgTag,
    OrgDescribe,
    OrgMove,
    /// ListPolicies, ListPoliciesForTarget, ListTargetsForPolicy.
    OrgListPolicies,
    /// Everything else of Organizations (create, policies).
    OrgOther,
    SsmRead,
    SsmWrite,
    Sts,
    CodeBuild,
    Events,
    /// SQS of the automation account: nearly unlimited on AWS's side; a ceiling of ours.
    Sqs,
    /// SNS of the automation account (Publish: 300/s in the smallest regions).
    Sns,
    /// DynamoDB on-demand tables of the automation account.
    DynamoDbRead,
    DynamoDbWrite,
    /// S3 of the automation account (reports): 3,500 writes and 5,500 reads a second per
    /// prefix on AWS's side; a ceiling of ours.
    S3,
    /// CloudWatch metrics and dashboards of the automation account.
    CloudWatch,
    /// Cost Explorer: a few requests a second, each billed $0.01.
    CostExplorer,
    /// SES v2: a new account sends one message a second (its sending rate).
    Ses,
    Other,
}

impl Family {
    /// Published defaults (per calling account), from the AWS quota pages as of 2026.
    pub fn default_quota(self) -> Quota {
        match self {
            Family::OrgListRoots => Quota::new(1.0, 2.0),
            Family::OrgListParents => Quota::new(5.0, 8.0),
            Family::OrgListChildren => Quota::new(6.0, 10.0),
            Family::OrgListAccounts => Quota::new(8.0, 12.0),
            Family::OrgListTags => Quota::new(10.0, 15.0),
            Family::OrgTag => Quota::new(4.0, 6.0),
            Family::OrgDescribe => Quota::new(20.0, 30.0),
            Family::OrgMove => Quota::new(2.0, 3.0),
            Family::OrgListPolicies => Quota::new(5.0, 8.0),
            Family::OrgOther => Quota::new(5.0, 8.0),
            Family::SsmRead => Quota::new(40.0, 40.0),
            Family::SsmWrite => Quota::new(3.0, 3.0),
            Family::Sts => Quota::new(600.0, 600.0),
            Family::CodeBuild => Quota::new(10.0, 10.0),
            Family::Events => Quota::new(50.0, 50.0),
            Family::Sqs => Quota::new(100.0, 100.0),
            Family::Sns => Quota::new(100.0, 100.0),
            // A new on-demand table serves 4,000 writes and 12,000 reads a second at once:
            // half of that leaves room for everything else sharing the table.
            Family::DynamoDbRead => Quota::new(6_000.0, 6_000.0),
            Family::DynamoDbWrite => Quota::new(2_000.0, 2_000.0),
            Family::S3 => Quota::new(100.0, 100.0),
            // PutMetricData allows 500 a second, GetDashboard and PutDashboard far fewer:
            // spa sends a batch a minute and reads one dashboard per reconcile.
            Family::CloudWatch => Quota::new(10.0, 20.0),
            // Cost Explorer throttles past a few requests a second; spa makes a handful a day.
            Family::CostExplorer => Quota::new(1.0, 5.0),
            // SES starts every account at one message a second (the sandbox rate).
            Family::Ses => Quota::new(1.0, 1.0),
            Family::Other => Quota::new(10.0, 10.0),
        }
    }

    pub const ALL: [Family; 24] = [
        Family::OrgListRoots,
        Family::OrgListParents,
        Family::OrgListChildren,
        Family::OrgListAccounts,
        Family::OrgListTags,
        Family::OrgTag,
        Family::OrgDescribe,
        Family::OrgMove,
        Family::OrgListPolicies,
        Family::OrgOther,
        Family::SsmRead,
        Family::SsmWrite,
        Family::Sts,
        Family::CodeBuild,
        Family::Events,
        Family::Sqs,
        Family::Sns,
        Family::DynamoDbRead,
        Family::DynamoDbWrite,
        Family::S3,
        Family::CloudWatch,
        Family::CostExplorer,
        Family::Ses,
        Family::Other,
    ];
}

/// Rate limits per family; defaults from the quotas, each overridable.
#[derive(Debug)]
pub struct Limiters {
    buckets: BTreeMap<Family, TokenBucket>,
}

impl Limiters {
    pub fn new(overrides: &BTreeMap<Family, Quota>) -> Limiters {
        Limiters {
            buckets: Family::ALL
                .iter()
                .map(|f| {
                    (
                        *f,
                        TokenBucket::new(
                            overrides
                                .get(f)
                                .copied()
                                .unwrap_or_else(|| f.default_quota()),
                        ),
                    )
                })
                .collect(),
        }
    }

    pub async fn take(&self, family: Family) {
        if let Some(bucket) = self.buckets.get(&family) {
            bucket.take().await;
        }
    }
}

impl Default for Limiters {
    fn default() -> Self {
        Limiters::new(&BTreeMap::new())
    }
}

/// How to retry: exponential backoff with jitter and a cap. Throttling is AWS saying "slow
/// down", not "stop": it gets a much larger budget than other retryable faults, because
/// organization-wide throttling (Control Tower, people in the console) can last minutes.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts for transient faults, expired credentials and conflicts.
    pub max_attempts: u32,
    /// Attempts when throttled (with the delay capped, about five minutes in all).
    pub max_throttled_attempts: u32,
    pub base: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            max_throttled_attempts: 30,
            base: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// The pause before retry `attempt` (1 = first retry): "equal jitter" over an
    /// exponential, so that a pause is never close to zero yet callers spread out.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let exponential = self.base.as_secs_f64() * 2f64.powi(attempt.min(20) as i32 - 1);
        let capped = exponential.min(self.max_delay.as_secs_f64());
        Duration::from_secs_f64(capped / 2.0 + capped / 2.0 * jitter.clamp(0.0, 1.0))
            .max(Duration::from_millis(10))
    }

    /// Whether a call that failed `attempt` times with `kind` is tried again.
    pub fn retries(&self, kind: crate::ErrorKind, attempt: u32) -> bool {
        match kind {
            crate::ErrorKind::Throttled => attempt < self.max_throttled_attempts,
            other => other.is_retryable() && attempt < self.max_attempts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bucket_paces_calls_at_the_rate() {
        let bucket = TokenBucket::new(Quota::new(10.0, 15.0));
        let start = Instant::now();
        for _ in 0..115 {
            bucket.take().await;
        }
        // 15 from the burst, then 100 at 10 per second.
        let elapsed = start.elapsed().as_secs_f64();
        assert!((9.9..10.1).contains(&elapsed), "{elapsed}");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(1, 1.0), Duration::from_millis(200));
        assert_eq!(policy.delay(3, 1.0), Duration::from_millis(800));
        assert_eq!(policy.delay(3, 0.0), Duration::from_millis(400));
        assert_eq!(policy.delay(30, 1.0), Duration::from_secs(20));
        assert!(policy.retries(crate::ErrorKind::Throttled, 20));
        assert!(!policy.retries(crate::ErrorKind::Transient, 6));
        assert!(!policy.retries(crate::ErrorKind::AccessDenied, 1));
    }
}
