//! The long-running controller: keeps the fleet converged on the latest commit of the
//! settings repository, repairs drift, and obeys operators (resync, suspend, resume).
//!
//! One loop, level-triggered: every trigger (poll interval, file change, operator request,
//! resync interval) only says "reconcile now"; triggers that arrive while a reconcile runs
//! coalesce into one next reconcile, so a newer commit supersedes queued work. Each
//! reconcile: read the latest commit → validate (an invalid commit is not applied; the last
//! good one stays in force) → observe (incrementally between full resyncs) → plan → apply
//! (destructive changes only when allowed) → record the outcome.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::aws::sdk::AwsOptions;
use crate::aws::{Family, Limiters, Quota};
use crate::source::{Source, SourceOptions};

pub mod approvals;
mod fleet;
pub mod http;
mod lease;
pub mod metrics;
mod reconcile;
mod shared;
pub mod state;
mod supervise;
mod watch;

use lease::{Lease, hold_lease};
pub use reconcile::Outcome;
use reconcile::{Controller, lease_name};
pub use shared::Shared;
use state::{ReconcileRecord, now, rfc3339};
use supervise::supervise;

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
    /// The `<env>Alerts` queue: budget alerts become exceptions, and each account's alert
    /// topic is subscribed to it.
    pub alerts_queue_url: Option<String>,
    /// The SNS topic `<env>Exceptions`.
    pub exceptions_topic_arn: Option<String>,
    pub event_bus: String,
    pub sweep_interval: Duration,
    pub poll: Duration,
    pub concurrency: usize,
    /// Keep the records (shadows, activities, transactions) in the installation's tables.
    pub records: bool,
    /// Send the fleet's metrics to CloudWatch.
    pub fleet_metrics: bool,
    /// The bucket of the reports; `None`: no scheduled report.
    pub reports_bucket: Option<String>,
}

impl Default for LifecycleOptions {
    fn default() -> Self {
        LifecycleOptions {
            enabled: true,
            queue_url: None,
            alerts_queue_url: None,
            exceptions_topic_arn: None,
            event_bus: "default".to_string(),
            sweep_interval: Duration::from_secs(900),
            poll: Duration::from_secs(30),
            concurrency: 16,
            records: true,
            fleet_metrics: true,
            reports_bucket: None,
        }
    }
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
    let server = supervise(
        "admin endpoints",
        tokio::spawn(http::serve(listener, shared.clone())),
        &shared,
    );
    let _watcher = if options.watch {
        Some(watch::watch(
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
    let mut controller = Controller::new(options.clone(), shared.clone());
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
    let ticker = supervise("ticker", ticker, &shared);
    // The lease is renewed on its own clock, so that a long apply keeps it; losing it stops
    // the reconcile in flight, gaining it starts one.
    let renew = match lease.clone() {
        None => {
            shared.leader.store(true, Ordering::SeqCst);
            shared.update(|s| s.leader = true);
            None
        }
        Some(lease) => Some(supervise(
            "lease renewal",
            tokio::spawn(hold_lease(
                lease,
                lease_name(&options.source),
                holder.clone(),
                options.lease_duration,
                shared.clone(),
            )),
            &shared,
        )),
    };
    shared.trigger("start", true, false);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let died = shared.died();
    tokio::pin!(died);
    let mut failure = None;
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = &mut died => { failure = shared.dead(); break }
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
            _ = &mut died => { failure = shared.dead(); break }
            _ = shared.lost.notified() => { tracing::warn!("lease lost: reconcile stopped"); Outcome::Standby }
            outcome = controller.reconcile(pending) => outcome,
        };
        let seconds = started.elapsed().as_secs_f64();
        shared
            .metrics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .observe_reconcile(outcome, seconds);
        shared
            .fleet
            .count("Reconciles", ("Outcome", outcome.as_str()), 1.0);
        let observation = controller
            .observation
            .as_ref()
            .map(|o| o.fingerprint.clone());
        shared.update(|s| {
            s.ready = true;
            s.last_reconcile = Some(ReconcileRecord {
                at: rfc3339(now()),
                trigger,
                outcome: outcome.as_str().to_string(),
                commit: s.desired_commit.clone(),
                duration_seconds: (seconds * 1000.0).round() / 1000.0,
                observation,
            });
        });
        tracing::info!(outcome = outcome.as_str(), seconds, "reconcile done");
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
    match failure {
        Some(why) => Err(format!("{why}; the controller stopped")),
        None => Ok(()),
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
