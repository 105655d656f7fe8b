//! The recorder: one task that writes the records from what spa emits and sees, in order,
//! so that the shadow of an account is never written by two hands at once. Facts wait in a
//! bounded queue (past it they are dropped and counted: nothing grows without bound); the
//! life cycle never waits on a record.
//!
//! Idempotent: an account event already recorded (same label, same time) or older than
//! the account's latest is a replay and changes nothing; a transaction is opened only if
//! none is open for the account; an activity's key names its occurrence (a sign-in's event
//! id; an account and the beginning of its transaction) and is written only if new; and
//! metrics count only what was new.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::{mpsc, oneshot};

use super::{
    Activity, Lifetimes, Login, Shadow, Tables, Transaction, account_key, day_of, parse_all,
    rfc3339_ms, stamp_of, to_item,
};
use crate::aws::{Aws, Clock, EventEntry};
use crate::monitoring::FleetMetrics;

/// Facts waiting at most; past it they are dropped (and counted).
const CAPACITY: usize = 20_000;
/// A build's report is kept up to this many characters.
const REPORT_LIMIT: usize = 4_000;

/// What the recorder is told.
#[derive(Debug)]
pub enum Fact {
    /// Events spa put on the bus, at a time (milliseconds).
    Emitted {
        entries: Vec<EventEntry>,
        at_ms: i64,
    },
    /// A person signed in to the console of a managed account (single sign-on).
    Login {
        account: String,
        identity: String,
        /// CloudTrail's event id: a replayed event is the same login.
        id: String,
        at_ms: i64,
    },
    /// A report of a preparation or purge build (`PreparationReport`, `PurgeReport`).
    Report {
        account: String,
        label: String,
        message: String,
        at_ms: i64,
    },
    /// What an observation says of the managed accounts.
    Accounts(Vec<AccountInfo>),
    /// A transaction past its lifetime was raised: forget it.
    Expired { account: String },
    /// Answers once every fact before it is written (tests, shutdown).
    Flush(oneshot::Sender<()>),
}

/// What an observation says of one managed account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    pub account: String,
    pub name: String,
    pub email: String,
    pub organizational_unit: Option<String>,
    pub organizational_unit_name: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// What the recorder needs of the settings.
#[derive(Debug, Clone)]
pub struct RecordsConfig {
    pub tables: Tables,
    pub lifetimes: Lifetimes,
    pub environment: String,
    /// Where activity events go (the automation account's bus).
    pub event_bus: String,
    pub cost_tag: String,
    pub holder_tag: String,
}

impl RecordsConfig {
    pub fn of(settings: &spa_schema::Settings, event_bus: &str) -> RecordsConfig {
        RecordsConfig {
            tables: Tables::of(settings),
            lifetimes: Lifetimes::of(settings),
            environment: settings.environment_identifier.value.clone(),
            event_bus: event_bus.to_string(),
            cost_tag: settings.features.with_cost_management_tag.value.clone(),
            holder_tag: settings.holder_tag(),
        }
    }
}

/// What the recorder did, for /status and metrics.
#[derive(Debug, Default)]
pub struct RecorderCounters {
    pub written: AtomicU64,
    pub dropped: AtomicU64,
    pub errors: AtomicU64,
    pub skipped: AtomicU64,
}

/// The recorder's handle: cheap to share; the writer task lives as long as it.
pub struct Recorder {
    sender: mpsc::Sender<Fact>,
    pub counters: Arc<RecorderCounters>,
    /// Open transactions, as last written.
    open: Arc<Mutex<BTreeMap<String, Transaction>>>,
    config: Arc<RwLock<RecordsConfig>>,
}

impl Recorder {
    /// Starts the writer: it first reads the shadows and open transactions, then writes
    /// facts as they come.
    pub fn start(
        aws: Aws,
        clock: Clock,
        config: RecordsConfig,
        metrics: Arc<FleetMetrics>,
    ) -> Arc<Recorder> {
        let (sender, receiver) = mpsc::channel(CAPACITY);
        let recorder = Arc::new(Recorder {
            sender,
            counters: Arc::default(),
            open: Arc::default(),
            config: Arc::new(RwLock::new(config)),
        });
        let writer = Writer {
            aws,
            clock,
            metrics,
            counters: recorder.counters.clone(),
            open: recorder.open.clone(),
            config: recorder.config.clone(),
            shadows: HashMap::new(),
            loaded_shadows: false,
            loaded_transactions: false,
            last_load_ms: None,
        };
        tokio::spawn(writer.run(receiver));
        recorder
    }

    /// Hands a fact to the writer; never waits (a full queue drops it, counted).
    pub fn record(&self, fact: Fact) {
        if self.sender.try_send(fact).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Takes an expired transaction out of the open ones now (its deletion is queued as
    /// `Fact::Expired`): a slow or full queue never gets it raised twice.
    pub fn forget(&self, account: &str) {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(account);
    }

    /// Waits until every fact handed so far is written.
    pub async fn flush(&self) {
        let (reply, done) = oneshot::channel();
        if self.sender.send(Fact::Flush(reply)).await.is_ok() {
            let _ = done.await;
        }
    }

    pub fn set_config(&self, config: RecordsConfig) {
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = config;
    }

    pub fn config(&self) -> RecordsConfig {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The open transactions, oldest first.
    pub fn open_transactions(&self) -> Vec<Transaction> {
        let mut open: Vec<Transaction> = self
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        open.sort_by_key(|t| t.begin_ms);
        open
    }

    /// The transactions open for longer than their lifetime at `now_ms`.
    pub fn expired(&self, now_ms: i64) -> Vec<Transaction> {
        let lifetime = self.config().lifetimes.transactions_seconds;
        let limit = i64::try_from(lifetime)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        self.open_transactions()
            .into_iter()
            .filter(|t| now_ms.saturating_sub(t.begin_ms) > limit)
            .collect()
    }
}

struct Writer {
    aws: Aws,
    clock: Clock,
    metrics: Arc<FleetMetrics>,
    counters: Arc<RecorderCounters>,
    open: Arc<Mutex<BTreeMap<String, Transaction>>>,
    config: Arc<RwLock<RecordsConfig>>,
    shadows: HashMap<String, Shadow>,
    /// Whether the shadows and the open transactions were read: until they are, they are
    /// read again before a fact (at most every [`RELOAD_MS`]), and no shadow is written —
    /// one written from nothing would drop the history kept in the table.
    loaded_shadows: bool,
    loaded_transactions: bool,
    last_load_ms: Option<i64>,
}

/// How often a recorder that could not read the tables tries again.
const RELOAD_MS: i64 = 30_000;

/// The label of an event put on the bus, and the account it is about.
fn label_and_account(entry: &EventEntry) -> Option<(String, String)> {
    let account = entry.detail["Account"]
        .as_str()
        .or_else(|| entry.detail["Payload"]["account"].as_str())?;
    Some((entry.detail_type.clone(), account.to_string()))
}

const ACCOUNT_EVENTS: [&str; 6] = [
    "CreatedAccount",
    "AssignedAccount",
    "PreparedAccount",
    "ReleasedAccount",
    "ExpiredAccount",
    "PurgedAccount",
];

impl Writer {
    fn config(&self) -> RecordsConfig {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    async fn run(mut self, mut receiver: mpsc::Receiver<Fact>) {
        self.load().await;
        while let Some(fact) = receiver.recv().await {
            let now_ms = (self.clock)();
            let due = self
                .last_load_ms
                .is_none_or(|at| now_ms.saturating_sub(at) >= RELOAD_MS);
            if !(self.loaded_shadows && self.loaded_transactions) && due {
                self.load().await;
            }
            self.handle(fact).await;
        }
    }

    /// Reads what is already recorded and not read yet (a restarted controller goes on
    /// from there).
    async fn load(&mut self) {
        self.last_load_ms = Some((self.clock)());
        let tables = self.config().tables;
        if !self.loaded_shadows {
            self.load_shadows(&tables).await;
        }
        if self.loaded_transactions {
            return;
        }
        match self.aws.all_records(&tables.transactions).await {
            Ok(items) => {
                let (open, skipped) = parse_all::<Transaction>(&tables.transactions, items);
                self.counters
                    .skipped
                    .fetch_add(skipped as u64, Ordering::Relaxed);
                // The table is the reference: what this process opened meanwhile is in it,
                // or was there already with an older begin.
                let mut current = self.open.lock().unwrap_or_else(|p| p.into_inner());
                for transaction in open {
                    current.insert(transaction.account.clone(), transaction);
                }
                self.loaded_transactions = true;
            }
            Err(error) => self.failed("read the open transactions", &error),
        }
    }

    async fn load_shadows(&mut self, tables: &Tables) {
        match self.aws.all_records(&tables.shadows).await {
            Ok(items) => {
                let (shadows, skipped) = parse_all::<Shadow>(&tables.shadows, items);
                self.counters
                    .skipped
                    .fetch_add(skipped as u64, Ordering::Relaxed);
                self.shadows = shadows
                    .into_iter()
                    .map(|s| (s.account.clone(), s))
                    .collect();
                self.loaded_shadows = true;
            }
            Err(error) => self.failed(
                "read the shadows (none is written until they are read)",
                &error,
            ),
        }
    }

    fn failed(&self, what: &str, error: &crate::aws::AwsError) {
        self.counters.errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("cannot {what}: {error}");
    }

    fn written(&self) {
        self.counters.written.fetch_add(1, Ordering::Relaxed);
    }

    async fn handle(&mut self, fact: Fact) {
        match fact {
            Fact::Emitted { entries, at_ms } => {
                for entry in entries {
                    self.emitted(&entry, at_ms).await;
                }
            }
            Fact::Login {
                account,
                identity,
                id,
                at_ms,
            } => self.login(&account, &identity, &id, at_ms).await,
            Fact::Report {
                account,
                label,
                message,
                at_ms,
            } => {
                let message: String = message.chars().take(REPORT_LIMIT).collect();
                self.update_shadow(&account, |shadow| {
                    shadow.stamps.insert(label.clone(), rfc3339_ms(at_ms));
                    if label == "PurgeReport" {
                        shadow.purge_report = Some(message.clone());
                    } else {
                        shadow.preparation_report = Some(message.clone());
                    }
                })
                .await;
            }
            Fact::Accounts(accounts) => {
                for info in accounts {
                    self.observed(info).await;
                }
            }
            Fact::Expired { account } => {
                let tables = self.config().tables;
                match self
                    .aws
                    .delete_record(&tables.transactions, &account_key(&account))
                    .await
                {
                    Ok(()) => {
                        self.open
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&account);
                    }
                    Err(error) => self.failed("delete the transaction", &error),
                }
            }
            Fact::Flush(reply) => {
                let _ = reply.send(());
            }
        }
    }

    /// The shadow of `account` with `change` made, written when it changed (or its lifetime
    /// is half gone).
    async fn update_shadow(&mut self, account: &str, change: impl FnOnce(&mut Shadow)) {
        if !self.loaded_shadows {
            // Counted once, as the failed read.
            tracing::debug!(account, "shadow not written: the shadows are not read yet");
            return;
        }
        let config = self.config();
        let now_ms = (self.clock)();
        let mut shadow = self.shadows.get(account).cloned().unwrap_or(Shadow {
            account: account.to_string(),
            ..Shadow::default()
        });
        let before = shadow.clone();
        change(&mut shadow);
        let lifetime = i64::try_from(config.lifetimes.shadows_seconds).unwrap_or(i64::MAX / 2);
        let now = now_ms / 1000;
        if shadow == before && shadow.expires_at - now > lifetime / 2 {
            return;
        }
        shadow.expires_at = now.saturating_add(lifetime);
        match self
            .aws
            .put_record(&config.tables.shadows, &to_item(&shadow))
            .await
        {
            Ok(()) => {
                self.written();
                self.shadows.insert(account.to_string(), shadow);
            }
            Err(error) => self.failed("write a shadow", &error),
        }
    }

    async fn observed(&mut self, info: AccountInfo) {
        self.update_shadow(&info.account.clone(), |shadow| {
            shadow.name = info.name;
            shadow.email = info.email;
            shadow.organizational_unit = info.organizational_unit;
            shadow.organizational_unit_name = info.organizational_unit_name;
            shadow.tags = info.tags;
        })
        .await;
    }

    /// The cost center and the holder (or e-mail) of an account, from its shadow.
    fn who(
        &self,
        account: &str,
        config: &RecordsConfig,
    ) -> (String, String, BTreeMap<String, String>) {
        let shadow = self.shadows.get(account);
        let tags = shadow.map(|s| s.tags.clone()).unwrap_or_default();
        let cost_center = super::cost_center(tags.get(&config.cost_tag).map(String::as_str));
        let identifier = tags
            .get(&config.holder_tag)
            .cloned()
            .or_else(|| shadow.map(|s| s.email.clone()))
            .unwrap_or_default();
        (cost_center, identifier, tags)
    }

    async fn emitted(&mut self, entry: &EventEntry, at_ms: i64) {
        let Some((label, account)) = label_and_account(entry) else {
            return;
        };
        if label.ends_with("Exception") {
            self.metrics
                .count("ExceptionsByLabel", ("Label", &label), 1.0);
        }
        if !ACCOUNT_EVENTS.contains(&label.as_str()) {
            return;
        }
        // The same event again, or one older than what the account went through since: a
        // replay, which changes nothing.
        let at = rfc3339_ms(at_ms);
        if let Some(shadow) = self.shadows.get(&account) {
            let latest = ACCOUNT_EVENTS
                .iter()
                .filter_map(|l| shadow.stamps.get(*l))
                .max();
            if shadow.stamps.get(&label) == Some(&at) || latest.is_some_and(|l| *l > at) {
                return;
            }
        }
        self.metrics
            .count("AccountEventsByLabel", ("Label", &label), 1.0);
        self.metrics
            .count("AccountEventsByAccount", ("Account", &account), 1.0);
        self.update_shadow(&account, |shadow| {
            shadow.stamps.insert(label.clone(), at);
            shadow.last_event = Some(label.clone());
        })
        .await;
        match label.as_str() {
            "CreatedAccount" => self.open(&account, "OnBoardingTransaction", at_ms).await,
            "ExpiredAccount" => self.open(&account, "MaintenanceTransaction", at_ms).await,
            "ReleasedAccount" => self.close(&account, at_ms).await,
            _ => {}
        }
    }

    /// Opens a transaction unless one is open for the account.
    async fn open(&mut self, account: &str, transaction: &str, at_ms: i64) {
        let config = self.config();
        if self
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(account)
        {
            return;
        }
        let (cost_center, identifier, _) = self.who(account, &config);
        let lifetime = i64::try_from(config.lifetimes.transactions_seconds).unwrap_or(0);
        let record = Transaction {
            account: account.to_string(),
            transaction: transaction.to_string(),
            begin: rfc3339_ms(at_ms),
            begin_ms: at_ms,
            cost_center,
            identifier,
            // Kept past its lifetime, so that spa sees it expire and says so.
            expires_at: (at_ms / 1000)
                .saturating_add(lifetime.saturating_mul(2))
                .saturating_add(86_400),
        };
        match self
            .aws
            .put_new_record(&config.tables.transactions, &to_item(&record), "account")
            .await
        {
            Ok(written) => {
                // Not written: the table has it already (an older begin, which a load of
                // the table brings in); this one keeps the close working meanwhile.
                if written {
                    self.written();
                }
                self.open
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(account.to_string(), record);
            }
            Err(error) => self.failed("write a transaction", &error),
        }
    }

    /// Closes the open transaction of an account: its activity, its event, its counts.
    async fn close(&mut self, account: &str, at_ms: i64) {
        let config = self.config();
        let Some(open) = self
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
            .cloned()
        else {
            return;
        };
        let label = if open.transaction == "OnBoardingTransaction" {
            "SuccessfulOnBoardingEvent"
        } else {
            "SuccessfulMaintenanceEvent"
        };
        let activity = Activity {
            day: day_of(at_ms),
            stamp: stamp_of(at_ms, &format!("{account}-{}", open.begin_ms)),
            label: label.to_string(),
            transaction: open.transaction.clone(),
            account: account.to_string(),
            cost_center: open.cost_center.clone(),
            identifier: open.identifier.clone(),
            begin: open.begin.clone(),
            end: rfc3339_ms(at_ms),
            duration: (at_ms - open.begin_ms).max(0) / 1000,
            expires_at: 0,
        };
        // Without its activity, the transaction stays open: it expires and is raised,
        // rather than the on-boarding or maintenance vanishing from the records.
        if !self.activity(activity, &config).await {
            return;
        }
        match self
            .aws
            .delete_record(&config.tables.transactions, &account_key(account))
            .await
        {
            Ok(()) => {
                self.open
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(account);
            }
            Err(error) => self.failed("write the end of a transaction", &error),
        }
    }

    async fn login(&mut self, account: &str, identity: &str, id: &str, at_ms: i64) {
        let config = self.config();
        let (cost_center, _, _) = self.who(account, &config);
        let at = rfc3339_ms(at_ms);
        let activity = Activity {
            day: day_of(at_ms),
            stamp: stamp_of(at_ms, id),
            label: "ConsoleLoginEvent".to_string(),
            transaction: "ConsoleLoginTransaction".to_string(),
            account: account.to_string(),
            cost_center,
            identifier: identity.to_string(),
            begin: at.clone(),
            end: at.clone(),
            duration: 0,
            expires_at: 0,
        };
        let _ = self.activity(activity, &config).await;
        self.update_shadow(account, |shadow| {
            shadow.stamps.insert("ConsoleLogin".to_string(), at.clone());
            shadow.console_login = Some(Login {
                identity: identity.to_string(),
                at,
            });
        })
        .await;
    }

    /// Writes an activity if it is new; then counts it and puts its event on the bus.
    /// False when it could not be written (the caller keeps what would be lost).
    async fn activity(&mut self, mut activity: Activity, config: &RecordsConfig) -> bool {
        let lifetime = i64::try_from(config.lifetimes.activities_seconds).unwrap_or(0);
        let end_ms = activity
            .end
            .parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .unwrap_or_else(|_| (self.clock)());
        activity.expires_at = (end_ms / 1000).saturating_add(lifetime);
        let new = match self
            .aws
            .put_new_record(&config.tables.activities, &to_item(&activity), "day")
            .await
        {
            Ok(new) => new,
            Err(error) => {
                self.failed("write an activity", &error);
                return false;
            }
        };
        if !new {
            return true;
        }
        self.written();
        self.metrics
            .count("TransactionsByLabel", ("Label", &activity.transaction), 1.0);
        self.metrics.count(
            "TransactionsByCostCenter",
            ("CostCenter", &activity.cost_center),
            1.0,
        );
        let (_, _, tags) = self.who(&activity.account, config);
        let mut payload = serde_json::Map::new();
        payload.insert("account".into(), activity.account.clone().into());
        payload.insert("cost-center".into(), activity.cost_center.clone().into());
        payload.insert("transaction".into(), activity.transaction.clone().into());
        payload.insert("begin".into(), activity.begin.clone().into());
        payload.insert("end".into(), activity.end.clone().into());
        payload.insert("duration".into(), activity.duration.into());
        payload.insert("identifier".into(), activity.identifier.clone().into());
        for (key, value) in tags {
            payload.entry(key).or_insert(value.into());
        }
        let entry = crate::lifecycle::events::payload_event_for(
            &config.environment,
            &activity.label,
            &payload,
        );
        if let Err(error) = self.aws.put_events(&config.event_bus, &[entry]).await {
            tracing::warn!(account = %activity.account, "cannot emit {}: {error}", activity.label);
        }
        true
    }
}
