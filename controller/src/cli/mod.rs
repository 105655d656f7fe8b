//! The `spa` command line: one file per subcommand, each a thin wrapper that parses flags,
//! loads what it needs and returns an [`Output`]. Only `main` prints and picks exit codes.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use spa_schema::diag::Style;

use crate::source::{Revision, Source, SourceOptions};

pub mod dev;
pub mod explain;
pub mod schema;
pub mod status;
pub mod validate;

/// spa keeps a fleet of personal AWS accounts in the state a Git settings repository
/// describes, and walks every account through its life cycle.
#[derive(Debug, Parser)]
#[command(name = "spa", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Validate(validate::ValidateArgs),
    Explain(explain::ExplainArgs),
    Status(status::StatusArgs),
    Schema(schema::SchemaArgs),
    #[command(subcommand)]
    Dev(dev::DevCommand),
}

/// How to reach AWS: shared by every command that calls it. Credentials come from the
/// standard chain (environment, profiles, SSO, instance and container roles).
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// Send every AWS call to this endpoint, e.g. the local emulator (default:
    /// AWS_ENDPOINT_URL, else AWS itself).
    #[arg(long, value_name = "URL", env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,

    /// AWS region of SSM and CodeBuild (default: the configured region; Organizations
    /// always uses us-east-1).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// AWS profile from ~/.aws/config.
    #[arg(long, value_name = "NAME", env = "AWS_PROFILE")]
    pub profile: Option<String>,
}

impl AwsArgs {
    pub fn options(&self, settings: Option<&spa_schema::Settings>) -> crate::aws::sdk::AwsOptions {
        crate::aws::sdk::AwsOptions {
            endpoint_url: self.endpoint_url.clone(),
            region: self
                .region
                .clone()
                .or_else(|| settings.and_then(|s| s.automation.region.as_ref().map(|r| r.value.clone()))),
            profile: self.profile.clone(),
            management_role_arn: settings
                .and_then(|s| s.automation.role_arn_to_manage_accounts.as_ref().map(|r| r.value.clone())),
        }
    }
}

/// A runtime for the commands that call AWS.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(anyhow::Error::new(e).context("cannot start the async runtime")))
}

/// Where the settings come from: shared by every command that reads them.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Settings repository: a local path (working copy or bare repository) or a Git URL
    /// (https://, ssh://, git@host:path, file://). Remote repositories are mirrored in a
    /// cache directory; https uses the token in SPA_GIT_TOKEN (or GITHUB_TOKEN), ssh the agent.
    #[arg(long, default_value = ".", value_name = "PATH|URL")]
    pub repo: String,

    /// Branch, tag or commit to read (default: HEAD, or the remote's default branch).
    #[arg(long = "ref", value_name = "REF", conflicts_with = "worktree")]
    pub reference: Option<String>,

    /// Read the uncommitted files of a local checkout instead of a commit (for editing).
    #[arg(long)]
    pub worktree: bool,

    /// Path of the settings file inside the repository.
    #[arg(long, default_value = "settings.yaml", value_name = "FILE")]
    pub settings: String,

    /// Where remote repositories are mirrored (default: ~/.cache/spa/repos).
    #[arg(long, value_name = "DIR", env = "SPA_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

impl SourceArgs {
    pub fn open(&self) -> Result<Source, Failure> {
        let options = SourceOptions {
            repo: self.repo.clone(),
            reference: self.reference.clone(),
            worktree: self.worktree,
            cache_dir: self.cache_dir.clone(),
        };
        Source::open(&options).map_err(|error| Failure::Runtime(anyhow::Error::new(error)))
    }
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

/// Colors on stderr only for a terminal, and never with `NO_COLOR`.
pub fn stderr_style() -> Style {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if !no_color && std::io::stderr().is_terminal() {
        Style::Color
    } else {
        Style::Plain
    }
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

pub fn run(cli: Cli) -> Result<Output, Failure> {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Schema(args) => schema::run(&args),
        Command::Dev(command) => dev::run(&command),
    }
}
