//! The life-cycle engine wired for one command: the settings, AWS, the managed accounts
//! read (all, or the one a command is about), progress to the terminal.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use spa_schema::{Resolver, Settings};

use super::connect::{connect, connect_and_observe, runtime};
use super::settings::open_valid;
use crate::aws::{Aws, AwsError};
use crate::cli::Failure;
use crate::cli::args::{AwsArgs, SourceArgs};
use crate::cli::terminal::Term;
use crate::lifecycle::engine::{Engine, EngineOptions, Known, Step, accounts_from};
use crate::lifecycle::machine::{Job, State};

/// What a command reads: the whole organization, or one account (a few calls, whatever
/// the size of the fleet).
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    All,
    One(&'a str),
}

/// An engine ready to act on the accounts read.
pub struct Context {
    pub runtime: tokio::runtime::Runtime,
    pub settings: Arc<Settings>,
    /// The managed accounts read (all, or the one a command is about).
    pub known: BTreeMap<String, Known>,
    pub names: BTreeMap<String, String>,
    pub engine: Arc<Engine>,
    /// What the recorder counts (sent at the end, with `--records`).
    pub metrics: Arc<crate::monitoring::FleetMetrics>,
}

impl Context {
    pub fn name_of(&self, account: &str) -> &str {
        self.names.get(account).map_or("", String::as_str)
    }

    /// Waits until what the command recorded is written, and sends what it counted to
    /// CloudWatch.
    pub fn finish(&self) {
        if let Some(recorder) = self.engine.recorder() {
            self.runtime.block_on(async {
                recorder.flush().await;
                if let Err(error) = self
                    .metrics
                    .flush(self.engine.aws(), self.engine.now_ms())
                    .await
                {
                    tracing::warn!("cannot send the fleet's metrics to CloudWatch: {error}");
                }
            });
        }
    }
}

/// Reads the settings and the accounts of `scope`, and builds the engine (recording what
/// happens with `records`); every step it takes is shown on `term`'s stderr.
pub fn context(
    source: &SourceArgs,
    aws: &AwsArgs,
    options: EngineOptions,
    scope: Scope,
    records: bool,
    term: &Term,
) -> Result<Context, Failure> {
    let (_, settings) = open_valid(source, "nothing was changed", term.diagnostics_style())?;
    let settings = Arc::new(settings);
    let runtime = runtime()?;
    let mut observed_accounts = Vec::new();
    let (client, known, names) = match scope {
        Scope::All => {
            let (client, observation) = connect_and_observe(&runtime, aws, &settings, term)?;
            if !observation.complete {
                let errors: Vec<String> = observation
                    .errors
                    .iter()
                    .map(|e| format!("{}: {}", e.target, e.message))
                    .collect();
                return Err(Failure::Runtime(anyhow::anyhow!(
                    "the organization could not be read completely; nothing was changed: {}",
                    errors.join("; ")
                )));
            }
            let names = observation
                .accounts
                .values()
                .map(|a| (a.id.clone(), a.name.clone()))
                .collect();
            observed_accounts = crate::records::accounts_of(&observation);
            (client, accounts_from(&observation), names)
        }
        Scope::One(account) => runtime.block_on(async {
            let client = connect(aws, Some(&settings)).await;
            let (known, name) = one_account(&client, &settings, account).await?;
            Ok::<_, Failure>((
                client,
                BTreeMap::from([(account.to_string(), known)]),
                BTreeMap::from([(account.to_string(), name)]),
            ))
        })?,
    };
    let event_bus = options.event_bus.clone();
    let mut engine = Engine::new(
        client.clone(),
        crate::aws::system_clock(),
        options,
        settings.clone(),
    );
    let metrics = Arc::new(crate::monitoring::FleetMetrics::new(
        &settings.environment_identifier.value,
    ));
    if records {
        let _guard = runtime.enter();
        let recorder = crate::records::Recorder::start(
            client,
            crate::aws::system_clock(),
            crate::records::RecordsConfig::of(&settings, &event_bus),
            metrics.clone(),
        );
        recorder.record(crate::records::Fact::Accounts(observed_accounts));
        engine = engine.with_recorder(recorder);
    }
    engine.set_accounts(known.clone());
    let (progress_names, term) = (names.clone(), term.clone());
    let engine = engine.with_observer(move |step| {
        term.err(&format!("{}\n", step_line(&progress_names, step)));
    });
    Ok(Context {
        runtime,
        settings,
        known,
        names,
        engine: Arc::new(engine),
        metrics,
    })
}

/// One account, if settings manage it: listed, or in a listed organizational unit.
/// Anything else is a usage error: spa changes (and reads) only what settings own.
pub async fn one_account(
    aws: &Aws,
    settings: &Settings,
    account: &str,
) -> Result<(Known, String), Failure> {
    let not_managed = |why: &str| {
        Failure::Usage(format!(
            "account {account} is not managed by these settings: {why}; spa changes only what settings own"
        ))
    };
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_managed("an account id is 12 digits"));
    }
    let parents = match aws.parents(account).await {
        Ok(parents) => parents,
        Err(error) if error.kind == crate::aws::ErrorKind::NotFound => {
            return Err(not_managed("it is not in the organization"));
        }
        Err(error) => {
            return Err(Failure::Runtime(anyhow::anyhow!(
                "cannot read account {account}: {error}"
            )));
        }
    };
    let resolver = Resolver::new(settings);
    let unit = parents
        .first()
        .map(|p| p.id.clone())
        .filter(|p| resolver.is_listed_organizational_unit(p));
    if unit.is_none() && !resolver.is_listed_account(account) {
        return Err(not_managed(
            "it is neither listed nor in a listed organizational unit",
        ));
    }
    let read = async {
        let info = aws.account(account).await?;
        let tags = aws.tags(account).await?;
        Ok::<_, AwsError>((info, tags))
    };
    let (info, tags) = read
        .await
        .map_err(|e| Failure::Runtime(anyhow::anyhow!("cannot read account {account}: {e}")))?;
    let known = Known {
        parent: unit,
        email: info.email,
        tags: Some(tags.into_iter().map(|t| (t.key, t.value)).collect()),
    };
    Ok((known, info.name))
}

/// One line of progress: `785090654109 dana-eng              vanilla → assigned`.
fn step_line(names: &BTreeMap<String, String>, step: &Step) -> String {
    let name = |account: &str| {
        format!(
            "{account} {:<20}",
            names.get(account).map(String::as_str).unwrap_or_default()
        )
    };
    match step {
        Step::Transition { account, from, to } => format!(
            "{}  {} → {}",
            name(account),
            from.as_deref().unwrap_or("(none)"),
            to.as_str()
        ),
        Step::BuildStarted {
            account,
            job,
            build,
            attempt,
        } => format!(
            "{}  {} build started (attempt {attempt}): {build}",
            name(account),
            job.label()
        ),
        Step::BuildEnded {
            account,
            job,
            status,
            ..
        } => format!("{}  {} build {status}", name(account), job.label()),
        Step::Parked { account, reason } => format!("{}  PARKED: {reason}", name(account)),
        Step::Failed { account, error } => {
            format!("{}  failed, will retry: {error}", name(account))
        }
    }
}

/// Moves `targets` to `state`, eight at a time; the accounts that failed, with why.
pub fn force_states(
    context: &Context,
    targets: Vec<String>,
    state: State,
) -> Vec<(String, crate::lifecycle::engine::StepError)> {
    let engine = context.engine.clone();
    let results: Vec<(String, Result<(), crate::lifecycle::engine::StepError>)> =
        context.runtime.block_on(async {
            futures::stream::iter(targets)
                .map(|account| {
                    let engine = engine.clone();
                    async move {
                        let result = engine.force_state(&account, state).await;
                        (account, result)
                    }
                })
                .buffer_unordered(8)
                .collect()
                .await
        });
    results
        .into_iter()
        .filter_map(|(account, result)| result.err().map(|e| (account, e)))
        .collect()
}

/// How `drive` goes on.
#[derive(Debug, Clone)]
pub struct Drive {
    /// Return when nothing is left to do without an event or the window.
    pub until_idle: bool,
    /// Give up waiting (with `until_idle`) after this long.
    pub timeout: Duration,
    /// Without `until_idle`: the queue the EventBridge rules feed, and the sweep.
    pub queue_url: Option<String>,
    pub sweep_interval: Duration,
}

/// What `drive` did.
#[derive(Debug)]
pub struct Driven {
    /// False when `timeout` passed first.
    pub finished: bool,
    pub transitions: u64,
    pub builds_started: u64,
    pub parked: u64,
    pub events: u64,
    /// Accounts per state, read again at the end.
    pub states: BTreeMap<String, usize>,
}

/// Drives every account read as far as it can go (or, without `until_idle`, until
/// interrupted), then reads their states again.
pub fn drive(context: &Context, drive: &Drive) -> Driven {
    let engine = context.engine.clone();
    let finished = context.runtime.block_on(async {
        engine.queue_all();
        if drive.until_idle {
            tokio::time::timeout(drive.timeout, engine.work(true))
                .await
                .is_ok()
        } else {
            // Without the settings loop of the controller: the window, the sweep, and the
            // queue when one is given.
            let tasks = crate::lifecycle::triggers::spawn(
                &engine,
                drive.queue_url.clone(),
                drive.sweep_interval,
            );
            tokio::select! {
                _ = engine.work(false) => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            for task in tasks {
                task.abort();
            }
            true
        }
    });
    context.finish();
    let states = context
        .runtime
        .block_on(crate::observe::observe(
            context.engine.aws(),
            &context.settings,
        ))
        .counts_by_state(&context.settings.state_tag());
    let counters = &context.engine.counters;
    Driven {
        finished,
        transitions: counters.transitions.get(),
        builds_started: counters.builds_started.get(),
        parked: counters.parked.get(),
        events: counters.events.get(),
        states,
    }
}

/// A project spa runs inside an account, and its last builds.
#[derive(Debug)]
pub struct Project {
    pub name: &'static str,
    /// `None`: not created yet.
    pub arn: Option<String>,
    /// The five most recent, newest first.
    pub builds: Vec<crate::aws::BuildInfo>,
}

/// The preparation and purge projects inside `account` (which settings must manage), read
/// through the member role.
pub fn builds(
    source: &SourceArgs,
    aws: &AwsArgs,
    account: &str,
    term: &Term,
) -> Result<(String, Vec<Project>), Failure> {
    let (_, settings) = open_valid(source, "nothing was read", term.diagnostics_style())?;
    let role = settings
        .automation
        .role_name_to_manage_codebuild
        .value
        .clone();
    let runtime = runtime()?;
    let projects = runtime.block_on(async {
        let client = connect(aws, Some(&settings)).await;
        // Only inside an account settings manage, even to read.
        one_account(&client, &settings, account).await?;
        let read = async {
            let member = client.member(account).await?;
            let mut projects = Vec::new();
            for job in [Job::Preparation, Job::Purge] {
                let arn = member.project_arn(job.project()).await?;
                let mut builds = Vec::new();
                if arn.is_some() {
                    let ids = member.recent_builds(job.project()).await?;
                    if !ids.is_empty() {
                        builds = member.builds(&ids[..ids.len().min(100)]).await?;
                    }
                    builds.sort_by_key(|b| std::cmp::Reverse(b.started_ms));
                    builds.truncate(5);
                }
                projects.push(Project {
                    name: job.project(),
                    arn,
                    builds,
                });
            }
            Ok::<_, AwsError>(projects)
        };
        read.await.map_err(|e| {
            Failure::Runtime(anyhow::anyhow!("cannot read CodeBuild in {account}: {e}"))
        })
    })?;
    Ok((role, projects))
}
