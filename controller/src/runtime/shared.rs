//! State shared by the controller's loop, its tasks and the admin endpoints: the status
//! document, the metrics, the triggers waiting (coalesced) and the operators' suspension.

use std::collections::BTreeSet;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::approvals::{APPROVAL_LIFETIME, Approval, Outcome, names};
use super::metrics::Metrics;
use super::state::{StatusDoc, Suspension, now, rfc3339};
use crate::aws::CallCounter;

/// What operators and triggers ask for; coalesced.
#[derive(Debug, Default)]
pub(super) struct Pending {
    pub(super) poll: bool,
    pub(super) resync: bool,
    pub(super) hard: bool,
    pub(super) reasons: BTreeSet<String>,
}

impl Pending {
    /// The reasons, for logs and /status.
    pub(super) fn trigger(&self) -> String {
        self.reasons.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// State shared by the loop and the admin endpoints.
pub struct Shared {
    pub status: Mutex<StatusDoc>,
    pub metrics: Mutex<Metrics>,
    pub calls: Arc<CallCounter>,
    pending: Mutex<Pending>,
    pub(super) wake: Notify,
    pub admin_token: Option<String>,
    /// The life cycle, once the first valid settings are known.
    pub engine: Mutex<Option<Arc<crate::lifecycle::engine::Engine>>>,
    /// Holds the lease (always, without a lease table).
    pub(super) leader: AtomicBool,
    /// Woken when the lease is lost: a reconcile in flight stops at once.
    pub(super) lost: Notify,
    /// The first background task that died, and why: the controller is then unhealthy.
    dead: Mutex<Option<String>>,
    death: Notify,
    /// The fleet's metrics for CloudWatch (runtime/fleet.rs sends them).
    pub fleet: Arc<crate::monitoring::FleetMetrics>,
}

impl Shared {
    pub(super) fn new(admin_token: Option<String>) -> Arc<Shared> {
        let calls = Arc::new(CallCounter::default());
        Arc::new(Shared {
            status: Mutex::new(StatusDoc::default()),
            metrics: Mutex::new(Metrics::new(calls.clone())),
            calls,
            pending: Mutex::new(Pending::default()),
            wake: Notify::new(),
            admin_token,
            engine: Mutex::new(None),
            leader: AtomicBool::new(false),
            lost: Notify::new(),
            dead: Mutex::new(None),
            death: Notify::new(),
            fleet: Arc::default(),
        })
    }

    /// A background task ended or panicked: the controller cannot do its job any more.
    pub(super) fn task_died(&self, name: &str, why: &str) {
        let message = format!("background task `{name}` {why}");
        tracing::error!("{message}: stopping");
        self.dead
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(message);
        self.death.notify_one();
    }

    /// Why the controller is unhealthy, if it is.
    pub fn dead(&self) -> Option<String> {
        self.dead.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Resolves when a background task dies.
    pub(super) fn died(&self) -> impl Future<Output = ()> + '_ {
        self.death.notified()
    }

    pub fn status(&self) -> StatusDoc {
        let mut status = self
            .status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        status.queue = pending.reasons.iter().cloned().collect();
        if let Some(engine) = self
            .engine
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            status.lifecycle = Some(super::state::LifecycleStatus::of(engine));
        }
        status
    }

    pub(super) fn update(&self, change: impl FnOnce(&mut StatusDoc)) {
        change(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Asks for a reconcile; `resync` forces a full observation, `hard` also drops the
    /// cached repository state.
    pub fn trigger(&self, reason: &str, resync: bool, hard: bool) {
        {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.poll = true;
            pending.resync |= resync;
            pending.hard |= hard;
            pending.reasons.insert(reason.to_string());
        }
        self.wake.notify_one();
    }

    pub(super) fn take_pending(&self) -> Pending {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn suspend(&self, reason: String, who: String, until: Option<jiff::Timestamp>) {
        self.update(|s| {
            s.suspension = Some(Suspension {
                reason,
                who,
                since: rfc3339(now()),
                until: until.map(rfc3339),
                until_at: until,
            })
        });
    }

    pub fn resume(&self) -> bool {
        let mut resumed = false;
        self.update(|s| resumed = s.suspension.take().is_some());
        if resumed {
            self.trigger("resume", false, false);
        }
        resumed
    }

    /// Ends a suspension whose time has come.
    pub(super) fn suspended(&self) -> Option<Suspension> {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        if status
            .suspension
            .as_ref()
            .and_then(|s| s.until_at)
            .is_some_and(|until| until <= now())
        {
            tracing::info!("suspension expired: resuming");
            status.suspension = None;
        }
        status.suspension.clone()
    }

    /// Records an operator's approval of the withheld plan `given` (its fingerprint, or at
    /// least its first 12 hex digits) and asks for a reconcile. Refused, with why, when
    /// nothing is withheld or `given` names another plan.
    pub fn approve(
        &self,
        given: &str,
        reason: String,
        who: String,
        token: String,
        resync: bool,
    ) -> Result<Approval, String> {
        let approval = {
            let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
            let Some(withheld) = &status.withheld else {
                return Err(
                    "nothing is withheld now: there is no destructive change to approve"
                        .to_string(),
                );
            };
            if !names(given, &withheld.fingerprint) {
                return Err(format!(
                    "the withheld plan is {}, not {given}: review it (`spa controller status`) and approve that fingerprint",
                    withheld.fingerprint
                ));
            }
            let at = now();
            let approval = Approval {
                fingerprint: withheld.fingerprint.clone(),
                reason,
                who,
                token,
                at: rfc3339(at),
                outcome: Outcome::Pending,
                note: Some(
                    "applied at the next reconcile if its plan is still this one".to_string(),
                ),
                at_time: Some(at),
            };
            status.approval = Some(approval.clone());
            approval
        };
        tracing::warn!(
            fingerprint = %approval.fingerprint,
            reason = %approval.reason,
            who = %approval.who,
            token = %approval.token,
            "destructive changes approved"
        );
        self.trigger("operator approval", resync, false);
        Ok(approval)
    }

    /// The pending approval of the plan whose withheld part is `fingerprint`, if there is
    /// one. An approval past its lifetime expires; one of another plan waits, saying so.
    pub(super) fn approval_for(&self, fingerprint: Option<&str>) -> Option<Approval> {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        let approval = status
            .approval
            .as_mut()
            .filter(|a| a.outcome == Outcome::Pending)?;
        let at = approval.at_time.unwrap_or_else(now);
        if now().duration_since(at) > APPROVAL_LIFETIME {
            approval.outcome = Outcome::Expired;
            approval.note = Some("no plan with this fingerprint came within an hour".to_string());
            tracing::warn!(fingerprint = %approval.fingerprint, "approval expired");
            return None;
        }
        match fingerprint {
            Some(fingerprint) if fingerprint == approval.fingerprint => Some(approval.clone()),
            Some(other) => {
                approval.note = Some(format!(
                    "waiting: the plan computed at {} withholds other changes ({other})",
                    rfc3339(now())
                ));
                None
            }
            None => {
                approval.note = Some(format!(
                    "waiting: the plan computed at {} has no destructive change",
                    rfc3339(now())
                ));
                None
            }
        }
    }

    /// What became of the approval just used.
    pub(super) fn approval_used(&self, outcome: Outcome, note: String) {
        self.update(|s| {
            if let Some(approval) = s.approval.as_mut() {
                approval.outcome = outcome;
                approval.note = Some(note);
            }
        });
    }
}
