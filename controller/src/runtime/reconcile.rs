//! One reconcile of the settings loop: read the latest commit → validate (an invalid commit
//! is not applied; the last good one stays in force) → observe (incrementally between full
//! resyncs) → plan → apply (destructive changes only when allowed) → record, then hand the
//! observed accounts to the life cycle.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// One notification per exception label and account within this window.
const NOTIFY_WINDOW: std::time::Duration = std::time::Duration::from_secs(3600);

use serde::Serialize;
use tracing::Instrument;

use super::ControllerOptions;
use super::approvals::{Outcome as ApprovalOutcome, Withheld};
use super::shared::{Pending, Shared};
use super::state::{ErrorRecord, PlanRecord, now, rfc3339};
use super::supervise::supervise;
use crate::apply::{ApplyOptions, apply_beside};
use crate::aws::{Aws, Limiters};
use crate::observe::{Observation, Reuse, observe, observe_incremental};
use crate::source::{Source, SourceOptions};

/// How a reconcile ended (the label of `spa_reconciles_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Changes were applied, every one of them.
    Applied,
    /// AWS already matched the settings.
    NoChanges,
    /// The commit is known to be invalid and nothing newer exists: not examined again.
    Unchanged,
    /// The newest commit is invalid: nothing applied; the last good commit stays in force.
    Invalid,
    /// Another replica holds the lease.
    Standby,
    /// An operator suspended the controller.
    Suspended,
    /// The repository, AWS or some writes failed: see `last_error` and the logs.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::NoChanges => "no_changes",
            Outcome::Unchanged => "unchanged",
            Outcome::Invalid => "invalid",
            Outcome::Standby => "standby",
            Outcome::Suspended => "suspended",
            Outcome::Failed => "failed",
        }
    }
}

/// The loop's own memory between reconciles.
pub(super) struct Controller {
    options: ControllerOptions,
    shared: Arc<Shared>,
    source: Option<Source>,
    aws: Option<(Option<String>, Aws)>,
    last_good: Option<(Option<String>, spa_schema::Settings)>,
    last_invalid_commit: Option<String>,
    pub(super) observation: Option<Observation>,
    last_full: Option<Instant>,
    dirty_accounts: BTreeSet<String>,
    dirty_parameters: bool,
    /// spa wrote policies or attachments since the last observation: read them again.
    dirty_policies: bool,
    dirty_dashboard: bool,
    dirty_subscriptions: bool,
    /// The fingerprint of the last observation handed to the recorder.
    recorded_observation: Option<String>,
    lifecycle: Option<Lifecycle>,
}

/// The engine and the tasks that feed and work it.
struct Lifecycle {
    engine: Arc<crate::lifecycle::engine::Engine>,
    tasks: Vec<tokio::task::AbortHandle>,
}

impl Drop for Lifecycle {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

pub(super) fn lease_name(source: &SourceOptions) -> String {
    format!("spa-controller:{}", crate::source::redact_url(&source.repo))
}

impl Controller {
    pub(super) fn new(options: ControllerOptions, shared: Arc<Shared>) -> Controller {
        Controller {
            options,
            shared,
            source: None,
            aws: None,
            last_good: None,
            last_invalid_commit: None,
            observation: None,
            last_full: None,
            dirty_accounts: BTreeSet::new(),
            dirty_parameters: false,
            dirty_policies: false,
            dirty_dashboard: false,
            dirty_subscriptions: false,
            recorded_observation: None,
            lifecycle: None,
        }
    }

    async fn aws_for(&mut self, settings: &spa_schema::Settings) -> Aws {
        let role = settings
            .automation
            .role_arn_to_manage_accounts
            .as_ref()
            .map(|r| r.value.clone());
        if let Some((current_role, aws)) = &self.aws
            && *current_role == role
        {
            return aws.clone();
        }
        let mut options = self.options.aws.clone();
        options.management_role_arn = role.clone();
        options.member_role_name = Some(
            settings
                .automation
                .role_name_to_manage_codebuild
                .value
                .clone(),
        );
        if options.region.is_none() {
            options.region = settings.automation.region.as_ref().map(|r| r.value.clone());
        }
        let overrides = self.options.rate_limits.iter().copied().collect();
        let limiters = Arc::new(Limiters::new(&overrides));
        let aws = crate::aws::sdk::connect(&options, limiters)
            .await
            .with_calls(self.shared.calls.clone());
        self.aws = Some((role, aws.clone()));
        aws
    }

    /// Hands the settings and the managed accounts just observed to the life cycle (started
    /// on the first call); after a full observation, sweeps: every account not released is
    /// looked at.
    async fn drive_lifecycle(
        &mut self,
        aws: &Aws,
        settings: &spa_schema::Settings,
        observation: &Observation,
        observed_at_ms: i64,
        full: bool,
    ) {
        let options = self.options.lifecycle.clone();
        if !options.enabled {
            return;
        }
        let settings = Arc::new(settings.clone());
        if self.lifecycle.is_none() {
            let engine_options = crate::lifecycle::engine::EngineOptions {
                poll: options.poll,
                concurrency: options.concurrency,
                event_bus: options.event_bus.clone(),
                alerts_queue_url: options.alerts_queue_url.clone(),
                exceptions_topic_arn: options.exceptions_topic_arn.clone(),
                reports_bucket: options.reports_bucket.clone(),
                ..Default::default()
            };
            let notifier = crate::notify::Notifier::start(aws.clone(), NOTIFY_WINDOW);
            self.shared
                .fleet
                .set_environment(&settings.environment_identifier.value);
            let recorder = options.records.then(|| {
                crate::records::Recorder::start(
                    aws.clone(),
                    crate::aws::system_clock(),
                    crate::records::RecordsConfig::of(&settings, &options.event_bus),
                    self.shared.fleet.clone(),
                )
            });
            self.shared
                .metrics
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .register_notify(&notifier.counters);
            let shared = self.shared.clone();
            let mut engine = crate::lifecycle::engine::Engine::new(
                aws.clone(),
                crate::aws::system_clock(),
                engine_options,
                settings.clone(),
            );
            if let Some(recorder) = recorder {
                engine = engine.with_recorder(recorder);
            }
            let engine = Arc::new(
                engine
                    .with_notifier(notifier)
                    // Only the leader, not suspended, moves accounts.
                    .with_gate(move || {
                        shared.leader.load(Ordering::SeqCst) && shared.suspended().is_none()
                    }),
            );
            let worker = engine.clone();
            let mut tasks = vec![supervise(
                "life-cycle workers",
                tokio::spawn(async move { worker.work(false).await }),
                &self.shared,
            )];
            let triggers = crate::lifecycle::triggers::spawn(
                &engine,
                options.queue_url.clone(),
                options.sweep_interval,
            );
            tasks.extend(
                triggers
                    .into_iter()
                    .map(|task| supervise("life-cycle triggers", task, &self.shared)),
            );
            if let Some(bucket) = options.reports_bucket.clone() {
                let (settings_of, shared) = (engine.clone(), self.shared.clone());
                tasks.push(supervise(
                    "reports",
                    tokio::spawn(crate::reports::schedule::run(
                        aws.clone(),
                        bucket,
                        crate::aws::system_clock(),
                        move || settings_of.config().settings.clone(),
                        move || {
                            shared.leader.load(Ordering::SeqCst) && shared.suspended().is_none()
                        },
                    )),
                    &self.shared,
                ));
            }
            if options.fleet_metrics {
                tasks.push(supervise(
                    "fleet metrics",
                    tokio::spawn(super::fleet::send(
                        self.shared.clone(),
                        engine.clone(),
                        aws.clone(),
                    )),
                    &self.shared,
                ));
            }
            tracing::info!(
                queue = options.queue_url.as_deref().unwrap_or("none"),
                alerts_queue = options.alerts_queue_url.as_deref().unwrap_or("none"),
                "life cycle started"
            );
            self.shared
                .metrics
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .register_lifecycle(&engine.counters);
            *self.shared.engine.lock().unwrap_or_else(|p| p.into_inner()) = Some(engine.clone());
            self.lifecycle = Some(Lifecycle { engine, tasks });
        }
        if let Some(lifecycle) = &self.lifecycle {
            if let Some(recorder) = lifecycle.engine.recorder() {
                recorder.set_config(crate::records::RecordsConfig::of(
                    &settings,
                    &options.event_bus,
                ));
                if self.recorded_observation.as_deref() != Some(observation.fingerprint.as_str()) {
                    recorder.record(crate::records::Fact::Accounts(crate::records::accounts_of(
                        observation,
                    )));
                    self.recorded_observation = Some(observation.fingerprint.clone());
                }
            }
            lifecycle.engine.set_settings(settings);
            lifecycle.engine.set_observed_accounts(
                crate::lifecycle::engine::accounts_from(observation),
                observed_at_ms,
                full,
            );
            // A full observation sweeps; quiet polls cost nothing.
            if full {
                let queued = crate::lifecycle::triggers::sweep_once(&lifecycle.engine);
                tracing::debug!(queued, "life cycle: accounts not released queued");
            }
        }
    }

    /// Reads the latest commit (fetching a remote); blocking Git work off the async threads.
    async fn refresh(
        &mut self,
        hard: bool,
    ) -> Result<(Option<String>, spa_schema::Loaded), String> {
        if hard {
            self.source = None;
        }
        let source = self.source.take();
        let options = self.options.source.clone();
        let settings_file = self.options.settings_file.clone();
        let (source, result) = tokio::task::spawn_blocking(move || {
            let mut source = match source {
                Some(mut source) => match source.refresh() {
                    Ok(_) => source,
                    Err(error) => return (Some(source), Err(error.to_string())),
                },
                None => match Source::open(&options) {
                    Ok(source) => source,
                    Err(error) => return (None, Err(error.to_string())),
                },
            };
            let loaded = spa_schema::load(&source, &settings_file);
            let commit = source.revision().commit.clone();
            let _ = &mut source;
            (Some(source), Ok((commit, loaded)))
        })
        .await
        .unwrap_or_else(|e| (None, Err(format!("the repository reader failed: {e}"))));
        self.source = source;
        result
    }

    pub(super) async fn reconcile(&mut self, pending: Pending) -> Outcome {
        let trigger = pending.trigger();
        let (commit, loaded) = match self.refresh(pending.hard).await {
            Ok(result) => result,
            Err(message) => {
                tracing::error!("cannot read the settings repository: {message}");
                self.shared.update(|s| {
                    s.last_error = Some(ErrorRecord {
                        at: rfc3339(now()),
                        commit: None,
                        message,
                    })
                });
                return Outcome::Failed;
            }
        };
        self.shared.update(|s| s.desired_commit = commit.clone());
        // A known-invalid commit is not examined again until a newer one exists; a resync
        // still repairs drift with the last good settings.
        if commit.is_some() && commit == self.last_invalid_commit && !pending.resync {
            return Outcome::Unchanged;
        }
        let span = tracing::info_span!("reconcile", commit = commit.as_deref().unwrap_or("none"), trigger = %trigger);
        async move {
            match loaded.valid() {
                Some(settings) => {
                    if self.last_good.as_ref().is_none_or(|(c, _)| *c != commit) {
                        tracing::info!("new valid commit");
                    }
                    self.last_good = Some((commit.clone(), settings.clone()));
                    self.last_invalid_commit = None;
                }
                None => {
                    if self.last_invalid_commit != commit {
                        tracing::error!(errors = loaded.error_count(), "invalid settings: nothing applied; the last good commit stays in force");
                    }
                    let message = format!(
                        "invalid settings at {}: {} error(s); the last good commit stays in force\n{}",
                        commit.as_deref().unwrap_or("?"),
                        loaded.error_count(),
                        loaded.render_limited(spa_schema::diag::Style::Plain, 20)
                    );
                    self.last_invalid_commit = commit.clone();
                    self.shared.update(|s| {
                        s.last_error = Some(ErrorRecord {
                            at: rfc3339(now()),
                            commit: commit.clone(),
                            message,
                        })
                    });
                    // Drift repair goes on with the last good settings on a resync.
                    if !pending.resync || self.last_good.is_none() {
                        return Outcome::Invalid;
                    }
                }
            }
            let Some((good_commit, settings)) = self.last_good.clone() else {
                return Outcome::Invalid;
            };
            if !self.shared.leader.load(Ordering::SeqCst) {
                return Outcome::Standby;
            }
            if let Some(suspension) = self.shared.suspended() {
                tracing::info!(reason = %suspension.reason, who = %suspension.who, "suspended: nothing applied");
                return Outcome::Suspended;
            }
            let aws = self.aws_for(&settings).await;
            let observed_at_ms = crate::aws::system_clock()();
            let full = pending.resync
                || self.observation.is_none()
                || self.last_full.is_none_or(|t| t.elapsed() >= self.options.resync_interval);
            if let Some(lifecycle) = &self.lifecycle {
                self.dirty_policies |= lifecycle.engine.take_policies_written();
            }
            let observation = match (&self.observation, full) {
                (Some(previous), false) => {
                    let reuse = Reuse {
                        previous,
                        dirty_accounts: std::mem::take(&mut self.dirty_accounts),
                        parameters: std::mem::take(&mut self.dirty_parameters),
                        policies: std::mem::take(&mut self.dirty_policies),
                        dashboard: std::mem::take(&mut self.dirty_dashboard),
                        subscriptions: std::mem::take(&mut self.dirty_subscriptions),
                    };
                    observe_incremental(&aws, &settings, &reuse).await
                }
                _ => {
                    tracing::info!("full observation");
                    let observation = observe(&aws, &settings).await;
                    self.last_full = Some(Instant::now());
                    self.dirty_accounts.clear();
                    self.dirty_parameters = false;
                    self.dirty_policies = false;
                    self.dirty_dashboard = false;
                    self.dirty_subscriptions = false;
                    self.shared.update(|s| s.last_full_observation = Some(rfc3339(now())));
                    observation
                }
            };
            if !observation.complete {
                let message = format!(
                    "incomplete observation: {}",
                    observation.errors.iter().map(|e| format!("{}: {}", e.target, e.message)).collect::<Vec<_>>().join("; ")
                );
                tracing::warn!("{message}");
                // Unknown accounts are read again next time.
                self.dirty_accounts.extend(observation.errors.iter().map(|e| e.target.clone()));
                self.shared.update(|s| {
                    s.last_error = Some(ErrorRecord {
                        at: rfc3339(now()),
                        commit: good_commit.clone(),
                        message,
                    })
                });
            }
            let desired = crate::desired::desired(&settings, &observation, good_commit.as_deref());
            let full_plan = crate::plan::plan(&desired, &observation);
            // Destructive changes go through only when allowed for good, or approved for
            // this very plan.
            let withheld_fingerprint = full_plan.withheld_fingerprint();
            let approved = self.shared.approval_for(withheld_fingerprint.as_deref());
            let allow_destructive = self.options.allow_destructive || approved.is_some();
            let withheld = if allow_destructive { 0 } else { full_plan.destructive.len() };
            let plan = if withheld > 0 {
                tracing::warn!(withheld, fingerprint = withheld_fingerprint.as_deref().unwrap_or(""), "destructive changes withheld: approve them with `spa approve FINGERPRINT --reason …`, apply them with `spa apply`, or run with --allow-destructive");
                full_plan.without_destructive()
            } else {
                full_plan.clone()
            };
            self.shared.update(|s| {
                s.withheld = match (&withheld_fingerprint, withheld > 0) {
                    (Some(fingerprint), true) => {
                        let since = s
                            .withheld
                            .as_ref()
                            .filter(|w| w.fingerprint == *fingerprint)
                            .map_or_else(|| rfc3339(now()), |w| w.since.clone());
                        Some(Withheld::of(&full_plan, fingerprint.clone(), since))
                    }
                    _ => None,
                };
            });
            {
                let metrics = self.shared.metrics.lock().unwrap_or_else(|p| p.into_inner());
                metrics.set_plan(&full_plan.summary);
                metrics.set_withheld(withheld);
                if full && self.shared.status().applied_commit == good_commit {
                    metrics.set_drift(full_plan.summary.add + full_plan.summary.change + full_plan.summary.remove);
                }
            }
            // Per-state attachments follow the life cycle, which may have moved on since.
            let plan = match &self.lifecycle {
                Some(lifecycle) => plan.without_stale_states(|a| lifecycle.engine.known_state(a)),
                None => plan,
            };
            // An incomplete observation plans only what it read: apply that part.
            let mut plan = plan;
            plan.complete = true;
            let report = if plan.no_changes {
                None
            } else {
                tracing::info!(add = plan.summary.add, change = plan.summary.change, remove = plan.summary.remove, "applying");
                let options = ApplyOptions {
                    allow_destructive,
                    concurrency: 8,
                };
                let scope = crate::apply::Scope::new(&settings.environment_identifier.value, &observation);
                let moves = self.lifecycle.as_ref().map(|l| l.engine.as_ref() as &dyn crate::apply::Moves);
                match apply_beside(&aws, &plan, &scope, options, moves, &|_, _| {}).await {
                    Ok(report) => Some(report),
                    Err(refusal) => {
                        tracing::error!("{refusal}");
                        self.shared.update(|s| {
                            s.last_error = Some(ErrorRecord {
                                at: rfc3339(now()),
                                commit: good_commit.clone(),
                                message: refusal.to_string(),
                            })
                        });
                        return Outcome::Failed;
                    }
                }
            };
            // What was written is read again next time.
            self.dirty_accounts.extend(plan.accounts.iter().map(|a| a.account.clone()));
            self.dirty_parameters |= !plan.parameters.is_empty();
            self.dirty_policies |= !plan.policies.is_empty() || !plan.attachments.is_empty();
            self.dirty_dashboard |= plan.dashboard.is_some();
            self.dirty_subscriptions |= !plan.subscriptions.is_empty();
            self.observation = Some(observation.clone());
            self.drive_lifecycle(&aws, &settings, &observation, observed_at_ms, full).await;
            let failed = report.as_ref().map_or(0, |r| r.failed);
            let applied = report.as_ref().map_or(0, |r| r.succeeded);
            let skipped = report.as_ref().map_or(0, |r| r.skipped);
            if let Some(approval) = &approved {
                let (outcome, note) = if failed == 0 {
                    (ApprovalOutcome::Applied, format!("applied at {} ({applied} writes)", rfc3339(now())))
                } else {
                    (ApprovalOutcome::Failed, format!("applied at {}: {failed} of {} writes failed", rfc3339(now()), applied + failed))
                };
                tracing::warn!(fingerprint = %approval.fingerprint, reason = %approval.reason, who = %approval.who, ?outcome, "approved destructive changes applied");
                self.shared.metrics.lock().unwrap_or_else(|p| p.into_inner()).count_approval(outcome);
                self.shared.approval_used(outcome, note);
            }
            let converged = failed == 0 && observation.complete;
            self.shared.update(|s| {
                s.last_plan = Some(PlanRecord {
                    commit: good_commit.clone(),
                    summary: full_plan.summary,
                    withheld_destructive: withheld,
                    applied,
                    failed,
                    skipped,
                });
                if converged {
                    if s.applied_commit != good_commit {
                        s.applied_at = Some(rfc3339(now()));
                    }
                    s.applied_commit = good_commit.clone();
                    if commit == good_commit {
                        s.last_error = None;
                    }
                }
                s.last_good_commit = good_commit.clone();
            });
            if converged {
                let metrics = self.shared.metrics.lock().unwrap_or_else(|p| p.into_inner());
                if report.is_some() || metrics.applied_at().is_none() {
                    metrics.set_applied_at(now().as_second());
                }
            }
            match (report, failed) {
                (None, _) if converged => Outcome::NoChanges,
                (Some(_), 0) if converged => Outcome::Applied,
                _ => Outcome::Failed,
            }
        }
        .instrument(span)
        .await
    }
}
