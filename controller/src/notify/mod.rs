//! Where exceptions go besides the bus (docs/operations.md, "Exceptions"): the SNS topic
//! `<env>Exceptions`, Microsoft Teams, Slack, an Incident Manager incident. One notification per label and account within
//! a window ([`dedup`]); a bounded queue and one worker, so that a slow or broken channel
//! never holds up the life cycle; each webhook paced at the rate its service accepts
//! ([`Pacer`]); each send retried with back-off; the outcome of each channel counted and its
//! last error kept for `/status`.

pub mod channels;
pub mod dedup;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use crate::aws::Aws;
use crate::lifecycle::events::Exception;
pub use channels::{Channel, Targets};

/// One exception on its way to people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub label: String,
    pub environment: String,
    pub exception: Exception,
    /// How many of the same label and account were held back since the last one.
    pub repeats: u64,
    /// Unique per notification (the idempotency token of its incident).
    pub id: String,
    /// What is known of the account, for the incident's tags: e-mail, organizational
    /// unit, cost center.
    pub account_tags: Vec<(String, String)>,
}

/// Sends per channel at most: the webhooks' own limits (Slack: one message a second per
/// webhook; Teams Workflows: a few a second), so that a storm of different exceptions is
/// delivered late rather than refused. SNS and Incident Manager go through the door to AWS,
/// which paces them at their quotas.
#[derive(Debug)]
pub struct Pacer {
    teams: crate::aws::limits::TokenBucket,
    slack: crate::aws::limits::TokenBucket,
}

impl Default for Pacer {
    fn default() -> Self {
        use crate::aws::limits::{Quota, TokenBucket};
        Pacer {
            teams: TokenBucket::new(Quota::new(2.0, 4.0)),
            slack: TokenBucket::new(Quota::new(1.0, 1.0)),
        }
    }
}

impl Pacer {
    /// Waits until `channel` may be sent to.
    pub async fn wait(&self, channel: Channel) {
        match channel {
            Channel::Teams => self.teams.take().await,
            Channel::Slack => self.slack.take().await,
            Channel::Sns | Channel::Incidents => {}
        }
    }
}

/// How many notifications wait at most; past it, new ones are dropped and counted.
const QUEUE: usize = 1_000;
const ATTEMPTS: u32 = 3;

type Labels = Vec<(String, String)>;

/// What the notifier did, for `/metrics` and `/status`.
#[derive(Debug, Default)]
pub struct NotifyCounters {
    /// Per channel and outcome (`sent`, `failed`).
    pub sends: Family<Labels, Counter>,
    /// Held back as repeats within the window.
    pub held_back: Counter,
    /// Dropped because the queue was full.
    pub dropped: Counter,
    /// The last error of each channel, cleared by its next success.
    pub last_errors: Mutex<BTreeMap<String, String>>,
}

pub struct Notifier {
    queue: tokio::sync::mpsc::Sender<(Notification, Targets)>,
    dedup: Mutex<dedup::Dedup>,
    pub counters: Arc<NotifyCounters>,
    /// When this notifier started (seconds) and how many it made: unique ids across restarts.
    started: u64,
    sequence: std::sync::atomic::AtomicU64,
}

impl Notifier {
    /// Starts the worker on the current runtime; it ends when the notifier is dropped.
    pub fn start(aws: Aws, window: Duration) -> Arc<Notifier> {
        let (queue, mut receiver) = tokio::sync::mpsc::channel(QUEUE);
        let counters = Arc::new(NotifyCounters::default());
        let worker_counters = counters.clone();
        tokio::spawn(async move {
            let http = crate::outbound::client();
            let pacer = Pacer::default();
            while let Some((notification, targets)) = receiver.recv().await {
                deliver(
                    &aws,
                    &http,
                    &pacer,
                    &notification,
                    &targets,
                    &worker_counters,
                )
                .await;
            }
        });
        Arc::new(Notifier {
            queue,
            dedup: Mutex::new(dedup::Dedup::new(window)),
            counters,
            started: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            sequence: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Queues `exception` for every channel of `targets`, unless the same label and account
    /// went out within the window. Never waits.
    pub fn notify(
        &self,
        label: &str,
        environment: &str,
        exception: &Exception,
        account_tags: Vec<(String, String)>,
        targets: Targets,
    ) {
        if targets.channels().is_empty() {
            return;
        }
        let admitted = self.dedup.lock().unwrap_or_else(|p| p.into_inner()).admit(
            label,
            &exception.account,
            tokio::time::Instant::now(),
        );
        let Some(repeats) = admitted else {
            self.counters.held_back.inc();
            return;
        };
        let sequence = self
            .sequence
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let notification = Notification {
            label: label.to_string(),
            environment: environment.to_string(),
            exception: exception.clone(),
            repeats,
            id: format!("spa-{}-{}-{sequence}", self.started, exception.account),
            account_tags,
        };
        if self.queue.try_send((notification, targets)).is_err() {
            self.counters.dropped.inc();
            tracing::warn!(label, "notification dropped: the queue is full");
        }
    }
}

/// Sends one notification to each channel, each retried with back-off; returns the outcome
/// per channel.
pub async fn deliver(
    aws: &Aws,
    http: &reqwest::Client,
    pacer: &Pacer,
    notification: &Notification,
    targets: &Targets,
    counters: &NotifyCounters,
) -> BTreeMap<Channel, Result<(), String>> {
    let mut outcomes = BTreeMap::new();
    let related: Vec<crate::aws::RelatedLink> = if targets.address(Channel::Incidents).is_some() {
        channels::costs_link(aws, targets.costs.as_ref(), notification)
            .await
            .into_iter()
            .collect()
    } else {
        Vec::new()
    };
    for channel in targets.channels() {
        let address = targets.address(channel).unwrap_or_default();
        let mut result = Err(String::new());
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_secs(1 << (attempt - 1))).await;
            }
            pacer.wait(channel).await;
            result = channels::send(channel, address, &related, notification, aws, http).await;
            if result.is_ok() {
                break;
            }
        }
        let outcome = if result.is_ok() { "sent" } else { "failed" };
        counters
            .sends
            .get_or_create(&vec![
                ("channel".to_string(), channel.name().to_string()),
                ("outcome".to_string(), outcome.to_string()),
            ])
            .inc();
        let mut errors = counters
            .last_errors
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match &result {
            Ok(()) => {
                errors.remove(channel.name());
            }
            Err(error) => {
                tracing::warn!(
                    channel = channel.name(),
                    label = notification.label,
                    "notification failed: {error}"
                );
                errors.insert(channel.name().to_string(), error.clone());
            }
        }
        outcomes.insert(channel, result);
    }
    outcomes
}

#[cfg(test)]
mod pacing {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn webhooks_are_paced_at_their_rate_and_aws_is_left_to_the_door() {
        let pacer = Pacer::default();
        let start = tokio::time::Instant::now();
        for _ in 0..5 {
            pacer.wait(Channel::Slack).await;
        }
        // One a second: the first at once, the fifth four seconds later.
        assert_eq!(start.elapsed().as_secs(), 4);
        let start = tokio::time::Instant::now();
        for _ in 0..8 {
            pacer.wait(Channel::Teams).await;
        }
        // A burst of four, then two a second.
        assert_eq!(start.elapsed().as_secs(), 2);
        let start = tokio::time::Instant::now();
        for _ in 0..100 {
            pacer.wait(Channel::Sns).await;
        }
        assert_eq!(start.elapsed().as_secs(), 0);
    }
}
