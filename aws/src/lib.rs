//! spa's one door to AWS. SDK types never leave this crate: above it, code sees [`Aws`],
//! whose typed methods (one per AWS operation, in the module of its service) are the only
//! way to reach a backend. Each names its [`api::Api`] — the operation and the rate-limit
//! family it draws from — once, and goes through the policy: a token bucket per family
//! (sized from the published quotas), a retry policy that classifies errors, and a counter
//! per operation and outcome.
//!
//! Backends are narrow traits of our own ([`Organizations`], [`Parameters`], [`Members`],
//! …) with two implementations: [`sdk`] on the official AWS SDK (private clients, built by
//! [`sdk::connect`]) and [`fake`], in memory, which enforces the published quotas on
//! tokio's clock and injects throttling, faults and latency for what the emulator cannot
//! show.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub mod api;
pub mod costs;
pub mod error;
pub mod events;
pub mod fake;
pub mod incidents;
pub mod leases;
pub mod limits;
pub mod mail;
pub mod members;
pub mod metrics;
pub mod monitoring;
pub mod objects;
pub mod organizations;
pub mod parameters;
pub mod policies;
pub mod queues;
pub mod records;
pub mod sdk;
pub mod seed;
pub mod topics;
pub mod types;

pub use api::Api;
pub use costs::Costs;
pub use error::{AwsError, ErrorKind};
pub use events::Events;
pub use incidents::{IncidentSpec, Incidents, RelatedLink};
pub use leases::Leases;
pub use limits::{Family, Limiters, Quota, RetryPolicy};
pub use mail::Mail;
pub use members::{Member, MemberAccount, Members};
pub use metrics::CallCounter;
pub use monitoring::Monitoring;
pub use objects::Objects;
pub use organizations::Organizations;
pub use parameters::Parameters;
pub use policies::Policies;
pub use queues::Queues;
pub use records::Records;
pub use topics::Topics;
pub use types::*;

/// The implementations behind [`Aws`], one per service. Built by [`sdk::connect`] or by
/// the fakes; once inside an [`Aws`] they are reachable only through its typed methods.
#[derive(Clone)]
pub struct Backends {
    pub organizations: Arc<dyn Organizations>,
    pub policies: Arc<dyn Policies>,
    pub parameters: Arc<dyn Parameters>,
    pub members: Arc<dyn Members>,
    pub events: Arc<dyn Events>,
    pub queues: Arc<dyn Queues>,
    pub leases: Arc<dyn Leases>,
    pub topics: Arc<dyn Topics>,
    pub incidents: Arc<dyn Incidents>,
    pub records: Arc<dyn Records>,
    pub objects: Arc<dyn Objects>,
    pub monitoring: Arc<dyn Monitoring>,
    pub costs: Arc<dyn Costs>,
    pub mail: Arc<dyn Mail>,
}

/// The backends and the policy every call goes through. Cheap to clone.
#[derive(Clone)]
pub struct Aws {
    backends: Backends,
    limiters: Arc<Limiters>,
    retry: RetryPolicy,
    calls: Arc<CallCounter>,
    /// Concurrent ListTagsForResource calls: Organizations also refuses bursts of parallel
    /// requests ("another request is already in progress"), so keep it low.
    tag_read_concurrency: usize,
}

/// A small deterministic generator for jitter: reproducible runs beat cryptographic quality.
fn jitter() -> f64 {
    static STATE: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let mut x = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

impl Aws {
    /// `backends` with the default retry policy, fresh counters and `limiters`.
    pub fn new(backends: Backends, limiters: Arc<Limiters>) -> Aws {
        Aws {
            backends,
            limiters,
            retry: RetryPolicy::default(),
            calls: Default::default(),
            tag_read_concurrency: 4,
        }
    }

    /// Counts calls into `calls` (shared with the controller's metrics).
    pub fn with_calls(mut self, calls: Arc<CallCounter>) -> Aws {
        self.calls = calls;
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Aws {
        self.retry = retry;
        self
    }

    pub fn with_tag_read_concurrency(mut self, concurrency: usize) -> Aws {
        self.tag_read_concurrency = concurrency.max(1);
        self
    }

    /// Every call made through this door, per operation and outcome.
    pub fn calls(&self) -> &Arc<CallCounter> {
        &self.calls
    }

    pub fn tag_read_concurrency(&self) -> usize {
        self.tag_read_concurrency
    }

    /// Runs one AWS operation under its family's rate limit (none for operations on another
    /// account's quota), retrying what can be retried, counting every attempt.
    pub(crate) async fn call<T, F, Fut>(&self, api: Api, operation: F) -> Result<T, AwsError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        let mut attempt = 1;
        loop {
            if let Some(family) = api.family {
                self.limiters.take(family).await;
            }
            match operation().await {
                Ok(value) => {
                    self.calls.record(api.name, "ok");
                    return Ok(value);
                }
                Err(error) => {
                    self.calls.record(api.name, error.kind.as_str());
                    if !self.retry.retries(error.kind, attempt) {
                        tracing::debug!(
                            api = api.name,
                            attempt,
                            kind = error.kind.as_str(),
                            "giving up: {error}"
                        );
                        return Err(error);
                    }
                    let delay = self.retry.delay(attempt, jitter());
                    tracing::debug!(
                        api = api.name,
                        attempt,
                        ?delay,
                        kind = error.kind.as_str(),
                        "retrying"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    /// Follows NextToken until the end, even where a backend never paginates.
    pub(crate) async fn all_pages<T, F, Fut>(&self, api: Api, page: F) -> Result<Vec<T>, AwsError>
    where
        F: Fn(Option<String>) -> Fut,
        Fut: Future<Output = Result<Page<T>, AwsError>>,
    {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let current = token.clone();
            let result = self.call(api, || page(current.clone())).await?;
            items.extend(result.items);
            match result.next_token {
                Some(next) if !next.is_empty() => token = Some(next),
                _ => return Ok(items),
            }
        }
    }
}
