//! `spa lifecycle …`: the operator's commands on the account life cycle. Each shows what it
//! will do and changes nothing without `--yes` (or `yes` typed at a terminal prompt).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::ops::confirm::ask;
use super::ops::lifecycle::{Context, Drive, Scope, builds, context, drive, force_states};
use super::{AwsArgs, Failure, Format, Output, SourceArgs, Term};
use crate::lifecycle::check::{anomalies, hours};
use crate::lifecycle::engine::EngineOptions;
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

    /// Keep the records of what happens (shadows, transactions, activities) in the
    /// installation's tables, as the controller does (docs/records.md).
    #[arg(long)]
    pub records: bool,
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

    /// How often running builds are polled when no event says they ended (at least 1s).
    #[arg(long, default_value = "10s", value_parser = super::args::interval, value_name = "DURATION")]
    pub poll: Duration,

    /// Give up waiting after this long (with --until-idle).
    #[arg(long, default_value = "2h", value_parser = crate::time::parse_duration, value_name = "DURATION")]
    pub timeout: Duration,

    /// Accounts worked on at once, 1 to 256.
    #[arg(long, default_value_t = 16, value_name = "N", value_parser = super::args::concurrency())]
    pub concurrency: usize,

    /// Without --until-idle: the SQS queue the EventBridge rules feed (docs/lifecycle.md).
    #[arg(long, value_name = "URL", env = "SPA_QUEUE_URL", value_parser = super::args::queue_url)]
    pub queue_url: Option<String>,

    /// The `<env>Alerts` SQS queue: preparation subscribes each account's SpaAlertTopic to
    /// it, and (without --until-idle) budget alerts on it become exceptions.
    #[arg(long, value_name = "URL", env = "SPA_ALERTS_QUEUE_URL", value_parser = super::args::queue_url)]
    pub alerts_queue_url: Option<String>,

    /// Without --until-idle: how often every account not released is looked at (at least 1s).
    #[arg(long, default_value = "15m", value_parser = super::args::interval, value_name = "DURATION")]
    pub sweep_interval: Duration,

    /// Do it, without asking.
    #[arg(long)]
    pub yes: bool,
}

fn parse_state(text: &str) -> Result<State, String> {
    State::parse(text).ok_or_else(|| {
        format!("`{text}` is not a state: expected vanilla, assigned, released or expired")
    })
}

pub fn run(command: &LifecycleCommand, term: &Term) -> Result<Output, Failure> {
    match command {
        LifecycleCommand::Check(args) => check(args, term),
        LifecycleCommand::ReleaseAll(args) => bulk(args, State::Released, term),
        LifecycleCommand::ResetAll(args) => bulk(args, State::Vanilla, term),
        LifecycleCommand::ExpireNow(args) => run_engine(args, true, term),
        LifecycleCommand::SetState(args) => set_state(args, term),
        LifecycleCommand::Run(args) => run_engine(args, false, term),
        LifecycleCommand::Builds(args) => show_builds(args, term),
    }
}

fn all(common: &CommonArgs, options: EngineOptions, term: &Term) -> Result<Context, Failure> {
    context(
        &common.source,
        &common.aws,
        options,
        Scope::All,
        common.records,
        term,
    )
}

fn show_builds(args: &BuildsArgs, term: &Term) -> Result<Output, Failure> {
    let (role, projects) = builds(&args.common.source, &args.common.aws, &args.account, term)?;
    let mut text = format!("CodeBuild in {} (through the role {role}):\n", args.account);
    for project in projects {
        let Some(arn) = &project.arn else {
            let _ = writeln!(text, "  {:<32}  no project yet", project.name);
            continue;
        };
        let _ = writeln!(text, "  {:<32}  {arn}", project.name);
        for build in &project.builds {
            let started = jiff::Timestamp::from_millisecond(build.started_ms).unwrap_or_default();
            let _ = writeln!(
                text,
                "    {}  {:<11}  {}",
                crate::time::rfc3339(started),
                format!("{:?}", build.status).to_lowercase(),
                build.id
            );
        }
    }
    Ok(Output::data(text))
}

fn check(args: &CheckArgs, term: &Term) -> Result<Output, Failure> {
    let context = all(&args.common, EngineOptions::default(), term)?;
    let found = anomalies(
        &context.settings,
        &context.known,
        &context.names,
        context.engine.now_ms(),
        args.stuck_after,
    );
    let accounts = context.known.len();
    let stdout = match args.format {
        Format::Json => format!(
            "{:#}\n",
            serde_json::json!({ "accounts": accounts, "anomalies": found })
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
                "{accounts} managed account(s), {} anomal{}.",
                found.len(),
                if found.len() == 1 { "y" } else { "ies" }
            );
            text
        }
    };
    if found.is_empty() {
        Ok(Output::data(stdout))
    } else {
        Err(Failure::Changes(Output::data(stdout)))
    }
}

/// Moves `targets` and says how it went.
fn move_to(context: &Context, targets: Vec<String>, state: State) -> Result<Output, Failure> {
    let total = targets.len();
    let failed = force_states(context, targets, state);
    let mut stdout = format!(
        "{} account(s) moved to {}.\n",
        total - failed.len(),
        state.as_str()
    );
    if state != State::Released {
        stdout.push_str(
            "The controller (or `spa lifecycle run --until-idle --yes`) takes them on from there.\n",
        );
    }
    if failed.is_empty() {
        return Ok(Output::data(stdout));
    }
    Err(Failure::Partial(Output {
        stdout,
        stderr: failed
            .iter()
            .map(|(account, error)| format!("error: {account}: {error}\n"))
            .collect(),
        ..Output::default()
    }))
}

fn bulk(args: &BulkArgs, state: State, term: &Term) -> Result<Output, Failure> {
    let context = all(&args.common, EngineOptions::default(), term)?;
    let states = context.engine.known_states();
    let targets: Vec<String> = states
        .iter()
        .filter(|(_, current)| current.as_deref() != Some(state.as_str()))
        .map(|(id, _)| id.clone())
        .collect();
    if targets.is_empty() {
        return Ok(Output::data(format!(
            "Every managed account is already {}: nothing to do.\n",
            state.as_str()
        )));
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
    let question = format!("Move {} account(s)?", targets.len());
    ask(term.as_ref(), args.yes, &question, &preview)?;
    move_to(&context, targets, state)
}

fn set_state(args: &SetStateArgs, term: &Term) -> Result<Output, Failure> {
    let common = &args.common;
    let scope = Scope::One(&args.account);
    let context = context(
        &common.source,
        &common.aws,
        EngineOptions {
            event_bus: common.event_bus.clone(),
            ..EngineOptions::default()
        },
        scope,
        common.records,
        term,
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
    ask(term.as_ref(), args.yes, "Move this account?", &preview)?;
    move_to(&context, vec![args.account.clone()], args.state)
}

fn run_engine(args: &RunArgs, expire_now: bool, term: &Term) -> Result<Output, Failure> {
    let options = EngineOptions {
        poll: args.poll,
        concurrency: args.concurrency,
        event_bus: args.common.event_bus.clone(),
        expire_now,
        alerts_queue_url: args.alerts_queue_url.clone(),
        ..EngineOptions::default()
    };
    let context = all(&args.common, options, term)?;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let states = context.engine.known_states();
    for state in states.values() {
        *counts
            .entry(state.clone().unwrap_or_else(|| "(none)".to_string()))
            .or_default() += 1;
    }
    let mut preview = format!(
        "{} managed account(s): {}\n",
        states.len(),
        join_counts(&counts)
    );
    if expire_now {
        let _ = writeln!(
            preview,
            "The maintenance window runs now: {} released account(s) expire, are purged where purge is enabled, then go round again.",
            counts.get("released").copied().unwrap_or(0)
        );
    } else {
        preview.push_str(
            "Every account not released is driven on: enrolment, preparation builds, purge builds.\n",
        );
    }
    ask(term.as_ref(), args.yes, "Go ahead?", &preview)?;
    let driven = drive(
        &context,
        &Drive {
            until_idle: args.until_idle || expire_now,
            timeout: args.timeout,
            queue_url: args.queue_url.clone(),
            sweep_interval: args.sweep_interval,
        },
    );
    let mut stdout = format!(
        "{} transition(s), {} build(s) started, {} account(s) parked, {} event(s) emitted.\nNow: {}\n",
        driven.transitions,
        driven.builds_started,
        driven.parked,
        driven.events,
        join_counts(&driven.states)
    );
    if !driven.finished {
        stdout.push_str("Stopped waiting: builds still run; run again to go on.\n");
        return Err(Failure::Partial(Output {
            stdout,
            stderr: format!(
                "error: not idle after {}\n",
                hours(i64::try_from(args.timeout.as_secs()).unwrap_or(i64::MAX))
            ),
            ..Output::default()
        }));
    }
    if term.stderr_is_terminal() {
        term.err("hint: `spa lifecycle check` lists anomalies\n");
    }
    Ok(Output::data(stdout))
}

/// `3 assigned, 2 released`.
fn join_counts(counts: &BTreeMap<String, usize>) -> String {
    counts
        .iter()
        .map(|(state, n)| format!("{n} {state}"))
        .collect::<Vec<_>>()
        .join(", ")
}
