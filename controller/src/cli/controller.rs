use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::ops::admin::Admin;
use super::{AwsArgs, EndpointArgs, Failure, Format, Output};
use crate::runtime::ControllerOptions;
use crate::source::SourceOptions;

/// The long-running controller.
#[derive(Debug, Subcommand)]
pub enum ControllerCommand {
    Run(Box<RunArgs>),
    Status(StatusArgs),
    Health(HealthArgs),
}

/// Keep the fleet converged on the latest commit of a branch: poll (fetch) the repository,
/// watch a local working copy, resync periodically to repair drift, and serve the admin
/// endpoints (/healthz, /readyz, /metrics, /status, POST /resync, /suspend, /resume,
/// /approve).
///
/// An invalid commit is never applied: the last good one stays in force and /status shows
/// the error with the commit id. Destructive changes are withheld unless
/// --allow-destructive, or an operator approves the withheld plan (`spa approve`). Logs are JSON lines on stderr (RUST_LOG filters them;
/// --log-format text for people).
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The settings repository: a URL (https with SPA_GIT_TOKEN, ssh via the agent,
    /// file://) or the path of a local working copy (watched for changes).
    #[arg(long, value_name = "URL|PATH")]
    pub repo: String,

    /// The branch to follow.
    #[arg(long, default_value = "main")]
    pub branch: String,

    /// Path of the settings file inside the repository.
    #[arg(long, default_value = "settings.yaml", value_name = "FILE")]
    pub settings: String,

    /// How often to fetch the repository (at least 1s).
    #[arg(long, default_value = "60s", value_parser = super::args::interval, value_name = "DURATION")]
    pub interval: Duration,

    /// How often to observe everything again (drift repair); in between, only what
    /// changed, what spa wrote and what events point at is read again (at least 1s).
    #[arg(long, default_value = "1h", value_parser = super::args::interval, value_name = "DURATION")]
    pub resync_interval: Duration,

    /// Address of the admin endpoints. Keep it on loopback unless a proxy guards it.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDRESS:PORT")]
    pub listen: SocketAddr,

    /// Apply destructive changes too (accounts put on a purge path, parameter deletions).
    #[arg(long)]
    pub allow_destructive: bool,

    /// DynamoDB table holding the lease that lets one replica apply at a time (others wait
    /// as standbys). Without it, run a single replica.
    #[arg(long, value_name = "TABLE", env = "SPA_LEASE_TABLE")]
    pub lease_table: Option<String>,

    /// How long a lease lasts without renewal (renewed every third of it; at least 3s).
    #[arg(long, default_value = "30s", value_parser = super::args::lease_duration, value_name = "DURATION")]
    pub lease_duration: Duration,

    /// Where remote repositories are mirrored.
    #[arg(long, value_name = "DIR", env = "SPA_CACHE_DIR")]
    pub cache_dir: Option<std::path::PathBuf>,

    /// Do not drive the account life cycle (settings only).
    #[arg(long)]
    pub no_lifecycle: bool,

    /// The SQS queue that the EventBridge rules feed (Organizations tag and move events,
    /// CodeBuild build state changes, spa's events); see docs/lifecycle.md. Without it,
    /// builds are polled and the sweep catches changes made by hand.
    #[arg(long, value_name = "URL", env = "SPA_QUEUE_URL", value_parser = super::args::queue_url)]
    pub queue_url: Option<String>,

    /// The `<env>Alerts` SQS queue: budget alerts from each account's SpaAlertTopic become
    /// BudgetAlertException events, and preparation subscribes each topic to it.
    #[arg(long, value_name = "URL", env = "SPA_ALERTS_QUEUE_URL", value_parser = super::args::queue_url)]
    pub alerts_queue_url: Option<String>,

    /// The SNS topic `<env>Exceptions`: every exception is published on it (its e-mail
    /// subscribers are told), besides the Teams and Slack webhooks of the settings.
    #[arg(long, value_name = "ARN", env = "SPA_EXCEPTIONS_TOPIC_ARN", value_parser = super::args::topic_arn)]
    pub exceptions_topic_arn: Option<String>,

    /// The EventBridge bus of the automation account for spa's events (name or ARN).
    #[arg(long, default_value = "default", value_name = "BUS")]
    pub event_bus: String,

    /// How often every account not released is looked at, events or not (at least 1s).
    #[arg(long, default_value = "15m", value_parser = super::args::interval, value_name = "DURATION")]
    pub sweep_interval: Duration,

    /// How often a running build is polled when no event says it ended (at least 1s).
    #[arg(long, default_value = "30s", value_parser = super::args::interval, value_name = "DURATION")]
    pub build_poll: Duration,

    /// Keep no records (shadows, activities, transactions) in the installation's DynamoDB
    /// tables (`metering.*`; docs/records.md).
    #[arg(long)]
    pub no_records: bool,

    /// Send no metrics to CloudWatch (namespace SustainablePersonalAccount).
    #[arg(long)]
    pub no_metrics: bool,

    /// The S3 bucket of the reports (the automation stack's ReportsBucketName): inventories
    /// and activities on their schedules (`reporting.*`). Without it, no scheduled report.
    #[arg(long, value_name = "BUCKET", env = "SPA_REPORTS_BUCKET", value_parser = super::args::bucket)]
    pub reports_bucket: Option<String>,

    #[command(flatten)]
    pub aws: AwsArgs,
}

fn is_url(repo: &str) -> bool {
    repo.contains("://")
        || repo
            .split_once(':')
            .is_some_and(|(host, _)| !host.contains('/'))
}

pub fn run_controller(args: &RunArgs) -> Result<Output, Failure> {
    let local = !is_url(&args.repo);
    let options = ControllerOptions {
        source: SourceOptions {
            repo: args.repo.clone(),
            reference: Some(args.branch.clone()),
            worktree: false,
            cache_dir: args.cache_dir.clone(),
        },
        settings_file: args.settings.clone(),
        interval: args.interval,
        resync_interval: args.resync_interval,
        listen: args.listen,
        allow_destructive: args.allow_destructive,
        admin_token: std::env::var("SPA_ADMIN_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
        lease_table: args.lease_table.clone(),
        lease_duration: args.lease_duration,
        aws: args.aws.options(None),
        rate_limits: args.aws.rate_limits.clone(),
        watch: local && std::path::Path::new(&args.repo).join(".git").exists(),
        lifecycle: crate::runtime::LifecycleOptions {
            enabled: !args.no_lifecycle,
            queue_url: args.queue_url.clone(),
            alerts_queue_url: args.alerts_queue_url.clone(),
            exceptions_topic_arn: args.exceptions_topic_arn.clone(),
            event_bus: args.event_bus.clone(),
            sweep_interval: args.sweep_interval,
            poll: args.build_poll,
            records: !args.no_records,
            fleet_metrics: !args.no_metrics,
            reports_bucket: args.reports_bucket.clone(),
            ..Default::default()
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(anyhow::Error::new(e)))?;
    runtime
        .block_on(crate::runtime::run(options))
        .map_err(|message| Failure::Runtime(anyhow::anyhow!(message)))?;
    Ok(Output::default())
}

/// Show what a running controller is doing: desired and applied commits, the last plan,
/// the last error, suspension, queued work.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub endpoint: EndpointArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Exit 0 when the controller's admin endpoint answers /healthz with 200, 1 otherwise
/// (the container's health check). Prints nothing when healthy.
#[derive(Debug, Args)]
pub struct HealthArgs {
    #[command(flatten)]
    pub endpoint: EndpointArgs,

    /// Give up after this long.
    #[arg(long, default_value = "3s", value_parser = crate::time::parse_duration, value_name = "DURATION")]
    pub timeout: Duration,
}

pub fn health(args: &HealthArgs) -> Result<Output, Failure> {
    let admin = Admin::with_timeout(&args.endpoint.url, args.timeout)?;
    // One line for the health check's log, without the hints meant for people.
    let answer = admin.get("/healthz").map_err(|failure| match failure {
        Failure::Runtime(error) => {
            let message = error.to_string();
            let first = message.lines().next().unwrap_or_default();
            Failure::Runtime(anyhow::anyhow!("unhealthy: {first}"))
        }
        other => other,
    })?;
    if answer.status == 200 {
        return Ok(Output::default());
    }
    Err(Failure::Runtime(anyhow::anyhow!(
        "unhealthy: {} answered /healthz with {}",
        admin.url(),
        answer.status
    )))
}

pub fn status(args: &StatusArgs) -> Result<Output, Failure> {
    let answer = Admin::new(&args.endpoint.url)?.get("/status")?;
    if answer.status != 200 {
        return Err(Failure::Runtime(anyhow::anyhow!(
            "the controller answered {}: {}",
            answer.status,
            answer.message()
        )));
    }
    let status: crate::runtime::state::StatusDoc = serde_json::from_str(&answer.body)
        .map_err(|e| Failure::Runtime(anyhow::anyhow!("unexpected /status document: {e}")))?;
    let stdout = match args.format {
        Format::Json => format!("{:#}\n", serde_json::to_value(&status).unwrap_or_default()),
        Format::Text => {
            let short = |c: &Option<String>| {
                c.as_deref()
                    .map(|c| c[..c.len().min(12)].to_string())
                    .unwrap_or_else(|| "—".into())
            };
            let mut out = format!(
                "repository  {} ({})\nrole        {}\ndesired     {}\napplied     {}{}\nlast good   {}\n",
                status.repository,
                status.branch,
                if status.leader {
                    "leader (applies)"
                } else {
                    "standby"
                },
                short(&status.desired_commit),
                short(&status.applied_commit),
                status
                    .applied_at
                    .as_deref()
                    .map(|t| format!(" at {t}"))
                    .unwrap_or_default(),
                short(&status.last_good_commit),
            );
            if let Some(suspension) = &status.suspension {
                out.push_str(&format!(
                    "SUSPENDED   since {} by {}: {}{}\n",
                    suspension.since,
                    suspension.who,
                    suspension.reason,
                    suspension
                        .until
                        .as_deref()
                        .map(|u| format!(" (until {u})"))
                        .unwrap_or_default()
                ));
            }
            if let Some(reconcile) = &status.last_reconcile {
                out.push_str(&format!(
                    "reconcile   {} at {} ({}; {:.1} s)\n",
                    reconcile.outcome, reconcile.at, reconcile.trigger, reconcile.duration_seconds
                ));
            }
            if let Some(plan) = &status.last_plan {
                out.push_str(&format!(
                    "last plan   {} to add, {} to change, {} to remove, {} destructive ({} withheld); {} applied, {} failed\n",
                    plan.summary.add, plan.summary.change, plan.summary.remove, plan.summary.destructive,
                    plan.withheld_destructive, plan.applied, plan.failed
                ));
            }
            if let Some(withheld) = &status.withheld {
                out.push_str(&format!(
                    "WITHHELD    {} destructive change(s) since {}, fingerprint {}\n",
                    withheld.count, withheld.since, withheld.fingerprint
                ));
                for reason in &withheld.destructive {
                    out.push_str(&format!("              ! {reason}\n"));
                }
                if withheld.count > withheld.destructive.len() {
                    out.push_str(&format!(
                        "              … and {} more\n",
                        withheld.count - withheld.destructive.len()
                    ));
                }
                out.push_str(&format!(
                    "            approve them: spa approve {} --reason TEXT\n",
                    withheld.fingerprint
                ));
            }
            if let Some(approval) = &status.approval {
                out.push_str(&format!(
                    "approval    {:?} — {} by {} ({}) at {}: {}{}\n",
                    approval.outcome,
                    &approval.fingerprint[..approval.fingerprint.len().min(12)],
                    approval.who,
                    approval.token,
                    approval.at,
                    approval.reason,
                    approval
                        .note
                        .as_deref()
                        .map(|n| format!("; {n}"))
                        .unwrap_or_default()
                ));
            }
            if !status.queue.is_empty() {
                out.push_str(&format!("queued      {}\n", status.queue.join(", ")));
            }
            if let Some(error) = &status.last_error {
                out.push_str(&format!(
                    "last error  at {} (commit {}):\n{}\n",
                    error.at,
                    short(&error.commit),
                    error.message
                ));
            }
            out
        }
    };
    Ok(Output::data(stdout))
}

pub fn run(command: &ControllerCommand) -> Result<Output, Failure> {
    match command {
        ControllerCommand::Run(args) => run_controller(args),
        ControllerCommand::Status(args) => status(args),
        ControllerCommand::Health(args) => health(args),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    /// A value of the kind the template's `!Ref` after `flag` gives.
    fn sample(flag: &str) -> &'static str {
        match flag {
            "--queue-url" => "https://sqs.eu-west-1.amazonaws.com/123456789012/SpaDemoEvents",
            "--alerts-queue-url" => {
                "https://sqs.eu-west-1.amazonaws.com/123456789012/SpaDemoAlerts"
            }
            "--exceptions-topic-arn" => "arn:aws:sns:eu-west-1:123456789012:SpaDemoExceptions",
            "--reports-bucket" => "spademo-reportsbucket-1a2b3c4d5e6f",
            _ => "https://example.com/value",
        }
    }

    /// The container's `Command:` list of `deploy/automation.yaml`, references replaced by
    /// values of their kind. A flag renamed in the code and not in `deploy/` would stop
    /// every task at start.
    fn container_command() -> Vec<String> {
        let template = include_str!("../../../deploy/automation.yaml");
        let mut lines = template
            .lines()
            .skip_while(|l| l.trim() != "Command:")
            .skip(1);
        let mut args = vec!["spa".to_string()];
        for line in lines.by_ref() {
            let Some(item) = line.trim().strip_prefix("- ") else {
                break;
            };
            let previous = args.last().cloned().unwrap_or_default();
            args.push(if item.starts_with('!') {
                sample(&previous).to_string()
            } else {
                item.to_string()
            });
        }
        args
    }

    #[test]
    fn the_automation_templates_controller_command_parses() {
        let args = container_command();
        assert!(args.contains(&"--alerts-queue-url".to_string()), "{args:?}");
        let cli = Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert!(matches!(cli.command, Command::Controller(_)));
        // The health check too.
        Cli::try_parse_from(["spa", "controller", "health"]).unwrap();
    }
}
