//! The per-account reconcile of the life cycle, and the workers that drive it.
//!
//! Level-triggered: every reconcile reads the account's tags and the builds of the current
//! cycle again, asks [`machine::next`] what to do, and does it ([`step`]). Nothing is kept
//! between reconciles that the account itself does not say, except what makes a running
//! controller cheaper or safer (tags it just wrote, builds it just started, back-off
//! clocks: [`memory`]).
//!
//! The tags spa keeps on a managed account (prefix from `features.with_tag_prefix`):
//! - `<prefix>state`: the state;
//! - `<prefix>since`: when the state was entered (milliseconds since the epoch), written
//!   with the state in the same call. The builds of the current cycle are the builds of
//!   the state's project started since then, so a restarted controller finds the build it
//!   started before and starts no second one;
//! - `<prefix>parked`: why the account was parked; nothing moves until an operator clears it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use serde::Serialize;
use spa_schema::Settings;

use super::events;
use super::machine::{self, Job, State};
use super::queue::WorkQueue;
use crate::aws::{Aws, Clock};

mod builds;
mod config;
mod enrol;
mod error;
mod guardrails;
mod holds;
mod memory;
mod step;
mod tags;

use crate::time::backoff;
pub use config::Config;
pub use error::StepError;
use memory::Memory;
pub use tags::tag_value;

/// How the engine behaves, whatever the settings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How often a running build is polled when no event says it ended.
    pub poll: Duration,
    /// First back-off after a failure; doubled at each next one.
    pub backoff: Duration,
    /// Accounts reconciled at once.
    pub concurrency: usize,
    /// The EventBridge bus of the automation account (name or ARN).
    pub event_bus: String,
    /// Treat the maintenance window as due for every released account (`expire-now`).
    pub expire_now: bool,
    /// The alerts queue (URL) each account's alert topic is subscribed to, if any.
    pub alerts_queue_url: Option<String>,
    /// The SNS topic `<env>Exceptions` exceptions are published on, if any.
    pub exceptions_topic_arn: Option<String>,
    /// The reports bucket: incidents link the account's costs written there.
    pub reports_bucket: Option<String>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            poll: Duration::from_secs(30),
            backoff: Duration::from_secs(60),
            concurrency: 16,
            event_bus: "default".to_string(),
            expire_now: false,
            alerts_queue_url: None,
            exceptions_topic_arn: None,
            reports_bucket: None,
        }
    }
}

/// A managed account as the engine knows it.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub parent: Option<String>,
    pub email: String,
    /// The tags last read or written; `None` when they must be read.
    pub tags: Option<BTreeMap<String, String>>,
}

/// The managed accounts of an observation, with the tags read there.
pub fn accounts_from(observation: &crate::observe::Observation) -> BTreeMap<String, Known> {
    observation
        .accounts
        .values()
        .filter(|a| a.status == "ACTIVE")
        .map(|a| {
            (
                a.id.clone(),
                Known {
                    parent: a.parent.clone(),
                    email: a.email.clone(),
                    tags: a.tags.clone(),
                },
            )
        })
        .collect()
}

/// What happened to an account, for progress display and logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    Transition {
        account: String,
        from: Option<String>,
        to: State,
    },
    BuildStarted {
        account: String,
        job: Job,
        build: String,
        attempt: u32,
    },
    BuildEnded {
        account: String,
        job: Job,
        build: String,
        status: String,
    },
    Parked {
        account: String,
        reason: String,
    },
    Failed {
        account: String,
        error: String,
    },
}

/// What to do with an account after a reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Nothing until an event, the maintenance window or the sweep.
    Idle,
    /// A build runs: look again after this long (from the tags in memory).
    Poll(Duration),
    /// Something failed or a retry waits for its back-off: read everything again after this.
    Retry(Duration),
}

/// What the life cycle did, counted for /status and /metrics (Prometheus counters: the
/// controller registers them in its one registry).
#[derive(Debug, Default)]
pub struct Counters {
    pub reconciles: Counter,
    pub transitions: Counter,
    pub builds_started: Counter,
    pub parked: Counter,
    pub failures: Counter,
    pub events: Counter,
    /// Queue messages that woke an account.
    pub wakes: Counter,
    pub echoes: Counter,
    /// Messages of the alerts queue raised as exceptions, and dropped.
    pub alerts: Counter,
    pub alerts_ignored: Counter,
}

/// Tags written to an account and when (milliseconds).
type Written = (BTreeMap<String, String>, i64);
type Observer = Arc<dyn Fn(&Step) + Send + Sync>;
type Gate = Arc<dyn Fn() -> bool + Send + Sync>;

/// The life cycle of every managed account.
pub struct Engine {
    aws: Aws,
    clock: Clock,
    pub options: EngineOptions,
    config: RwLock<Arc<Config>>,
    accounts: RwLock<BTreeMap<String, Known>>,
    memory: Mutex<HashMap<String, Memory>>,
    /// Tags written by this process per account, to recognise their echo in events.
    written: Mutex<HashMap<String, Written>>,
    /// Accounts expired by this engine (`expire-now` expires each once).
    expired_now: Mutex<BTreeSet<String>>,
    /// When the engine started: the reference of released accounts without `since`.
    started_ms: i64,
    observer: Option<Observer>,
    pub counters: Counters,
    pub queue: WorkQueue,
    /// Says whether accounts may move now (the controller: leader and not suspended).
    gate: Option<Gate>,
    /// The ARN of `options.alerts_queue_url`, read once.
    alerts_queue_arn: tokio::sync::OnceCell<String>,
    /// Where exceptions go besides the bus.
    notifier: Option<Arc<crate::notify::Notifier>>,
    /// Accounts taken on from events since the last full observation: an incremental one
    /// does not know them yet, and must not drop them.
    from_events: Mutex<BTreeSet<String>>,
    /// Ids of spa's per-state policies, by name (guardrails.rs).
    policy_ids: Mutex<BTreeMap<String, String>>,
    /// A policy was attached or detached since the settings loop last asked.
    policies_written: std::sync::atomic::AtomicBool,
    /// Accounts whose per-state attachments are being written (holds.rs).
    holds: holds::Holds,
    /// Where what happens is recorded (records in DynamoDB, fleet metrics), if anywhere.
    recorder: Option<Arc<crate::records::Recorder>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Engine {
    pub fn new(aws: Aws, clock: Clock, options: EngineOptions, settings: Arc<Settings>) -> Engine {
        let started_ms = clock();
        Engine {
            aws,
            clock,
            options,
            config: RwLock::new(Arc::new(Config::new(settings))),
            accounts: RwLock::default(),
            memory: Mutex::default(),
            written: Mutex::default(),
            expired_now: Mutex::default(),
            started_ms,
            observer: None,
            counters: Counters::default(),
            queue: WorkQueue::default(),
            gate: None,
            alerts_queue_arn: tokio::sync::OnceCell::new(),
            notifier: None,
            from_events: Mutex::new(BTreeSet::new()),
            policy_ids: Mutex::default(),
            policies_written: std::sync::atomic::AtomicBool::new(false),
            holds: holds::Holds::default(),
            recorder: None,
        }
    }

    /// Every step is also given to `observer` (progress on a terminal).
    pub fn with_observer(mut self, observer: impl Fn(&Step) + Send + Sync + 'static) -> Engine {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// Accounts move only while `gate` says so; queued work waits (a standby, a suspension).
    /// Exceptions also go to the channels of the settings (Teams, Slack) and the
    /// exceptions topic.
    pub fn with_notifier(mut self, notifier: Arc<crate::notify::Notifier>) -> Engine {
        self.notifier = Some(notifier);
        self
    }

    /// Records what happens: the events emitted, logins and build reports seen.
    pub fn with_recorder(mut self, recorder: Arc<crate::records::Recorder>) -> Engine {
        self.recorder = Some(recorder);
        self
    }

    pub fn recorder(&self) -> Option<&Arc<crate::records::Recorder>> {
        self.recorder.as_ref()
    }

    /// Hands a fact to the recorder, if there is one; never waits.
    pub fn record(&self, fact: crate::records::Fact) {
        if let Some(recorder) = &self.recorder {
            recorder.record(fact);
        }
    }

    pub fn notifier(&self) -> Option<&Arc<crate::notify::Notifier>> {
        self.notifier.as_ref()
    }

    /// Whether accounts may move now (no gate: always).
    pub fn may_move(&self) -> bool {
        self.gate.as_ref().is_none_or(|open| open())
    }

    pub fn with_gate(mut self, gate: impl Fn() -> bool + Send + Sync + 'static) -> Engine {
        self.gate = Some(Arc::new(gate));
        self
    }

    pub fn aws(&self) -> &Aws {
        &self.aws
    }

    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_settings(&self, settings: Arc<Settings>) {
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(Config::new(settings));
    }

    /// The managed accounts (from an observation): only these are ever touched.
    pub fn set_accounts(&self, accounts: BTreeMap<String, Known>) {
        *self.accounts.write().unwrap_or_else(|p| p.into_inner()) = accounts;
    }

    /// Like [`Engine::set_accounts`] with an observation that started at `observed_at_ms`.
    /// A full observation read every account after that time: its tags win, except for
    /// accounts this engine wrote since. An incremental one reuses older reads: the tags in
    /// memory win for every account already known.
    pub fn set_observed_accounts(
        &self,
        mut accounts: BTreeMap<String, Known>,
        observed_at_ms: i64,
        full: bool,
    ) {
        let written = lock(&self.written);
        let current = self
            .accounts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for (id, known) in accounts.iter_mut() {
            let ours = current.get(id).and_then(|k| k.tags.clone());
            let newer = written.get(id).is_some_and(|(_, at)| *at >= observed_at_ms);
            if ours.is_some() && (newer || !full) {
                known.tags = ours;
            } else if newer {
                // Written after this observation began, then forgotten (a failure, an
                // event): the observed tags are older than the write; read them again.
                known.tags = None;
            }
        }
        drop(written);
        let mut from_events = lock(&self.from_events);
        if full {
            from_events.clear();
        } else {
            for id in from_events.iter() {
                if let Some(known) = current.get(id) {
                    accounts.entry(id.clone()).or_insert_with(|| known.clone());
                }
            }
        }
        drop(from_events);
        self.set_accounts(accounts);
    }

    pub fn managed(&self) -> Vec<String> {
        self.accounts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    pub fn is_managed(&self, account: &str) -> bool {
        self.accounts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(account)
    }

    /// Managed accounts parked now (their `<prefix>parked` tag is set).
    pub fn parked_count(&self) -> usize {
        let parked_tag = self.config().parked_tag();
        self.accounts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|k| {
                k.tags
                    .as_ref()
                    .is_some_and(|t| t.get(&parked_tag).is_some_and(|r| !r.is_empty()))
            })
            .count()
    }

    /// The state tag last known for one managed account.
    pub fn known_state(&self, account: &str) -> Option<String> {
        let state_tag = self.config().state_tag();
        self.known(account)
            .and_then(|k| k.tags)
            .and_then(|t| t.get(&state_tag).cloned())
    }

    /// The state tag last known for each managed account.
    pub fn known_states(&self) -> BTreeMap<String, Option<String>> {
        let state_tag = self.config().state_tag();
        self.accounts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(id, k)| {
                (
                    id.clone(),
                    k.tags.as_ref().and_then(|t| t.get(&state_tag).cloned()),
                )
            })
            .collect()
    }

    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    fn known(&self, account: &str) -> Option<Known> {
        self.accounts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
            .cloned()
    }

    fn report(&self, step: Step) {
        match &step {
            Step::Transition { account, from, to } => {
                tracing::info!(
                    account,
                    from = from.as_deref().unwrap_or("(none)"),
                    to = to.as_str(),
                    "transition"
                )
            }
            Step::BuildStarted {
                account,
                job,
                build,
                attempt,
            } => {
                tracing::info!(account, ?job, build, attempt, "build started")
            }
            Step::BuildEnded {
                account,
                job,
                build,
                status,
            } => {
                tracing::info!(account, ?job, build, status, "build ended")
            }
            Step::Parked { account, reason } => tracing::warn!(account, reason, "parked"),
            Step::Failed { account, error } => {
                tracing::warn!(account, error, "lifecycle step failed")
            }
        }
        if let Some(observer) = &self.observer {
            observer(&step);
        }
    }

    /// An operator moves `account` to `state`: the state and a new cycle are written, and a
    /// park is lifted. The life cycle goes on from there.
    pub async fn force_state(&self, account: &str, state: State) -> Result<(), StepError> {
        // Until the new state is known, no plan of this process writes the account's
        // per-state attachments; held first, so that the state read below stays true.
        let _held = self.holds.hold(account).await;
        let config = self.config();
        let known = self.known(account);
        let from = known
            .as_ref()
            .and_then(|k| k.tags.as_ref())
            .and_then(|t| t.get(&config.state_tag()).cloned());
        let parent = known.and_then(|k| k.parent);
        self.follow_policies(account, parent.as_deref(), from.as_deref(), state)
            .await?;
        let tags = BTreeMap::from([
            (config.state_tag(), state.as_str().to_string()),
            (config.since_tag(), self.now_ms().to_string()),
        ]);
        self.write_tags(account, &tags)
            .await
            .map_err(StepError::WriteState)?;
        let parked = self
            .known(account)
            .and_then(|k| k.tags)
            .is_some_and(|t| t.contains_key(&config.parked_tag()));
        if parked {
            self.untag(account, &[config.parked_tag()])
                .await
                .map_err(StepError::WriteState)?;
        }
        lock(&self.memory).remove(account);
        self.counters.transitions.inc();
        self.report(Step::Transition {
            account: account.to_string(),
            from,
            to: state,
        });
        // As every entry into a state, a forced one emits its event: consumers open and close
        // their transactions on them.
        if let Some(event) = state.entered() {
            let entry = events::account_event(&config, event, account);
            if let Err(error) = self.emit(&[entry]).await {
                tracing::warn!(account, "cannot emit events: {error}");
            }
        }
        Ok(())
    }

    /// Reconciles one account as far as it goes without waiting, and says when to look again.
    /// This is the error policy: a failure is counted against the account; after
    /// [`machine::MAX_ATTEMPTS`] in a row (throttling aside) the account is parked with the
    /// reason and an exception. Other accounts never wait on it.
    pub async fn reconcile(&self, account: &str, use_known_tags: bool) -> Next {
        self.counters.reconciles.inc();
        let Some(known) = self.known(account) else {
            return Next::Idle;
        };
        let known = if use_known_tags {
            known
        } else {
            Known {
                tags: None,
                ..known
            }
        };
        match self.step(account, known).await {
            Ok(next) => {
                lock(&self.memory)
                    .entry(account.to_string())
                    .or_default()
                    .failures = 0;
                next
            }
            Err(error) => self.on_error(account, error).await,
        }
    }

    async fn on_error(&self, account: &str, error: StepError) -> Next {
        self.counters.failures.inc();
        self.invalidate(account);
        let failures = {
            let mut memory = lock(&self.memory);
            let memory = memory.entry(account.to_string()).or_default();
            memory.failures += 1;
            memory.failures
        };
        let message = error.to_string();
        self.report(Step::Failed {
            account: account.to_string(),
            error: message.clone(),
        });
        let retry = Next::Retry(backoff(self.options.backoff, failures));
        if failures < machine::MAX_ATTEMPTS || error.is_throttled() {
            return retry;
        }
        let reason = format!("{message} ({failures} times)");
        match self.park(account, &reason, error.exception()).await {
            Ok(()) => {
                lock(&self.memory).remove(account);
                Next::Idle
            }
            Err(_) => retry,
        }
    }

    /// Queues every managed account (sweep, maintenance window, start).
    pub fn queue_all(&self) {
        for account in self.managed() {
            self.queue.push(&account, Duration::ZERO, false);
        }
    }

    /// Works the queue with `options.concurrency` workers. With `until_idle`, returns when
    /// nothing is queued or running any more; else runs until dropped.
    pub async fn work(self: &Arc<Self>, until_idle: bool) {
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..self.options.concurrency.max(1) {
            let engine = self.clone();
            workers.spawn(async move {
                while let Some((account, known)) = engine.queue.next(until_idle).await {
                    if !engine.may_move() {
                        engine
                            .queue
                            .done(&account, Some((Duration::from_secs(5), known)));
                        continue;
                    }
                    let next = engine.reconcile(&account, known).await;
                    let again = match next {
                        Next::Idle => None,
                        Next::Poll(delay) => Some((delay, true)),
                        Next::Retry(delay) => Some((delay, false)),
                    };
                    engine.queue.done(&account, again);
                }
            });
        }
        while workers.join_next().await.is_some() {}
    }
}
