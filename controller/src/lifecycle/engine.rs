//! The per-account reconcile of the life cycle, and the work queue that drives it.
//!
//! Level-triggered: every reconcile reads the account's tags and the builds of the current
//! cycle again, asks [`machine::next`] what to do, and does it. Nothing is kept between
//! reconciles that the account itself does not say, except what makes a running controller
//! cheaper or safer (tags it just wrote, builds it just started, back-off clocks).
//!
//! The tags spa keeps on a managed account (prefix from `features.with_tag_prefix`):
//! - `<prefix>state`: the state;
//! - `<prefix>since`: when the state was entered (milliseconds since the epoch), written
//!   with the state in the same call. The builds of the current cycle are the builds of
//!   the state's project started since then, so a restarted controller finds the build it
//!   started before and starts no second one;
//! - `<prefix>parked`: why the account was parked; nothing moves until an operator clears it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;
use spa_schema::schedule::Schedule;
use spa_schema::{Feature, Resolver, Settings};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::machine::{self, Action, Build, Event, Facts, Job, State};
use crate::aws::{
    Aws, AwsError, BuildInfo, BuildStatus, Clock, EventEntry, MemberAccount, ProjectSpec, Tag, api,
};

/// The source of spa's events on the bus (lifecycle.md).
pub const EVENT_SOURCE: &str = "SustainablePersonalAccounts";
/// The service role of the projects, created in each managed account.
pub const SERVICE_ROLE: &str = "SpaCodeBuildServiceRole";
/// Organizations tag values: at most 256 characters of this set.
const TAG_VALUE_MAX: usize = 256;

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
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            poll: Duration::from_secs(30),
            backoff: Duration::from_secs(60),
            concurrency: 16,
            event_bus: "default".to_string(),
            expire_now: false,
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

/// Counters for /metrics and reports.
#[derive(Debug, Default)]
pub struct Counters {
    pub reconciles: AtomicU64,
    pub transitions: AtomicU64,
    pub builds_started: AtomicU64,
    pub parked: AtomicU64,
    pub failures: AtomicU64,
    pub events: AtomicU64,
    /// Queue messages that woke an account.
    pub wakes: AtomicU64,
    pub echoes: AtomicU64,
}

/// What a running engine remembers of an account; all of it can be lost safely.
#[derive(Debug, Default)]
struct Memory {
    /// Builds this process started, with the cycle (`since`) they belong to: covers a
    /// controller clock slightly ahead of AWS's.
    builds: Vec<(i64, String)>,
    /// Consecutive failures of the current step, and when to try again.
    failures: u32,
    retry_at: Option<i64>,
    /// The attempt whose back-off was already waited.
    backoff_done_for: Option<(i64, u32)>,
    /// The status last seen of the newest build, to report its end once.
    last_status: Option<(String, BuildStatus)>,
}

/// What one reconcile has decided and not yet written: transitions without a build
/// between them are chained and written in one call.
#[derive(Default)]
struct Writes {
    /// The tags as last read or written.
    tags: BTreeMap<String, String>,
    set: BTreeMap<String, String>,
    unset: Vec<String>,
    transitions: Vec<(Option<String>, State)>,
    events: Vec<EventEntry>,
}

impl Writes {
    /// A tag as it will be once written.
    fn current(&self, key: &str) -> Option<String> {
        self.set.get(key).or_else(|| self.tags.get(key)).cloned()
    }
}

/// The settings-derived part of the engine; replaced on every new valid commit.
pub struct Config {
    pub settings: Arc<Settings>,
    /// Built once per settings: a reconcile resolves one account by lookups.
    index: spa_schema::resolve::Index,
    pub maintenance: Option<Schedule>,
    pub region: String,
}

impl Config {
    pub fn new(settings: Arc<Settings>) -> Config {
        let maintenance = settings
            .automation
            .maintenance_window_expression
            .as_ref()
            .and_then(|e| Schedule::parse(&e.value).ok());
        let region = settings
            .automation
            .region
            .as_ref()
            .map_or_else(|| "eu-west-1".to_string(), |r| r.value.clone());
        Config {
            index: spa_schema::resolve::Index::new(&settings),
            settings,
            maintenance,
            region,
        }
    }

    pub fn state_tag(&self) -> String {
        self.settings.state_tag()
    }

    pub fn since_tag(&self) -> String {
        let [_, _, since, _] = self.settings.lifecycle_tags();
        since
    }

    pub fn parked_tag(&self) -> String {
        let [_, _, _, parked] = self.settings.lifecycle_tags();
        parked
    }

    fn environment(&self) -> &str {
        &self.settings.environment_identifier.value
    }

    fn automation_account(&self) -> &str {
        self.settings
            .automation
            .account_id
            .as_ref()
            .map_or("000000000000", |a| a.value.as_str())
    }
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
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Organizations accepts only letters, digits, spaces and `_.:/=+-@` in tag values.
pub fn tag_value(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    cleaned.chars().take(TAG_VALUE_MAX).collect()
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
        }
    }

    /// Every step is also given to `observer` (progress on a terminal).
    pub fn with_observer(mut self, observer: impl Fn(&Step) + Send + Sync + 'static) -> Engine {
        self.observer = Some(Arc::new(observer));
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
            }
        }
        drop(written);
        self.set_accounts(accounts);
    }

    /// Accounts move only while `gate` says so; queued work waits (a standby, a suspension).
    pub fn with_gate(mut self, gate: impl Fn() -> bool + Send + Sync + 'static) -> Engine {
        self.gate = Some(Arc::new(gate));
        self
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

    /// Is this Organizations tag event the echo of a write of ours (same keys, same values,
    /// in the last ten minutes)?
    pub fn is_echo(&self, account: &str, tags: &BTreeMap<String, String>) -> bool {
        let written = lock(&self.written);
        let Some((ours, at)) = written.get(account) else {
            return false;
        };
        let recent = self.now_ms() - at < 600_000;
        let echo = recent && !tags.is_empty() && tags.iter().all(|(k, v)| ours.get(k) == Some(v));
        if echo {
            self.counters.echoes.fetch_add(1, Ordering::Relaxed);
        }
        echo
    }

    fn known(&self, account: &str) -> Option<Known> {
        self.accounts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
            .cloned()
    }

    fn remember_tags(&self, account: &str, tags: Option<BTreeMap<String, String>>) {
        if let Some(known) = self
            .accounts
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(account)
        {
            known.tags = tags;
        }
    }

    /// Forget the tags in memory: the next reconcile reads them (an event said they changed).
    pub fn invalidate(&self, account: &str) {
        self.remember_tags(account, None);
    }

    fn backoff(&self, failures: u32) -> Duration {
        self.options.backoff * 2u32.saturating_pow(failures.saturating_sub(1).min(10))
    }

    /// An operator moves `account` to `state`: the state and a new cycle are written, and a
    /// park is lifted. The life cycle goes on from there.
    pub async fn force_state(&self, account: &str, state: State) -> Result<(), AwsError> {
        let config = self.config();
        let from = self
            .known(account)
            .and_then(|k| k.tags)
            .and_then(|t| t.get(&config.state_tag()).cloned());
        let tags = BTreeMap::from([
            (config.state_tag(), state.as_str().to_string()),
            (config.since_tag(), self.now_ms().to_string()),
        ]);
        self.write_tags(account, &tags).await?;
        let parked = self
            .known(account)
            .and_then(|k| k.tags)
            .is_some_and(|t| t.contains_key(&config.parked_tag()));
        if parked {
            self.untag(account, &[config.parked_tag()]).await?;
        }
        lock(&self.memory).remove(account);
        self.counters.transitions.fetch_add(1, Ordering::Relaxed);
        self.report(Step::Transition {
            account: account.to_string(),
            from,
            to: state,
        });
        Ok(())
    }

    /// Reconciles one account as far as it goes without waiting, and says when to look again.
    /// An error is counted against the account; after [`machine::MAX_ATTEMPTS`] in a row the
    /// account is parked. Other accounts never wait on it.
    pub async fn reconcile(&self, account: &str, use_known_tags: bool) -> Next {
        self.counters.reconciles.fetch_add(1, Ordering::Relaxed);
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
            Err((what, error)) => {
                self.counters.failures.fetch_add(1, Ordering::Relaxed);
                self.invalidate(account);
                let failures = {
                    let mut memory = lock(&self.memory);
                    let memory = memory.entry(account.to_string()).or_default();
                    memory.failures += 1;
                    memory.failures
                };
                let message = format!("{what}: {error}");
                self.report(Step::Failed {
                    account: account.to_string(),
                    error: message.clone(),
                });
                if failures >= machine::MAX_ATTEMPTS
                    && error.kind != crate::aws::ErrorKind::Throttled
                {
                    let event = if what.contains("build")
                        || what.contains("project")
                        || what.contains("role")
                    {
                        Event::FailedCodebuildException
                    } else {
                        Event::GenericException
                    };
                    let reason = format!("{message} ({failures} times)");
                    match self.park(account, &reason, event).await {
                        Ok(()) => {
                            lock(&self.memory).remove(account);
                            Next::Idle
                        }
                        Err(_) => Next::Retry(self.backoff(failures)),
                    }
                } else {
                    Next::Retry(self.backoff(failures))
                }
            }
        }
    }

    async fn park(&self, account: &str, reason: &str, event: Event) -> Result<(), AwsError> {
        let config = self.config();
        let tags = BTreeMap::from([(config.parked_tag(), tag_value(reason))]);
        self.write_tags(account, &tags).await?;
        self.counters.parked.fetch_add(1, Ordering::Relaxed);
        self.report(Step::Parked {
            account: account.to_string(),
            reason: reason.to_string(),
        });
        let state = self
            .known(account)
            .and_then(|k| k.tags)
            .and_then(|t| t.get(&config.state_tag()).cloned());
        let entry = exception(&config, event, account, reason, state.as_deref());
        if let Err(error) = self.emit(&[entry]).await {
            tracing::warn!(account, "cannot emit the exception event: {error}");
        }
        Ok(())
    }

    async fn write_tags(
        &self,
        account: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let list: Vec<Tag> = tags
            .iter()
            .map(|(key, value)| Tag {
                key: key.clone(),
                value: value.clone(),
            })
            .collect();
        self.aws.tag_resource(account, &list).await?;
        lock(&self.written).insert(account.to_string(), (tags.clone(), self.now_ms()));
        self.edit_known_tags(account, |current| current.extend(tags.clone()));
        Ok(())
    }

    /// Applies a write of ours to the tags in memory, when they are known.
    fn edit_known_tags(&self, account: &str, edit: impl FnOnce(&mut BTreeMap<String, String>)) {
        let mut accounts = self.accounts.write().unwrap_or_else(|p| p.into_inner());
        if let Some(current) = accounts.get_mut(account).and_then(|k| k.tags.as_mut()) {
            edit(current);
        }
    }

    async fn untag(&self, account: &str, keys: &[String]) -> Result<(), AwsError> {
        self.aws.untag_resource(account, keys).await?;
        self.edit_known_tags(account, |current| {
            for key in keys {
                current.remove(key);
            }
        });
        Ok(())
    }

    async fn emit(&self, entries: &[EventEntry]) -> Result<(), AwsError> {
        self.aws
            .put_events(&self.options.event_bus, entries)
            .await?;
        self.counters
            .events
            .fetch_add(entries.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    async fn read_tags(&self, account: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let tags = self.aws.tags(account).await?;
        let tags: BTreeMap<String, String> = tags.into_iter().map(|t| (t.key, t.value)).collect();
        self.remember_tags(account, Some(tags.clone()));
        Ok(tags)
    }

    /// The builds of `job` in the cycle that started at `since`.
    async fn cycle_builds(
        &self,
        member: &MemberAccount,
        account: &str,
        job: Job,
        since: i64,
    ) -> Result<Vec<BuildInfo>, AwsError> {
        let ids = member.recent_builds(job.project()).await;
        let ids = match ids {
            Ok(ids) => ids,
            // No project yet: no build either.
            Err(error) if error.kind == crate::aws::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(error),
        };
        let ours: BTreeSet<String> = lock(&self.memory)
            .get(account)
            .map(|m| {
                m.builds
                    .iter()
                    .filter(|(s, _)| *s == since)
                    .map(|(_, id)| id.clone())
                    .collect()
            })
            .unwrap_or_default();
        // The newest 200 builds are plenty: a cycle has at most MAX_ATTEMPTS.
        let mut infos = member.builds(&ids[..ids.len().min(200)]).await?;
        infos.retain(|b| b.started_ms >= since || ours.contains(&b.id));
        infos.sort_by_key(|b| b.started_ms);
        Ok(infos)
    }

    async fn step(&self, account: &str, known: Known) -> Result<Next, (&'static str, AwsError)> {
        let config = self.config();
        let state_tag = config.state_tag();
        let since_tag = config.since_tag();
        let tags = match known.tags {
            Some(tags) => tags,
            None => self
                .read_tags(account)
                .await
                .map_err(|e| ("reading the account's tags", e))?,
        };
        let resolver = Resolver::with_index(&config.settings, &config.index);
        let effective = resolver.account(account, known.parent.as_deref());
        let preparation = *effective.preparation.feature.value == Feature::Enabled;
        let purge = *effective.purge.feature.value == Feature::Enabled;
        // Transitions that need no build are chained and written in one call.
        let mut writes = Writes {
            tags,
            ..Writes::default()
        };
        // After a transition of ours in this step the cycle is new: no build to read.
        let mut fresh = false;
        let mut next = Next::Idle;
        for _ in 0..8 {
            let state = writes.current(&state_tag);
            let parked = writes
                .current(&config.parked_tag())
                .is_some_and(|r| !r.is_empty());
            let since = writes
                .current(&since_tag)
                .and_then(|s| s.parse::<i64>().ok());
            let job = match state.as_deref().and_then(State::parse) {
                Some(State::Assigned) if preparation => Some(Job::Preparation),
                Some(State::Expired) if purge => Some(Job::Purge),
                _ => None,
            };
            let mut facts = Facts {
                state: state.clone(),
                preparation,
                purge,
                build: Build::None,
                attempts: 0,
                maintenance_due: false,
                parked,
            };
            let mut builds_client = None;
            if let (Some(job), false, false) = (job, parked, fresh) {
                // Builds only happen after a transition is written: flush first.
                let client = self
                    .aws
                    .member(account)
                    .await
                    .map_err(|e| ("assuming the role to manage CodeBuild", e))?;
                let since = since.unwrap_or(self.started_ms);
                let cycle = self
                    .cycle_builds(&client, account, job, since)
                    .await
                    .map_err(|e| ("reading the builds", e))?;
                facts.attempts = cycle.len() as u32;
                if let Some(newest) = cycle.last() {
                    facts.build = match newest.status {
                        BuildStatus::InProgress => Build::InProgress,
                        BuildStatus::Succeeded => Build::Succeeded,
                        BuildStatus::Failed => Build::Failed,
                        BuildStatus::Stopped => Build::Stopped,
                    };
                    let changed = {
                        let mut memory = lock(&self.memory);
                        let memory = memory.entry(account.to_string()).or_default();
                        let seen = Some((newest.id.clone(), newest.status.clone()));
                        let changed = memory.last_status != seen;
                        memory.last_status = seen;
                        changed
                    };
                    if changed && newest.status != BuildStatus::InProgress {
                        self.report(Step::BuildEnded {
                            account: account.to_string(),
                            job,
                            build: newest.id.clone(),
                            status: format!("{:?}", newest.status).to_lowercase(),
                        });
                    }
                }
                builds_client = Some(client);
            }
            if state.as_deref() == Some(State::Released.as_str()) {
                let reference = since.unwrap_or(self.started_ms) / 1000;
                // `expire-now` is a window firing when the engine started: accounts
                // released after it wait for the next one.
                facts.maintenance_due = (self.options.expire_now
                    && since.is_none_or(|s| s <= self.started_ms)
                    && !lock(&self.expired_now).contains(account))
                    || config
                        .maintenance
                        .as_ref()
                        .and_then(|s| s.next_after(reference))
                        .is_some_and(|at| at * 1000 <= self.now_ms());
            }
            let actions = machine::next(&facts);
            let mut moved = false;
            let mut stop = false;
            for action in actions {
                match action {
                    Action::SetState(to) => {
                        if state.as_deref() == Some(State::Vanilla.as_str())
                            && to == State::Assigned
                        {
                            // Enrolment: the account gets its tags from settings.
                            for (key, value) in &effective.account_tags {
                                if writes.tags.get(*key) != Some(value.value) {
                                    writes.set.insert(key.to_string(), value.value.clone());
                                }
                            }
                            if let Some(keys) = &effective.unset_tags {
                                let present =
                                    keys.value.iter().filter(|k| writes.tags.contains_key(*k));
                                writes.unset.extend(present.cloned().collect::<Vec<_>>());
                            }
                        }
                        if to == State::Expired {
                            lock(&self.expired_now).insert(account.to_string());
                        }
                        writes
                            .set
                            .insert(state_tag.clone(), to.as_str().to_string());
                        writes
                            .set
                            .insert(since_tag.clone(), self.now_ms().to_string());
                        writes.transitions.push((state.clone(), to));
                        moved = true;
                        fresh = true;
                    }
                    Action::Emit(event) => {
                        writes.events.push(lifecycle_event(&config, event, account))
                    }
                    Action::Park(reason) => {
                        self.flush(account, &mut writes)
                            .await
                            .map_err(|e| ("writing the state", e))?;
                        let event = if facts.build == Build::None {
                            Event::GenericException
                        } else {
                            Event::FailedCodebuildException
                        };
                        self.park(account, &reason, event)
                            .await
                            .map_err(|e| ("parking the account", e))?;
                        return Ok(Next::Idle);
                    }
                    Action::StartBuild(job) => {
                        self.flush(account, &mut writes)
                            .await
                            .map_err(|e| ("writing the state", e))?;
                        let since = writes
                            .tags
                            .get(&since_tag)
                            .and_then(|s| s.parse::<i64>().ok())
                            .unwrap_or(self.started_ms);
                        if facts.attempts > 0 {
                            // A retry after a failed or stopped build waits its back-off once.
                            let wait = {
                                let mut memory = lock(&self.memory);
                                let memory = memory.entry(account.to_string()).or_default();
                                let key = (since, facts.attempts);
                                if memory.backoff_done_for == Some(key) {
                                    None
                                } else {
                                    let at = *memory.retry_at.get_or_insert(
                                        self.now_ms()
                                            + self.backoff(facts.attempts).as_millis() as i64,
                                    );
                                    let left = at - self.now_ms();
                                    if left > 0 {
                                        Some(Duration::from_millis(left as u64))
                                    } else {
                                        memory.retry_at = None;
                                        memory.backoff_done_for = Some(key);
                                        None
                                    }
                                }
                            };
                            if let Some(wait) = wait {
                                return Ok(Next::Retry(wait));
                            }
                        }
                        let client = match builds_client.take() {
                            Some(client) => client,
                            None => self
                                .aws
                                .member(account)
                                .await
                                .map_err(|e| ("assuming the role to manage CodeBuild", e))?,
                        };
                        let build = self
                            .start_build(
                                &client,
                                &config,
                                &effective,
                                &known.email,
                                job,
                                since,
                                facts.attempts,
                            )
                            .await?;
                        self.counters.builds_started.fetch_add(1, Ordering::Relaxed);
                        lock(&self.memory)
                            .entry(account.to_string())
                            .or_default()
                            .builds
                            .push((since, build.clone()));
                        self.report(Step::BuildStarted {
                            account: account.to_string(),
                            job,
                            build,
                            attempt: facts.attempts + 1,
                        });
                        next = Next::Poll(self.options.poll);
                        stop = true;
                    }
                    Action::Wait(_) => {
                        next = Next::Poll(self.options.poll);
                        stop = true;
                    }
                }
            }
            if stop || !moved {
                break;
            }
        }
        self.flush(account, &mut writes)
            .await
            .map_err(|e| ("writing the state", e))?;
        Ok(next)
    }

    /// Writes the chained transitions in one TagResource, then emits their events.
    async fn flush(&self, account: &str, writes: &mut Writes) -> Result<(), AwsError> {
        if !writes.set.is_empty() {
            let set = std::mem::take(&mut writes.set);
            self.write_tags(account, &set).await?;
            writes.tags.extend(set);
        }
        if !writes.unset.is_empty() {
            let keys = std::mem::take(&mut writes.unset);
            self.untag(account, &keys).await?;
            for key in &keys {
                writes.tags.remove(key);
            }
        }
        self.remember_tags(account, Some(writes.tags.clone()));
        for (from, to) in writes.transitions.drain(..) {
            self.counters.transitions.fetch_add(1, Ordering::Relaxed);
            self.report(Step::Transition {
                account: account.to_string(),
                from,
                to,
            });
        }
        if !writes.events.is_empty() {
            let entries = std::mem::take(&mut writes.events);
            // The state is written: a lost event is reported, never retried into a second write.
            if let Err(error) = self.emit(&entries).await {
                tracing::warn!(account, "cannot emit events: {error}");
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn start_build(
        &self,
        client: &MemberAccount,
        config: &Config,
        effective: &spa_schema::Effective<'_>,
        email: &str,
        job: Job,
        since: i64,
        attempts: u32,
    ) -> Result<String, (&'static str, AwsError)> {
        let settings = &config.settings;
        let (buildspec, feature) = match job {
            Job::Preparation => (&settings.preparation_buildspec, &effective.preparation),
            Job::Purge => (&settings.purge_buildspec, &effective.purge),
        };
        let Some(buildspec) = buildspec else {
            return Err((
                "preparing the project",
                AwsError::new(
                    api::CREATE_PROJECT,
                    crate::aws::ErrorKind::Terminal,
                    "NoBuildspec",
                    format!(
                        "{} is enabled but settings name no {} buildspec",
                        job.label(),
                        job.label()
                    ),
                ),
            ));
        };
        let role = client
            .ensure_service_role(SERVICE_ROLE)
            .await
            .map_err(|e| ("creating the service role", e))?;
        let mut environment: BTreeMap<String, String> = feature
            .variables
            .iter()
            .map(|(k, v)| (k.to_string(), v.value.text.clone()))
            .collect();
        let automation = config.automation_account();
        environment.insert(
            "ENVIRONMENT_IDENTIFIER".into(),
            config.environment().to_string(),
        );
        environment.insert(
            "EVENT_BUS_ARN".into(),
            if self.options.event_bus.starts_with("arn:") {
                self.options.event_bus.clone()
            } else {
                format!(
                    "arn:aws:events:{}:{automation}:event-bus/{}",
                    config.region, self.options.event_bus
                )
            },
        );
        environment
            .entry("BUDGET_EMAIL".into())
            .or_insert_with(|| email.to_string());
        environment.insert(
            "TOPIC_ARN".into(),
            format!(
                "arn:aws:sns:{}:{automation}:SpaAlerts{}",
                config.region,
                config.environment()
            ),
        );
        let spec = ProjectSpec {
            name: job.project().to_string(),
            buildspec: buildspec.text.clone(),
            service_role_arn: role,
            environment,
            arm: false,
            timeout_minutes: match job {
                Job::Preparation => 30,
                Job::Purge => 240,
            },
        };
        client
            .ensure_project(&spec)
            .await
            .map_err(|e| ("creating the project", e))?;
        // One token per cycle and attempt: a retried call, or a restart within CodeBuild's
        // five minutes, returns the same build.
        let token = format!("spa-{}-{since}-{attempts}", job.label());
        client
            .start_build(job.project(), &token)
            .await
            .map_err(|e| ("starting the build", e))
    }
}

fn lifecycle_event(config: &Config, event: Event, account: &str) -> EventEntry {
    let message = match event {
        Event::CreatedAccount => "the account has been enrolled",
        Event::AssignedAccount => "the account has been assigned",
        Event::PreparedAccount => "the account has been prepared",
        Event::ReleasedAccount => "the account has been released to its holder",
        Event::ExpiredAccount => "the account has expired",
        Event::PurgedAccount => "the account has been purged",
        Event::FailedCodebuildException | Event::GenericException => "exception",
    };
    EventEntry {
        source: EVENT_SOURCE.to_string(),
        detail_type: format!("{event:?}"),
        detail: serde_json::json!({
            "Account": account,
            "Environment": config.environment(),
            "Message": message,
        }),
    }
}

fn exception(
    config: &Config,
    event: Event,
    account: &str,
    reason: &str,
    state: Option<&str>,
) -> EventEntry {
    EventEntry {
        source: EVENT_SOURCE.to_string(),
        detail_type: format!("{event:?}"),
        detail: serde_json::json!({
            "ContentType": "application/json",
            "Environment": config.environment(),
            "Payload": {"Account": account, "State": state, "Reason": reason},
        }),
    }
}

/// Accounts waiting for a reconcile, each at most once, with when it is due and whether its
/// tags in memory may be used.
#[derive(Default)]
pub struct WorkQueue {
    state: Mutex<QueueState>,
    notify: Notify,
}

#[derive(Default)]
struct QueueState {
    due: BTreeMap<String, (Instant, bool)>,
    running: BTreeSet<String>,
    /// Pushed while running: queued again when it finishes.
    again: BTreeMap<String, (Instant, bool)>,
}

fn merge(slot: &mut BTreeMap<String, (Instant, bool)>, account: &str, at: Instant, known: bool) {
    slot.entry(account.to_string())
        .and_modify(|(t, k)| {
            *t = (*t).min(at);
            *k = *k && known;
        })
        .or_insert((at, known));
}

impl WorkQueue {
    /// Queue `account` after `delay`; `known_tags`: its tags in memory may be used (a
    /// poll of our own build), else they are read again.
    pub fn push(&self, account: &str, delay: Duration, known_tags: bool) {
        let at = Instant::now() + delay;
        {
            let mut state = lock(&self.state);
            if state.running.contains(account) {
                merge(&mut state.again, account, at, known_tags);
            } else {
                merge(&mut state.due, account, at, known_tags);
            }
        }
        self.notify.notify_waiters();
    }

    pub fn len(&self) -> usize {
        let state = lock(&self.state);
        state.due.len() + state.running.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next due account; waits for one. `None` when `stop_when_idle` and nothing is left.
    async fn next(&self, stop_when_idle: bool) -> Option<(String, bool)> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wait = {
                let mut state = lock(&self.state);
                let now = Instant::now();
                let ready = state
                    .due
                    .iter()
                    .filter(|(_, (at, _))| *at <= now)
                    .min_by_key(|(_, (at, _))| *at)
                    .map(|(id, _)| id.clone());
                if let Some(id) = ready {
                    let (_, known) = state.due.remove(&id).unwrap_or((now, false));
                    state.running.insert(id.clone());
                    return Some((id, known));
                }
                if stop_when_idle && state.due.is_empty() && state.running.is_empty() {
                    return None;
                }
                state.due.values().map(|(at, _)| *at).min()
            };
            match wait {
                Some(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = &mut notified => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    fn done(&self, account: &str, next: Option<(Duration, bool)>) {
        {
            let mut state = lock(&self.state);
            state.running.remove(account);
            if let Some((delay, known)) = next {
                merge(&mut state.due, account, Instant::now() + delay, known);
            }
            if let Some((at, known)) = state.again.remove(account) {
                merge(&mut state.due, account, at, known);
            }
        }
        self.notify.notify_waiters();
    }
}

impl Engine {
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
                    if engine.gate.as_ref().is_some_and(|open| !open()) {
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
        debug_assert!(!until_idle || self.queue.is_empty());
    }
}
