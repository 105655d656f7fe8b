//! The `spa` command line: one file per subcommand, each a thin wrapper that parses flags,
//! loads what it needs and returns an [`Output`]. Only `main` prints and picks exit codes.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use spa_schema::diag::Style;

use crate::source::{Revision, Source, SourceOptions};

pub mod apply;
pub mod controller;
pub mod dev;
pub mod diff;
pub mod explain;
pub mod lifecycle;
pub mod operator;
pub mod plan;
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
    Resume(operator::ResumeArgs),
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

    /// Override a client-side rate limit: FAMILY=RATE/BURST (calls per second, bucket size),
    /// e.g. org-list-tags=5/8 to leave more of the organization's quota to others.
    /// Repeatable. Families and defaults: docs/aws.md.
    #[arg(long = "rate-limit", value_name = "FAMILY=RATE/BURST", value_parser = parse_rate_limit)]
    pub rate_limits: Vec<(crate::aws::Family, crate::aws::Quota)>,
}

fn parse_rate_limit(text: &str) -> Result<(crate::aws::Family, crate::aws::Quota), String> {
    let (family, quota) = text
        .split_once('=')
        .ok_or_else(|| format!("expected FAMILY=RATE/BURST, got `{text}`"))?;
    let family: crate::aws::Family =
        serde_json::from_value(serde_json::Value::String(family.to_string())).map_err(|_| {
            let known: Vec<String> = crate::aws::Family::ALL
                .iter()
                .filter_map(|f| serde_json::to_value(f).ok())
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            format!("unknown family `{family}`; known: {}", known.join(", "))
        })?;
    let (rate, burst) = quota.split_once('/').unwrap_or((quota, quota));
    let rate: f64 = rate
        .parse()
        .map_err(|_| format!("`{rate}` is not a rate"))?;
    let burst: f64 = burst
        .parse()
        .map_err(|_| format!("`{burst}` is not a burst size"))?;
    if rate <= 0.0 || burst < 1.0 {
        return Err("the rate must be positive and the burst at least 1".to_string());
    }
    Ok((family, crate::aws::Quota::new(rate, burst)))
}

impl AwsArgs {
    /// The client-side rate limiters: published quotas, with the overrides of --rate-limit.
    pub fn limiters(&self) -> std::sync::Arc<crate::aws::Limiters> {
        let overrides = self.rate_limits.iter().copied().collect();
        std::sync::Arc::new(crate::aws::Limiters::new(&overrides))
    }

    pub fn options(&self, settings: Option<&spa_schema::Settings>) -> crate::aws::sdk::AwsOptions {
        crate::aws::sdk::AwsOptions {
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone().or_else(|| {
                settings.and_then(|s| s.automation.region.as_ref().map(|r| r.value.clone()))
            }),
            profile: self.profile.clone(),
            management_role_arn: settings.and_then(|s| {
                s.automation
                    .role_arn_to_manage_accounts
                    .as_ref()
                    .map(|r| r.value.clone())
            }),
            member_role_name: settings
                .map(|s| s.automation.role_name_to_manage_codebuild.value.clone()),
            static_credentials: self.emulator_credentials(),
        }
    }

    /// A loopback endpoint is the local emulator, which accepts any credentials: without
    /// credentials in the environment or a profile, use dummy ones rather than searching
    /// (and waiting for) instance metadata.
    fn emulator_credentials(&self) -> Option<(String, String)> {
        let endpoint = self.endpoint_url.as_deref()?;
        let host = endpoint.split("://").nth(1)?.split([':', '/']).next()?;
        let loopback = host == "localhost" || host.starts_with("127.") || host == "[::1]";
        let configured = std::env::var_os("AWS_ACCESS_KEY_ID").is_some() || self.profile.is_some();
        (loopback && !configured).then(|| ("testing".to_string(), "testing".to_string()))
    }
}

/// A runtime for the commands that call AWS.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::Runtime(anyhow::Error::new(e).context("cannot start the async runtime"))
        })
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
        Command::Plan(args) => plan::run(&args),
        Command::Apply(args) => apply::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Controller(command) => controller::run(&command),
        Command::Lifecycle(command) => lifecycle::run(&command),
        Command::Resync(args) => operator::resync(&args),
        Command::Suspend(args) => operator::suspend(&args),
        Command::Resume(args) => operator::resume(&args),
        Command::Schema(args) => schema::run(&args),
        Command::Dev(command) => dev::run(&command),
    }
}
