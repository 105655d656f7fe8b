//! The controller's metrics, in one Prometheus registry (prometheus-client): its own
//! counters and gauges, the life cycle's counters, and every AWS call through the door
//! (read from the door's own counter at each scrape).

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::Outcome;
use crate::aws::CallCounter;
use crate::lifecycle::engine::Counters;
use crate::plan::Summary;

type Labels = [(&'static str, &'static str); 1];

/// Reconcile durations, seconds.
const BUCKETS: [f64; 10] = [0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0];

pub struct Metrics {
    registry: Registry,
    reconciles: Family<Labels, Counter>,
    reconcile_seconds: Histogram,
    plan_changes: Family<Labels, Gauge>,
    drift_items: Gauge,
    applied_commit_timestamp: Gauge,
    suspended: Gauge,
    leader: Gauge,
    lifecycle_queued: Gauge,
    withheld_destructive: Gauge,
    approvals: Family<Labels, Counter>,
    lifecycle_registered: bool,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// The door's counts of AWS calls, read at each scrape.
#[derive(Debug)]
struct AwsCalls(Arc<CallCounter>);

impl Collector for AwsCalls {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snapshot = self.0.snapshot();
        let mut calls = encoder.encode_descriptor(
            "spa_aws_calls",
            "AWS calls by API and outcome (ok, or the kind of error).",
            None,
            MetricType::Counter,
        )?;
        let mut throttles = 0;
        for ((api, outcome), count) in &snapshot {
            if *outcome == "throttled" {
                throttles += count;
            }
            let labels = [("api", *api), ("outcome", *outcome)];
            ConstCounter::new(*count).encode(calls.encode_family(&labels)?)?;
        }
        let throttled = encoder.encode_descriptor(
            "spa_aws_throttles",
            "AWS calls throttled.",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(throttles).encode(throttled)
    }
}

impl Metrics {
    pub fn new(calls: Arc<CallCounter>) -> Metrics {
        let mut registry = Registry::default();
        let reconciles = Family::<Labels, Counter>::default();
        registry.register(
            "spa_reconciles",
            "Reconciles by outcome.",
            reconciles.clone(),
        );
        let reconcile_seconds = Histogram::new(BUCKETS);
        registry.register(
            "spa_reconcile_duration_seconds",
            "Duration of reconciles.",
            reconcile_seconds.clone(),
        );
        let plan_changes = Family::<Labels, Gauge>::default();
        registry.register(
            "spa_plan_changes",
            "Changes in the last plan, by action.",
            plan_changes.clone(),
        );
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let gauge = Gauge::default();
            registry.register(name, help, gauge.clone());
            gauge
        };
        let drift_items = gauge(
            &mut registry,
            "spa_drift_items",
            "Changes found by the last resync of an unchanged commit.",
        );
        let applied_commit_timestamp = gauge(
            &mut registry,
            "spa_applied_commit_timestamp_seconds",
            "When the applied commit was applied.",
        );
        let suspended = gauge(
            &mut registry,
            "spa_suspended",
            "Whether reconciliation is suspended.",
        );
        let leader = gauge(
            &mut registry,
            "spa_leader",
            "Whether this replica holds the lease.",
        );
        let lifecycle_queued = gauge(
            &mut registry,
            "spa_lifecycle_queued",
            "Accounts queued or being reconciled.",
        );
        let withheld_destructive = gauge(
            &mut registry,
            "spa_withheld_destructive",
            "Destructive changes the controller withholds now, waiting for an approval.",
        );
        let approvals = Family::<Labels, Counter>::default();
        registry.register(
            "spa_approvals",
            "Approved plans applied, by outcome (applied, failed).",
            approvals.clone(),
        );
        registry.register_collector(Box::new(AwsCalls(calls)));
        Metrics {
            registry,
            reconciles,
            reconcile_seconds,
            plan_changes,
            drift_items,
            applied_commit_timestamp,
            suspended,
            leader,
            lifecycle_queued,
            withheld_destructive,
            approvals,
            lifecycle_registered: false,
        }
    }

    /// The life cycle's counters join the registry once the engine exists.
    pub fn register_lifecycle(&mut self, counters: &Counters) {
        if self.lifecycle_registered {
            return;
        }
        self.lifecycle_registered = true;
        for (name, help, counter) in [
            (
                "spa_lifecycle_reconciles",
                "Account reconciles of the life cycle.",
                &counters.reconciles,
            ),
            (
                "spa_lifecycle_transitions",
                "State transitions written.",
                &counters.transitions,
            ),
            (
                "spa_lifecycle_builds_started",
                "Preparation and purge builds started.",
                &counters.builds_started,
            ),
            ("spa_lifecycle_parked", "Accounts parked.", &counters.parked),
            (
                "spa_lifecycle_failures",
                "Failed account reconciles (retried).",
                &counters.failures,
            ),
            (
                "spa_lifecycle_events",
                "Events put on the bus.",
                &counters.events,
            ),
            (
                "spa_lifecycle_wakes",
                "Queue messages that woke an account.",
                &counters.wakes,
            ),
            (
                "spa_alerts",
                "Messages of the alerts queue raised as exceptions.",
                &counters.alerts,
            ),
            (
                "spa_alerts_ignored",
                "Messages of the alerts queue dropped (unmanaged accounts, unknown types).",
                &counters.alerts_ignored,
            ),
            (
                "spa_lifecycle_echoes",
                "Queue messages recognised as echoes of spa's own writes.",
                &counters.echoes,
            ),
        ] {
            self.registry.register(name, help, counter.clone());
        }
    }

    /// The notifier's counters join the registry once it exists.
    pub fn register_notify(&mut self, counters: &crate::notify::NotifyCounters) {
        self.registry.register(
            "spa_notifications",
            "Exception notifications per channel and outcome (sent, failed).",
            counters.sends.clone(),
        );
        self.registry.register(
            "spa_notifications_held_back",
            "Exception notifications held back as repeats within the window.",
            counters.held_back.clone(),
        );
        self.registry.register(
            "spa_notifications_dropped",
            "Exception notifications dropped because the queue was full.",
            counters.dropped.clone(),
        );
    }

    pub fn observe_reconcile(&self, outcome: Outcome, seconds: f64) {
        self.reconciles
            .get_or_create(&[("outcome", outcome.as_str())])
            .inc();
        self.reconcile_seconds.observe(seconds);
    }

    pub fn set_plan(&self, summary: &Summary) {
        for (action, count) in [
            ("add", summary.add),
            ("change", summary.change),
            ("remove", summary.remove),
            ("destructive", summary.destructive),
        ] {
            self.plan_changes
                .get_or_create(&[("action", action)])
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
    }

    pub fn set_withheld(&self, items: usize) {
        self.withheld_destructive
            .set(i64::try_from(items).unwrap_or(i64::MAX));
    }

    pub fn count_approval(&self, outcome: super::approvals::Outcome) {
        let label = match outcome {
            super::approvals::Outcome::Applied => "applied",
            super::approvals::Outcome::Failed => "failed",
            super::approvals::Outcome::Pending => "pending",
            super::approvals::Outcome::Expired => "expired",
        };
        self.approvals.get_or_create(&[("outcome", label)]).inc();
    }

    pub fn set_drift(&self, items: usize) {
        self.drift_items
            .set(i64::try_from(items).unwrap_or(i64::MAX));
    }

    pub fn set_applied_at(&self, seconds: i64) {
        self.applied_commit_timestamp.set(seconds);
    }

    pub fn applied_at(&self) -> Option<i64> {
        Some(self.applied_commit_timestamp.get()).filter(|s| *s != 0)
    }

    /// The Prometheus text of every metric, with the state that is read at scrape time.
    pub fn render(&self, suspended: bool, leader: bool, queued: Option<usize>) -> String {
        self.suspended.set(i64::from(suspended));
        self.leader.set(i64::from(leader));
        self.lifecycle_queued
            .set(queued.map_or(0, |q| i64::try_from(q).unwrap_or(i64::MAX)));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_registry_exposes_the_controller_the_life_cycle_and_aws() {
        let calls = Arc::new(CallCounter::default());
        calls.record("ListTagsForResource", "ok");
        calls.record("ListTagsForResource", "ok");
        calls.record("TagResource", "throttled");
        let mut metrics = Metrics::new(calls);
        let counters = Counters::default();
        counters.transitions.inc_by(3);
        metrics.register_lifecycle(&counters);
        metrics.register_lifecycle(&counters);
        metrics.observe_reconcile(Outcome::Applied, 0.3);
        metrics.observe_reconcile(Outcome::NoChanges, 0.05);
        let text = metrics.render(true, false, Some(7));
        for line in [
            "spa_reconciles_total{outcome=\"applied\"} 1",
            "spa_reconcile_duration_seconds_count 2",
            "spa_reconcile_duration_seconds_bucket{le=\"0.1\"} 1",
            "spa_aws_calls_total{api=\"ListTagsForResource\",outcome=\"ok\"} 2",
            "spa_aws_throttles_total 1",
            "spa_lifecycle_transitions_total 3",
            "spa_lifecycle_queued 7",
            "spa_suspended 1",
            "spa_leader 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from:\n{text}"
            );
        }
    }
}
