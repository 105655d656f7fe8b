//! The `spa` command line: one file per subcommand, each a thin wrapper that parses its
//! flags, calls the shared operations of [`ops`] and returns an [`Output`]. Commands write
//! nothing themselves: what shows while they run (previews, questions, progress) goes
//! through the [`Terminal`] they are given, and `main` prints the rest and picks the exit
//! code.

use clap::{Parser, Subcommand, ValueEnum};

use crate::source::Revision;

pub mod apply;
pub mod args;
pub mod controller;
pub mod costs;
pub mod deploy;
pub mod dev;
pub mod diff;
pub mod explain;
pub mod lifecycle;
pub mod notify;
pub mod operator;
pub mod ops;
pub mod plan;
pub mod report;
pub mod schema;
pub mod status;
pub mod terminal;
pub mod validate;

pub use args::{AwsArgs, EndpointArgs, SourceArgs};
pub use terminal::{ColorWhen, Term, Terminal};

/// spa keeps a fleet of personal AWS accounts in the state a Git settings repository
/// describes, and walks every account through its life cycle.
#[derive(Debug, Parser)]
#[command(name = "spa", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// When to colour the output: auto (on a terminal, unless NO_COLOR is set), always,
    /// never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,

    /// Log lines on stderr: text, or json (one object per line). Default: json for
    /// `spa controller run`, text otherwise. RUST_LOG filters them.
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Cli {
    /// `spa controller run`: the long-running process (its logs are its output).
    pub fn is_controller(&self) -> bool {
        matches!(
            self.command,
            Command::Controller(controller::ControllerCommand::Run(_))
        )
    }

    pub fn log_format(&self) -> LogFormat {
        self.log_format.unwrap_or(if self.is_controller() {
            LogFormat::Json
        } else {
            LogFormat::Text
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Validate(validate::ValidateArgs),
    Explain(explain::ExplainArgs),
    Status(status::StatusArgs),
    Plan(plan::PlanArgs),
    Apply(apply::ApplyArgs),
    Diff(diff::DiffArgs),
    #[command(subcommand)]
    Controller(controller::ControllerCommand),
    /// The account life cycle: check, release-all, reset-all, expire-now, set-state, run.
    #[command(subcommand)]
    Lifecycle(lifecycle::LifecycleCommand),
    Resync(operator::ResyncArgs),
    Suspend(operator::SuspendArgs),
    Approve(operator::ApproveArgs),
    Resume(operator::ResumeArgs),
    /// Reports of the records: the inventory of the accounts, the activities of a month.
    #[command(subcommand)]
    Report(report::ReportCommand),
    Schema(schema::SchemaArgs),
    /// Where exceptions go: `spa notify test` sends a test through every channel.
    #[command(subcommand)]
    Notify(notify::NotifyCommand),
    /// The installation into an AWS organization: the stacks' parameters from settings.
    #[command(subcommand)]
    Deploy(deploy::DeployCommand),
    #[command(subcommand)]
    Dev(dev::DevCommand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// What a command produced: data for stdout, messages for stderr, and how it ended.
#[derive(Debug, Default)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub status: Status,
}

impl Output {
    /// Data only.
    pub fn data(stdout: impl Into<String>) -> Output {
        Output {
            stdout: stdout.into(),
            ..Output::default()
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    #[default]
    Success,
    /// The settings are invalid (exit 3).
    Invalid,
}

/// Why a command could not do its job.
#[derive(Debug)]
pub enum Failure {
    /// Invalid settings: the rendered diagnostics, or a JSON report, are in the output.
    Invalid(Output),
    /// The command did its job partly: the output says what is missing (exit 1).
    Partial(Output),
    /// The plan has changes and --detailed-exitcode was given (exit 4).
    Changes(Output),
    /// The command refused to act (not confirmed, destructive changes not allowed): exit 1.
    Refused(String),
    /// The command line asks for something impossible (exit 2).
    Usage(String),
    /// Something outside the settings went wrong (repository, network, AWS).
    Runtime(anyhow::Error),
}

/// Exit codes, documented in docs/cli.md.
pub mod exit {
    pub const SUCCESS: u8 = 0;
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const INVALID_SETTINGS: u8 = 3;
    pub const CHANGES_PENDING: u8 = 4;
}

pub fn revision_json(revision: &Revision, origin: &str) -> serde_json::Value {
    serde_json::json!({
        "repository": origin,
        "reference": revision.reference,
        "commit": revision.commit,
        "worktree": revision.worktree,
        "dirty": revision.dirty,
        "summary": revision.summary,
    })
}

/// Runs one command; what shows while it runs goes through `term`.
pub fn run(cli: Cli, term: &Term) -> Result<Output, Failure> {
    match cli.command {
        Command::Validate(args) => validate::run(&args, term),
        Command::Explain(args) => explain::run(&args, term),
        Command::Status(args) => status::run(&args, term),
        Command::Plan(args) => plan::run(&args, term),
        Command::Apply(args) => apply::run(&args, term),
        Command::Diff(args) => diff::run(&args, term),
        Command::Controller(command) => controller::run(&command),
        Command::Lifecycle(command) => lifecycle::run(&command, term),
        Command::Resync(args) => operator::resync(&args),
        Command::Suspend(args) => operator::suspend(&args),
        Command::Approve(args) => operator::approve(&args),
        Command::Report(command) => report::run(&command, term),
        Command::Resume(args) => operator::resume(&args),
        Command::Schema(args) => schema::run(&args),
        Command::Deploy(command) => deploy::run(&command, term),
        Command::Notify(command) => notify::run(&command, term),
        Command::Dev(command) => dev::run(&command),
    }
}
