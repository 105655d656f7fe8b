//! The long-running controller: keeps the fleet converged on the latest commit of the
//! settings repository, repairs drift, and obeys operators (resync, suspend, resume).
//!
//! One loop, level-triggered: every trigger (poll interval, file change, operator request,
//! resync interval) only says "reconcile now"; triggers that arrive while a reconcile runs
//! coalesce into one next reconcile, so a newer commit supersedes queued work. Each
//! reconcile: read the latest commit → validate (an invalid commit is not applied; the last
//! good one stays in force) → observe (incrementally between full resyncs) → plan → apply
//! (destructive changes only when allowed) → record the outcome.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tracing::Instrument;

use crate::apply::{ApplyOptions, apply};
use crate::aws::sdk::AwsOptions;
use crate::aws::{Aws, CallCounter, Family, Limiters, Quota};
use crate::observe::{Observation, Reuse, observe, observe_incremental};
use crate::source::{Source, SourceOptions};

pub mod http;
mod lease;
pub mod state;

use lease::{Lease, hold_lease};

use state::{
    ErrorRecord, Metrics, PlanRecord, ReconcileRecord, StatusDoc, Suspension, now, rfc3339,
};

/// How the controller runs.
#[derive(Debug, Clone)]
pub struct ControllerOptions {
    pub source: SourceOptions,
    pub settings_file: String,
    pub interval: Duration,
    pub resync_interval: Duration,
    pub listen: SocketAddr,
    pub allow_destructive: bool,
    pub admin_token: Option<String>,
    /// DynamoDB table of the lease; `None`: a single replica, no lease.
    pub lease_table: Option<String>,
    pub lease_duration: Duration,
    pub aws: AwsOptions,
    pub rate_limits: Vec<(Family, Quota)>,
    /// Watch the files of a local working copy (notify), besides polling.
    pub watch: bool,
    pub lifecycle: LifecycleOptions,
}

/// The account life cycle inside the controller.
#[derive(Debug, Clone)]
pub struct LifecycleOptions {
    pub enabled: bool,
    /// The SQS queue fed by the EventBridge rules; without it, builds are polled and the
    /// sweep catches what changed by hand.
    pub queue_url: Option<String>,
    pub event_bus: String,
    pub sweep_interval: Duration,
    pub poll: Duration,
    pub concurrency: usize,
}

impl Default for LifecycleOptions {
    fn default() -> Self {
        LifecycleOptions {
            enabled: true,
            queue_url: None,
            event_bus: "default".to_string(),
            sweep_interval: Duration::from_secs(900),
            poll: Duration::from_secs(30),
            concurrency: 16,
        }
    }
}

/// What operators and triggers ask for; coalesced.
#[derive(Debug, Default)]
struct Pending {
    poll: bool,
    resync: bool,
    hard: bool,
    reasons: BTreeSet<String>,
}

impl Pending {
    /// The reasons, for logs and /status.
    fn trigger(&self) -> String {
        self.reasons.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// State shared by the loop and the admin endpoints.
pub struct Shared {
    pub status: Mutex<StatusDoc>,
    pub metrics: Mutex<Metrics>,
    pub calls: Arc<CallCounter>,
    pending: Mutex<Pending>,
    wake: Notify,
    pub admin_token: Option<String>,
    /// The life cycle, once the first valid settings are known.
    pub engine: Mutex<Option<Arc<crate::lifecycle::engine::Engine>>>,
    /// Holds the lease (always, without a lease table).
    leader: AtomicBool,
    /// Woken when the lease is lost: a reconcile in flight stops at once.
    lost: Notify,
}

impl Shared {
    fn new(admin_token: Option<String>) -> Arc<Shared> {
        Arc::new(Shared {
            status: Mutex::new(StatusDoc::default()),
            metrics: Mutex::new(Metrics::default()),
            calls: Arc::new(CallCounter::default()),
            pending: Mutex::new(Pending::default()),
            wake: Notify::new(),
            admin_token,
            engine: Mutex::new(None),
            leader: AtomicBool::new(false),
            lost: Notify::new(),
        })
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
            status.lifecycle = Some(state::LifecycleStatus::of(engine));
        }
        status
    }

    fn update(&self, change: impl FnOnce(&mut StatusDoc)) {
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

    fn take_pending(&self) -> Pending {
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
    fn suspended(&self) -> Option<Suspension> {
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
}

/// The loop's own memory between reconciles.
struct Controller {
    options: ControllerOptions,
    shared: Arc<Shared>,
    source: Option<Source>,
    aws: Option<(Option<String>, Aws)>,
    last_good: Option<(Option<String>, spa_schema::Settings)>,
    last_invalid_commit: Option<String>,
    observation: Option<Observation>,
    last_full: Option<Instant>,
    dirty_accounts: BTreeSet<String>,
    dirty_parameters: bool,
    lifecycle: Option<Lifecycle>,
}

/// The engine and the tasks that feed and work it.
struct Lifecycle {
    engine: Arc<crate::lifecycle::engine::Engine>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Lifecycle {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn lease_name(source: &SourceOptions) -> String {
    format!("spa-controller:{}", crate::source::redact_url(&source.repo))
}

impl Controller {
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
                ..Default::default()
            };
            let shared = self.shared.clone();
            let engine = Arc::new(
                crate::lifecycle::engine::Engine::new(
                    aws.clone(),
                    crate::aws::system_clock(),
                    engine_options,
                    settings.clone(),
                )
                // Only the leader, not suspended, moves accounts.
                .with_gate(move || {
                    shared.leader.load(Ordering::SeqCst) && shared.suspended().is_none()
                }),
            );
            let mut tasks = Vec::new();
            let worker = engine.clone();
            tasks.push(tokio::spawn(async move { worker.work(false).await }));
            tasks.extend(crate::lifecycle::triggers::spawn(
                &engine,
                options.queue_url.clone(),
                options.sweep_interval,
            ));
            tracing::info!(
                queue = options.queue_url.as_deref().unwrap_or("none"),
                "life cycle started"
            );
            *self.shared.engine.lock().unwrap_or_else(|p| p.into_inner()) = Some(engine.clone());
            self.lifecycle = Some(Lifecycle { engine, tasks });
        }
        if let Some(lifecycle) = &self.lifecycle {
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

    async fn reconcile(&mut self, pending: Pending) -> &'static str {
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
                return "failed";
            }
        };
        self.shared.update(|s| s.desired_commit = commit.clone());
        // A known-invalid commit is not examined again until a newer one exists; a resync
        // still repairs drift with the last good settings.
        if commit.is_some() && commit == self.last_invalid_commit && !pending.resync {
            return "unchanged";
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
                        loaded.render(spa_schema::diag::Style::Plain)
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
                        return "invalid";
                    }
                }
            }
            let Some((good_commit, settings)) = self.last_good.clone() else {
                return "invalid";
            };
            if !self.shared.leader.load(Ordering::SeqCst) {
                return "standby";
            }
            if let Some(suspension) = self.shared.suspended() {
                tracing::info!(reason = %suspension.reason, who = %suspension.who, "suspended: nothing applied");
                return "suspended";
            }
            let aws = self.aws_for(&settings).await;
            let observed_at_ms = crate::aws::system_clock()();
            let full = pending.resync
                || self.observation.is_none()
                || self.last_full.is_none_or(|t| t.elapsed() >= self.options.resync_interval);
            let observation = match (&self.observation, full) {
                (Some(previous), false) => {
                    let reuse = Reuse {
                        previous,
                        dirty_accounts: std::mem::take(&mut self.dirty_accounts),
                        parameters: std::mem::take(&mut self.dirty_parameters),
                    };
                    observe_incremental(&aws, &settings, &reuse).await
                }
                _ => {
                    tracing::info!("full observation");
                    let observation = observe(&aws, &settings).await;
                    self.last_full = Some(Instant::now());
                    self.dirty_accounts.clear();
                    self.dirty_parameters = false;
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
            let withheld = if self.options.allow_destructive { 0 } else { full_plan.destructive.len() };
            let plan = if withheld > 0 {
                tracing::warn!(withheld, "destructive changes withheld: run with --allow-destructive, or apply them with `spa apply`");
                full_plan.without_destructive()
            } else {
                full_plan.clone()
            };
            {
                let mut metrics = self.shared.metrics.lock().unwrap_or_else(|p| p.into_inner());
                metrics.plan_changes = [
                    ("add", full_plan.summary.add),
                    ("change", full_plan.summary.change),
                    ("remove", full_plan.summary.remove),
                    ("destructive", full_plan.summary.destructive),
                ]
                .into();
                if full && self.shared.status().applied_commit == good_commit {
                    metrics.drift_items = full_plan.summary.add + full_plan.summary.change + full_plan.summary.remove;
                }
            }
            // An incomplete observation plans only what it read: apply that part.
            let mut plan = plan;
            plan.complete = true;
            let report = if plan.no_changes {
                None
            } else {
                tracing::info!(add = plan.summary.add, change = plan.summary.change, remove = plan.summary.remove, "applying");
                let options = ApplyOptions {
                    allow_destructive: self.options.allow_destructive,
                    concurrency: 8,
                };
                let scope = crate::apply::Scope::new(&settings.environment_identifier.value, &observation);
                match apply(&aws, &plan, &scope, options, &|_, _| {}).await {
                    Ok(report) => Some(report),
                    Err(refusal) => {
                        tracing::error!("{refusal}");
                        return "failed";
                    }
                }
            };
            // What was written is read again next time.
            self.dirty_accounts.extend(plan.accounts.iter().map(|a| a.account.clone()));
            self.dirty_parameters |= !plan.parameters.is_empty();
            self.observation = Some(observation.clone());
            self.drive_lifecycle(&aws, &settings, &observation, observed_at_ms, full).await;
            let failed = report.as_ref().map_or(0, |r| r.failed);
            let applied = report.as_ref().map_or(0, |r| r.succeeded);
            let converged = failed == 0 && observation.complete;
            self.shared.update(|s| {
                s.last_plan = Some(PlanRecord {
                    commit: good_commit.clone(),
                    summary: full_plan.summary,
                    withheld_destructive: withheld,
                    applied,
                    failed,
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
                let mut metrics = self.shared.metrics.lock().unwrap_or_else(|p| p.into_inner());
                if report.is_some() || metrics.applied_commit_timestamp.is_none() {
                    metrics.applied_commit_timestamp = Some(now().as_second());
                }
            }
            match (report, failed) {
                (None, _) if converged => "no_changes",
                (Some(_), 0) if converged => "applied",
                _ => "failed",
            }
        }
        .instrument(span)
        .await
    }
}

/// Waits for SIGTERM or SIGINT.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// Watches a local working copy and triggers a reconcile after changes settle.
fn watch(path: &std::path::Path, shared: Arc<Shared>) -> Result<impl Drop, String> {
    use notify_debouncer_mini::{new_debouncer, notify::RecursiveMode};
    let mut debouncer = new_debouncer(
        Duration::from_millis(500),
        move |events: notify_debouncer_mini::DebounceEventResult| {
            // Inside .git only a moved branch matters: readers (spa status, git log) touch
            // the rest of it all the time.
            let relevant = |path: &std::path::Path| {
                let text = path.to_string_lossy();
                match text.find("/.git/") {
                    None => true,
                    Some(at) => {
                        let inside = &text[at + 6..];
                        inside.starts_with("refs/") || inside == "HEAD" || inside == "packed-refs"
                    }
                }
            };
            if events.is_ok_and(|e| e.iter().any(|e| relevant(&e.path))) {
                shared.trigger("file change", false, false);
            }
        },
    )
    .map_err(|e| e.to_string())?;
    debouncer
        .watcher()
        .watch(path, RecursiveMode::Recursive)
        .map_err(|e| format!("cannot watch {}: {e}", path.display()))?;
    Ok(debouncer)
}

/// Runs the controller until SIGTERM or SIGINT.
pub async fn run(options: ControllerOptions) -> Result<(), String> {
    // A repository that cannot be opened at all is a configuration mistake: say so at once
    // rather than run and report it on /status forever.
    let probe = options.source.clone();
    tokio::task::spawn_blocking(move || Source::open(&probe).map(|_| ()))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot open the settings repository: {e}"))?;
    let shared = Shared::new(options.admin_token.clone());
    let holder = format!(
        "{}-{}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "spa".to_string()),
        std::process::id()
    );
    shared.update(|s| {
        s.repository = crate::source::redact_url(&options.source.repo);
        s.branch = options
            .source
            .reference
            .clone()
            .unwrap_or_else(|| "HEAD".to_string());
        s.holder = holder.clone();
    });
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
    tracing::info!(listen = %options.listen, "admin endpoints up");
    let server = tokio::spawn(http::serve(listener, shared.clone()));
    let _watcher = if options.watch {
        Some(watch(
            std::path::Path::new(&options.source.repo),
            shared.clone(),
        )?)
    } else {
        None
    };
    let lease = match &options.lease_table {
        Some(table) => Some(Lease {
            aws: crate::aws::sdk::connect(&options.aws, Arc::new(Limiters::default()))
                .await
                .with_calls(shared.calls.clone()),
            table: table.clone(),
        }),
        None => None,
    };
    let mut controller = Controller {
        options: options.clone(),
        shared: shared.clone(),
        source: None,
        aws: None,
        last_good: None,
        last_invalid_commit: None,
        observation: None,
        last_full: None,
        dirty_accounts: BTreeSet::new(),
        dirty_parameters: false,
        lifecycle: None,
    };
    // Tickers only add triggers; the loop does the work.
    let ticker = {
        let shared = shared.clone();
        let interval = options.interval;
        let resync = options.resync_interval;
        tokio::spawn(async move {
            let start = tokio::time::Instant::now();
            let mut poll = tokio::time::interval_at(start + interval, interval);
            let mut full = tokio::time::interval_at(start + resync, resync);
            loop {
                tokio::select! {
                    _ = poll.tick() => shared.trigger("poll", false, false),
                    _ = full.tick() => shared.trigger("resync interval", true, false),
                }
            }
        })
    };
    // The lease is renewed on its own clock, so that a long apply keeps it; losing it stops
    // the reconcile in flight, gaining it starts one.
    let renew = match lease.clone() {
        None => {
            shared.leader.store(true, Ordering::SeqCst);
            shared.update(|s| s.leader = true);
            None
        }
        Some(lease) => Some(tokio::spawn(hold_lease(
            lease,
            lease_name(&options.source),
            holder.clone(),
            options.lease_duration,
            shared.clone(),
        ))),
    };
    shared.trigger("start", true, false);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = shared.wake.notified() => {}
        }
        let pending = shared.take_pending();
        if !pending.poll {
            continue;
        }
        let started = Instant::now();
        let trigger = pending.trigger();
        // A signal during a reconcile drops it: every write is idempotent and the next
        // start plans exactly what is left.
        let outcome = tokio::select! {
            _ = &mut shutdown => { tracing::info!("shutting down during a reconcile"); break }
            _ = shared.lost.notified() => { tracing::warn!("lease lost: reconcile stopped"); "standby" }
            outcome = controller.reconcile(pending) => outcome,
        };
        let seconds = started.elapsed().as_secs_f64();
        shared
            .metrics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .observe_reconcile(outcome, seconds);
        let observation = controller
            .observation
            .as_ref()
            .map(|o| o.fingerprint.clone());
        shared.update(|s| {
            s.ready = true;
            s.last_reconcile = Some(ReconcileRecord {
                at: rfc3339(now()),
                trigger,
                outcome: outcome.to_string(),
                commit: s.desired_commit.clone(),
                duration_seconds: (seconds * 1000.0).round() / 1000.0,
                observation,
            });
        });
        tracing::info!(outcome, seconds, "reconcile done");
    }
    tracing::info!("shutting down");
    ticker.abort();
    if let Some(renew) = renew {
        renew.abort();
    }
    if let (Some(lease), true) = (&lease, shared.leader.load(Ordering::SeqCst)) {
        let _ = lease
            .aws
            .release_lease(&lease.table, &lease_name(&options.source), &holder)
            .await;
        tracing::info!("lease released");
    }
    server.abort();
    Ok(())
}
