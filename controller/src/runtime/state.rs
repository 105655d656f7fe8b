//! What the controller knows about itself, served on the admin endpoints: the status
//! document (`/status`).

use serde::{Deserialize, Serialize};

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
    /// Per-state attachments left to the next plan: the life cycle was moving the account.
    #[serde(default)]
    pub skipped: usize,
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
    /// The destructive changes withheld now, to approve by their fingerprint.
    #[serde(default)]
    pub withheld: Option<super::approvals::Withheld>,
    /// The last approval and what became of it.
    #[serde(default)]
    pub approval: Option<super::approvals::Approval>,
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
    /// The last error of each notification channel that failed (none once it works again).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty", default)]
    pub notification_errors: std::collections::BTreeMap<String, String>,
}

impl LifecycleStatus {
    pub fn of(engine: &crate::lifecycle::engine::Engine) -> LifecycleStatus {
        let c = &engine.counters;
        LifecycleStatus {
            queued: engine.queue.len(),
            reconciles: c.reconciles.get(),
            transitions: c.transitions.get(),
            builds_started: c.builds_started.get(),
            parked: c.parked.get(),
            failures: c.failures.get(),
            events: c.events.get(),
            echoes: c.echoes.get(),
            notification_errors: engine
                .notifier()
                .map(|n| {
                    n.counters
                        .last_errors
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone()
                })
                .unwrap_or_default(),
        }
    }
}
