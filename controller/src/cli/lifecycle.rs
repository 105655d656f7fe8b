//! `spa lifecycle …`: the operator's commands on the account life cycle. Each shows what it
//! will do and changes nothing without `--yes` (or `yes` typed at a terminal prompt).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use futures::StreamExt;
use spa_schema::{Resolver, Settings};

use super::apply::confirm;
use super::validate::{connect_and_observe, load_valid};
use super::{AwsArgs, Failure, Format, Output, SourceArgs, runtime};
use crate::aws::Aws;
use crate::lifecycle::engine::{Engine, EngineOptions, Known, Step, accounts_from};
use crate::lifecycle::machine::State;

#[derive(Debug, Subcommand)]
pub enum LifecycleCommand {
    /// List anomalies: missing or invalid state or holder tags, tags that differ from
    /// settings, parked accounts, accounts stuck in a state. Exit code 4 when any is found.
    Check(CheckArgs),
    /// Move every active managed account that is not released to released.
    ReleaseAll(BulkArgs),
    /// Move every managed account to vanilla, so that each is prepared again.
    ResetAll(BulkArgs),
    /// Run the maintenance window now: released accounts expire and are purged, then go
    /// round again as far as they can without waiting.
    ExpireNow(RunArgs),
    /// Move one account to a state (and lift a park).
    SetState(SetStateArgs),
    /// Show the preparation and purge projects inside one account and their last builds.
    Builds(BuildsArgs),
    /// Drive every managed account as far as it can go: with --until-idle, exit when
    /// nothing is left to do without an external event or the maintenance window.
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct CommonArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// The EventBridge bus of the automation account for spa's events (name or ARN).
    #[arg(long, default_value = "default", value_name = "BUS")]
    pub event_bus: String,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// An account in vanilla, assigned or expired longer than this is reported as stuck.
    #[arg(long, default_value = "24h", value_parser = crate::time::parse_duration, value_name = "DURATION")]
    pub stuck_after: Duration,

    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct BulkArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Do it, without asking.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct SetStateArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// The account (12 digits).
    pub account: String,

    /// vanilla, assigned, released or expired.
    #[arg(value_parser = parse_state)]
    pub state: State,

    /// Do it, without asking.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct BuildsArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// The account (12 digits).
    pub account: String,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Exit when every account is as far as it can go (builds waited for).
    #[arg(long)]
    pub until_idle: bool,

    /// How often running builds are polled when no event says they ended.
    #[arg(long, default_value = "10s", value_parser = crate::time::parse_duration, value_name = "DURATION")]
    pub poll: Duration,

    /// Give up waiting after this long (with --until-idle).
    #[arg(long, default_value = "2h", value_parser = crate::time::parse_duration, value_name = "DURATION")]
    pub timeout: Duration,

    /// Accounts worked on at once.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub concurrency: usize,

    /// Without --until-idle: the SQS queue the EventBridge rules feed (docs/lifecycle.md).
    #[arg(long, value_name = "URL", env = "SPA_QUEUE_URL")]
    pub queue_url: Option<String>,

    /// Without --until-idle: how often every account not released is looked at.
    #[arg(long, default_value = "15m", value_parser = crate::time::parse_duration, value_name = "DURATION")]
    pub sweep_interval: Duration,

    /// Do it, without asking.
    #[arg(long)]
    pub yes: bool,
}

/// `26h 5m`, `12m`.
fn hours(seconds: i64) -> String {
    let minutes = seconds / 60;
    if minutes >= 60 {
        format!("{}h {}m", minutes / 60, minutes % 60)
    } else {
        format!("{minutes}m")
    }
}

fn parse_state(text: &str) -> Result<State, String> {
    State::parse(text).ok_or_else(|| {
        format!("`{text}` is not a state: expected vanilla, assigned, released or expired")
    })
}

pub fn run(command: &LifecycleCommand) -> Result<Output, Failure> {
    match command {
        LifecycleCommand::Check(args) => check(args),
        LifecycleCommand::ReleaseAll(args) => bulk(args, State::Released),
        LifecycleCommand::ResetAll(args) => bulk(args, State::Vanilla),
        LifecycleCommand::ExpireNow(args) => drive(args, true),
        LifecycleCommand::SetState(args) => set_state(args),
        LifecycleCommand::Run(args) => drive(args, false),
        LifecycleCommand::Builds(args) => builds(args),
    }
}

fn builds(args: &BuildsArgs) -> Result<Output, Failure> {
    let source = args.common.source.open()?;
    let settings = load_valid(&source, &args.common.source.settings, "nothing was read")?;
    let runtime = runtime()?;
    let role = settings
        .automation
        .role_name_to_manage_codebuild
        .value
        .clone();
    let options = args.common.aws.options(Some(&settings));
    let aws = runtime.block_on(crate::aws::sdk::connect(
        &options,
        args.common.aws.limiters(),
    ));
    // Only inside an account settings manage, even to read.
    runtime.block_on(one_account(&aws, &settings, &args.account))?;
    let account = args.account.clone();
    let text = runtime.block_on(async move {
        let client = aws.member(&account).await?;
        let mut text = format!("CodeBuild in {account} (through the role {role}):\n");
        for job in [
            crate::lifecycle::machine::Job::Preparation,
            crate::lifecycle::machine::Job::Purge,
        ] {
            match client.project_arn(job.project()).await? {
                None => {
                    let _ = writeln!(text, "  {:<32}  no project yet", job.project());
                }
                Some(arn) => {
                    let _ = writeln!(text, "  {:<32}  {arn}", job.project());
                    let ids = client.recent_builds(job.project()).await?;
                    let mut infos = if ids.is_empty() {
                        Vec::new()
                    } else {
                        client.builds(&ids[..ids.len().min(100)]).await?
                    };
                    infos.sort_by_key(|b| std::cmp::Reverse(b.started_ms));
                    for build in infos.iter().take(5) {
                        let _ = writeln!(
                            text,
                            "    {}  {:<11}  {}",
                            crate::time::rfc3339(
                                jiff::Timestamp::from_millisecond(build.started_ms)
                                    .unwrap_or_default()
                            ),
                            format!("{:?}", build.status).to_lowercase(),
                            build.id
                        );
                    }
                }
            }
        }
        Ok::<String, crate::aws::AwsError>(text)
    });
    let stdout = text.map_err(|e| {
        Failure::Runtime(anyhow::anyhow!(
            "cannot read CodeBuild in {}: {e}",
            args.account
        ))
    })?;
    Ok(Output {
        stdout,
        ..Output::default()
    })
}

struct Context {
    runtime: tokio::runtime::Runtime,
    settings: Arc<Settings>,
    /// The managed accounts read (all, or the one a command is about).
    known: BTreeMap<String, Known>,
    names: BTreeMap<String, String>,
    engine: Arc<Engine>,
}

impl Context {
    fn name_of(&self, account: &str) -> &str {
        self.names.get(account).map_or("", String::as_str)
    }
}

/// What a command reads: the whole organization, or one account (a few calls, whatever
/// the size of the fleet).
#[derive(Clone, Copy)]
enum Scope<'a> {
    All,
    One(&'a str),
}

/// One account, if settings manage it: listed, or in a listed organizational unit.
async fn one_account(
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
        Ok::<_, crate::aws::AwsError>((info, tags))
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

fn progress(names: &BTreeMap<String, String>, step: &Step) {
    let name = |account: &str| {
        format!(
            "{account} {:<20}",
            names.get(account).map(String::as_str).unwrap_or_default()
        )
    };
    let line = match step {
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
    };
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn context(common: &CommonArgs, options: EngineOptions, scope: Scope) -> Result<Context, Failure> {
    let source = common.source.open()?;
    let settings = Arc::new(load_valid(
        &source,
        &common.source.settings,
        "nothing was changed",
    )?);
    let runtime = runtime()?;
    let (aws, known, names) = match scope {
        Scope::All => {
            let (aws, observation) = connect_and_observe(&runtime, &common.aws, &settings)?;
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
            (aws, accounts_from(&observation), names)
        }
        Scope::One(account) => runtime.block_on(async {
            let aws = crate::aws::sdk::connect(
                &common.aws.options(Some(&settings)),
                common.aws.limiters(),
            )
            .await;
            let (known, name) = one_account(&aws, &settings, account).await?;
            Ok::<_, Failure>((
                aws,
                BTreeMap::from([(account.to_string(), known)]),
                BTreeMap::from([(account.to_string(), name)]),
            ))
        })?,
    };
    let engine = Engine::new(aws, crate::aws::system_clock(), options, settings.clone());
    engine.set_accounts(known.clone());
    let progress_names = names.clone();
    Ok(Context {
        runtime,
        settings,
        known,
        names,
        engine: Arc::new(engine.with_observer(move |step| progress(&progress_names, step))),
    })
}

fn ask(yes: bool, question: &str, preview: &str) -> Result<(), Failure> {
    let _ = std::io::stdout().write_all(preview.as_bytes());
    let _ = std::io::stdout().flush();
    if yes || confirm(question) {
        return Ok(());
    }
    Err(Failure::Refused(
        "not confirmed: pass --yes to go ahead; nothing was changed".to_string(),
    ))
}

/// One anomaly of one account.
#[derive(Debug, serde::Serialize)]
struct Anomaly {
    account: String,
    name: String,
    anomaly: String,
}

fn anomalies(context: &Context, now_ms: i64, stuck_after: Duration) -> Vec<Anomaly> {
    let settings = &context.settings;
    let [state_tag, holder_tag, since_tag, parked_tag] = settings.lifecycle_tags();
    let resolver = Resolver::new(settings);
    let mut found = Vec::new();
    for (id, account) in &context.known {
        let mut add = |anomaly: String| {
            found.push(Anomaly {
                account: id.clone(),
                name: context.name_of(id).to_string(),
                anomaly,
            })
        };
        let Some(tags) = &account.tags else {
            add("tags could not be read".to_string());
            continue;
        };
        match tags.get(&state_tag) {
            None => add(format!("no `{}` tag", state_tag)),
            Some(state) if State::parse(state).is_none() => add(format!(
                "`{}` is `{state}`, not vanilla, assigned, released or expired",
                state_tag
            )),
            Some(state) => {
                let since = tags.get(&since_tag).and_then(|s| s.parse::<i64>().ok());
                if state != State::Released.as_str()
                    && let Some(since) = since
                    && now_ms - since > stuck_after.as_millis() as i64
                {
                    add(format!(
                        "stuck in {state} for {}",
                        hours((now_ms - since) / 1000)
                    ));
                }
            }
        }
        if !tags.contains_key(&holder_tag) {
            add(format!("no `{}` tag", holder_tag));
        }
        if let Some(reason) = tags.get(&parked_tag) {
            add(format!(
                "parked: {reason} (spa lifecycle set-state {id} STATE lifts it)"
            ));
        }
        let effective = resolver.account(id, account.parent.as_deref());
        for (key, value) in &effective.account_tags {
            match tags.get(*key) {
                None => add(format!("tag `{key}` missing (settings: `{}`)", value.value)),
                Some(actual) if actual != value.value => add(format!(
                    "tag `{key}` is `{actual}`, settings say `{}`",
                    value.value
                )),
                Some(_) => {}
            }
        }
        if let Some(unset) = &effective.unset_tags {
            for key in unset.value.iter().filter(|k| tags.contains_key(*k)) {
                add(format!("tag `{key}` should be removed (unset_tags)"));
            }
        }
    }
    found
}

fn check(args: &CheckArgs) -> Result<Output, Failure> {
    let context = context(&args.common, EngineOptions::default(), Scope::All)?;
    let found = anomalies(&context, context.engine.now_ms(), args.stuck_after);
    let known = &context.known;
    let stdout = match args.format {
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({
                "accounts": known.len(),
                "anomalies": found,
            }))
            .unwrap_or_default()
        ),
        Format::Text => {
            let mut text = String::new();
            for anomaly in &found {
                let _ = writeln!(
                    text,
                    "{}  {:<20}  {}",
                    anomaly.account, anomaly.name, anomaly.anomaly
                );
            }
            let _ = writeln!(
                text,
                "{} managed account(s), {} anomal{}.",
                known.len(),
                found.len(),
                if found.len() == 1 { "y" } else { "ies" }
            );
            text
        }
    };
    let output = Output {
        stdout,
        ..Output::default()
    };
    if found.is_empty() {
        Ok(output)
    } else {
        Err(Failure::Changes(output))
    }
}

fn write_all(context: &Context, targets: Vec<String>, state: State) -> Output {
    let engine = context.engine.clone();
    let results: Vec<(String, Result<(), crate::aws::AwsError>)> =
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
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(account, r)| r.as_ref().err().map(|e| format!("{account}: {e}")))
        .collect();
    let mut stdout = format!(
        "{} account(s) moved to {}.\n",
        results.len() - failed.len(),
        state.as_str()
    );
    if state != State::Released {
        stdout.push_str(
            "The controller (or `spa lifecycle run --until-idle --yes`) takes them on from there.\n",
        );
    }
    Output {
        stdout,
        stderr: failed.iter().map(|f| format!("error: {f}\n")).collect(),
        ..Output::default()
    }
}

fn bulk(args: &BulkArgs, state: State) -> Result<Output, Failure> {
    let context = context(&args.common, EngineOptions::default(), Scope::All)?;
    let states = context.engine.known_states();
    let targets: Vec<String> = states
        .iter()
        .filter(|(_, current)| current.as_deref() != Some(state.as_str()))
        .map(|(id, _)| id.clone())
        .collect();
    if targets.is_empty() {
        return Ok(Output {
            stdout: format!(
                "Every managed account is already {}: nothing to do.\n",
                state.as_str()
            ),
            ..Output::default()
        });
    }
    let mut preview = String::new();
    for id in &targets {
        let _ = writeln!(
            preview,
            "  {id}  {:<20}  {} → {}",
            context.name_of(id),
            states[id].as_deref().unwrap_or("(none)"),
            state.as_str()
        );
    }
    let _ = writeln!(
        preview,
        "{} of {} managed account(s) will be moved to {}.",
        targets.len(),
        states.len(),
        state.as_str()
    );
    ask(
        args.yes,
        &format!("Move {} account(s)?", targets.len()),
        &preview,
    )?;
    let output = write_all(&context, targets, state);
    if output.stderr.is_empty() {
        Ok(output)
    } else {
        Err(Failure::Partial(output))
    }
}

fn set_state(args: &SetStateArgs) -> Result<Output, Failure> {
    let context = context(
        &args.common,
        EngineOptions::default(),
        Scope::One(&args.account),
    )?;
    let current = context
        .engine
        .known_states()
        .remove(&args.account)
        .flatten();
    let preview = format!(
        "  {}  {:<20}  {} → {}\n",
        args.account,
        context.name_of(&args.account),
        current.as_deref().unwrap_or("(none)"),
        args.state.as_str()
    );
    ask(args.yes, "Move this account?", &preview)?;
    let output = write_all(&context, vec![args.account.clone()], args.state);
    if output.stderr.is_empty() {
        Ok(output)
    } else {
        Err(Failure::Partial(output))
    }
}

fn drive(args: &RunArgs, expire_now: bool) -> Result<Output, Failure> {
    let options = EngineOptions {
        poll: args.poll,
        concurrency: args.concurrency,
        event_bus: args.common.event_bus.clone(),
        expire_now,
        ..EngineOptions::default()
    };
    let context = context(&args.common, options, Scope::All)?;
    let states = context.engine.known_states();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for state in states.values() {
        *counts
            .entry(state.clone().unwrap_or_else(|| "(none)".to_string()))
            .or_default() += 1;
    }
    let mut preview = String::new();
    let _ = writeln!(
        preview,
        "{} managed account(s): {}",
        states.len(),
        counts
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if expire_now {
        let _ = writeln!(
            preview,
            "The maintenance window runs now: {} released account(s) expire, are purged where purge is enabled, then go round again.",
            counts.get("released").copied().unwrap_or(0)
        );
    } else {
        let _ = writeln!(
            preview,
            "Every account not released is driven on: enrolment, preparation builds, purge builds."
        );
    }
    ask(args.yes, "Go ahead?", &preview)?;
    let engine = context.engine.clone();
    let until_idle = args.until_idle || expire_now;
    let finished = context.runtime.block_on(async {
        engine.queue_all();
        if until_idle {
            tokio::time::timeout(args.timeout, engine.work(true))
                .await
                .is_ok()
        } else {
            // Without the settings loop of the controller: the window, the sweep, and the
            // queue when one is given.
            let tasks = crate::lifecycle::triggers::spawn(
                &engine,
                args.queue_url.clone(),
                args.sweep_interval,
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
    let states = context
        .runtime
        .block_on(async { crate::observe::observe(context.engine.aws(), &context.settings).await })
        .counts_by_state(&context.settings.state_tag());
    let counters = &context.engine.counters;
    let mut stdout = format!(
        "{} transition(s), {} build(s) started, {} account(s) parked, {} event(s) emitted.\nNow: {}\n",
        counters.transitions.get(),
        counters.builds_started.get(),
        counters.parked.get(),
        counters.events.get(),
        states
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !finished {
        stdout.push_str("Stopped waiting: builds still run; run again to go on.\n");
        return Err(Failure::Partial(Output {
            stdout,
            stderr: format!(
                "error: not idle after {}\n",
                hours(args.timeout.as_secs() as i64)
            ),
            ..Output::default()
        }));
    }
    if std::io::stdout().is_terminal() {
        stdout.push_str("`spa lifecycle check` lists anomalies.\n");
    }
    Ok(Output {
        stdout,
        ..Output::default()
    })
}
