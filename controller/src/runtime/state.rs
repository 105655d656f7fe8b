//! What the controller knows about itself, served on the admin endpoints: the status
//! document (`/status`) and the metrics (`/metrics`, Prometheus text format).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::aws::CallCounter;
use crate::plan::Summary;

pub use crate::time::{now, rfc3339};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suspension {
    pub reason: String,
    pub who: String,
    pub since: String,
    /// Resumes by itself then (UTC), if set.
    pub until: Option<String>,
    #[serde(skip)]
    pub until_at: Option<jiff::Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReconcileRecord {
    pub at: String,
    pub trigger: String,
    pub outcome: String,
    pub commit: Option<String>,
    pub duration_seconds: f64,
    pub observation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorRecord {
    pub at: String,
    pub commit: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRecord {
    pub commit: Option<String>,
    pub summary: Summary,
    /// Destructive changes left out because they are not allowed.
    pub withheld_destructive: usize,
    pub applied: usize,
    pub failed: usize,
}

/// The `/status` document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusDoc {
    pub repository: String,
    pub branch: String,
    pub holder: String,
    pub leader: bool,
    /// The newest commit of the branch.
    pub desired_commit: Option<String>,
    /// The last commit whose plan was applied in full.
    pub applied_commit: Option<String>,
    pub applied_at: Option<String>,
    /// The last valid commit (in force when newer ones are invalid).
    pub last_good_commit: Option<String>,
    pub last_reconcile: Option<ReconcileRecord>,
    pub last_plan: Option<PlanRecord>,
    pub last_error: Option<ErrorRecord>,
    pub suspension: Option<Suspension>,
    /// Work waiting: triggers not yet handled.
    pub queue: Vec<String>,
    pub last_full_observation: Option<String>,
    pub ready: bool,
    /// The account life cycle: counters and accounts queued.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lifecycle: Option<LifecycleStatus>,
}

/// What the life cycle did since the controller started.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LifecycleStatus {
    pub queued: usize,
    pub reconciles: u64,
    pub transitions: u64,
    pub builds_started: u64,
    pub parked: u64,
    pub failures: u64,
    pub events: u64,
    pub echoes: u64,
}

impl LifecycleStatus {
    pub fn of(engine: &crate::lifecycle::engine::Engine) -> LifecycleStatus {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &engine.counters;
        LifecycleStatus {
            queued: engine.queue.len(),
            reconciles: c.reconciles.load(Relaxed),
            transitions: c.transitions.load(Relaxed),
            builds_started: c.builds_started.load(Relaxed),
            parked: c.parked.load(Relaxed),
            failures: c.failures.load(Relaxed),
            events: c.events.load(Relaxed),
            echoes: c.echoes.load(Relaxed),
        }
    }

    /// Prometheus lines.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write as _;
        for (name, help, value) in [
            (
                "spa_lifecycle_reconciles_total",
                "Account reconciles of the life cycle.",
                self.reconciles,
            ),
            (
                "spa_lifecycle_transitions_total",
                "State transitions written.",
                self.transitions,
            ),
            (
                "spa_lifecycle_builds_started_total",
                "Preparation and purge builds started.",
                self.builds_started,
            ),
            (
                "spa_lifecycle_parked_total",
                "Accounts parked after repeated failures.",
                self.parked,
            ),
            (
                "spa_lifecycle_failures_total",
                "Failed account reconciles (retried).",
                self.failures,
            ),
            (
                "spa_lifecycle_events_total",
                "Events put on the bus.",
                self.events,
            ),
            (
                "spa_lifecycle_echoes_total",
                "Queue messages recognised as echoes of our own writes.",
                self.echoes,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP spa_lifecycle_queued Accounts queued or being reconciled.\n# TYPE spa_lifecycle_queued gauge\nspa_lifecycle_queued {}",
            self.queued
        );
    }
}

/// Counters and gauges, exposed in the Prometheus text format.
#[derive(Debug, Default)]
pub struct Metrics {
    pub reconciles: BTreeMap<String, u64>,
    /// Bucket upper bounds (seconds) and counts, plus sum and count.
    pub durations: Vec<(f64, u64)>,
    pub duration_sum: f64,
    pub duration_count: u64,
    pub plan_changes: BTreeMap<&'static str, usize>,
    pub drift_items: usize,
    pub applied_commit_timestamp: Option<i64>,
}

const BUCKETS: [f64; 10] = [0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0];

impl Metrics {
    pub fn observe_reconcile(&mut self, outcome: &str, seconds: f64) {
        *self.reconciles.entry(outcome.to_string()).or_default() += 1;
        if self.durations.is_empty() {
            self.durations = BUCKETS.iter().map(|b| (*b, 0)).collect();
        }
        for (bound, count) in &mut self.durations {
            if seconds <= *bound {
                *count += 1;
            }
        }
        self.duration_sum += seconds;
        self.duration_count += 1;
    }

    pub fn render(&self, calls: &CallCounter, status: &StatusDoc) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP spa_reconciles_total Reconciles by outcome.\n# TYPE spa_reconciles_total counter"
        );
        for (outcome, count) in &self.reconciles {
            let _ = writeln!(out, "spa_reconciles_total{{outcome=\"{outcome}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "# HELP spa_reconcile_duration_seconds Duration of reconciles.\n# TYPE spa_reconcile_duration_seconds histogram"
        );
        for (bound, count) in &self.durations {
            let _ = writeln!(
                out,
                "spa_reconcile_duration_seconds_bucket{{le=\"{bound}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "spa_reconcile_duration_seconds_bucket{{le=\"+Inf\"}} {}",
            self.duration_count
        );
        let _ = writeln!(
            out,
            "spa_reconcile_duration_seconds_sum {}",
            self.duration_sum
        );
        let _ = writeln!(
            out,
            "spa_reconcile_duration_seconds_count {}",
            self.duration_count
        );
        let _ = writeln!(
            out,
            "# HELP spa_plan_changes Changes in the last plan, by action.\n# TYPE spa_plan_changes gauge"
        );
        for (action, count) in &self.plan_changes {
            let _ = writeln!(out, "spa_plan_changes{{action=\"{action}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "# HELP spa_aws_calls_total AWS calls by API and outcome.\n# TYPE spa_aws_calls_total counter"
        );
        let mut throttles = 0;
        for ((api, outcome), count) in calls.snapshot() {
            if outcome == "throttled" {
                throttles += count;
            }
            let _ = writeln!(
                out,
                "spa_aws_calls_total{{api=\"{api}\",outcome=\"{outcome}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP spa_aws_throttles_total AWS calls throttled.\n# TYPE spa_aws_throttles_total counter\nspa_aws_throttles_total {throttles}"
        );
        let _ = writeln!(
            out,
            "# HELP spa_drift_items Changes found by the last resync of an unchanged commit.\n# TYPE spa_drift_items gauge\nspa_drift_items {}",
            self.drift_items
        );
        let _ = writeln!(
            out,
            "# HELP spa_applied_commit_timestamp_seconds When the applied commit was applied.\n# TYPE spa_applied_commit_timestamp_seconds gauge\nspa_applied_commit_timestamp_seconds {}",
            self.applied_commit_timestamp.unwrap_or(0)
        );
        let _ = writeln!(
            out,
            "# HELP spa_suspended Whether reconciliation is suspended.\n# TYPE spa_suspended gauge\nspa_suspended {}",
            u8::from(status.suspension.is_some())
        );
        let _ = writeln!(
            out,
            "# HELP spa_leader Whether this replica holds the lease.\n# TYPE spa_leader gauge\nspa_leader {}",
            u8::from(status.leader)
        );
        out
    }
}
