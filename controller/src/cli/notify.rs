use std::collections::BTreeMap;
use std::fmt::Write as _;

use clap::{Args, Subcommand};

use super::ops::connect::{connect, runtime};
use super::ops::settings::open_valid;
use super::{AwsArgs, Failure, Output, SourceArgs, Term};
use crate::lifecycle::events::Exception;
use crate::notify::{Channel, Notification, NotifyCounters, Targets, deliver};

/// Where exceptions go: Teams, Slack, the exceptions topic.
#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    Test(TestArgs),
}

/// Send a clearly marked test exception through every configured channel, and say how each
/// went: what to run after configuring a webhook.
///
/// Channels: `features.with_microsoft_webhook_on_alerts` (Teams),
/// `features.with_slack_webhook_on_alerts` (Slack) of the settings, and the SNS topic of
/// --exceptions-topic-arn.
#[derive(Debug, Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// The SNS topic `<env>Exceptions` (output ExceptionsTopicArn of the automation stack).
    #[arg(long, value_name = "ARN", env = "SPA_EXCEPTIONS_TOPIC_ARN", value_parser = super::args::topic_arn)]
    pub exceptions_topic_arn: Option<String>,

    /// Only these channels (repeatable).
    #[arg(long, value_enum, value_name = "CHANNEL")]
    pub channel: Vec<Channel>,
}

pub fn run(command: &NotifyCommand, term: &Term) -> Result<Output, Failure> {
    let NotifyCommand::Test(args) = command;
    let (_, settings) = open_valid(&args.source, "nothing was sent", term.diagnostics_style())?;
    let mut targets = Targets::from_settings(&settings, args.exceptions_topic_arn.clone(), None);
    targets.keep(&args.channel);
    if targets.channels().is_empty() {
        return Err(Failure::Usage(
            "no channel to test: set features.with_microsoft_webhook_on_alerts, with_slack_webhook_on_alerts or with_response_plan_arn in settings, or give --exceptions-topic-arn (with --channel: only those, if configured)".into(),
        ));
    }
    let environment = settings.environment_identifier.value.clone();
    let account = settings
        .automation
        .account_id
        .as_ref()
        .map_or_else(|| "000000000000".to_string(), |a| a.value.clone());
    let notification = Notification {
        label: "GenericException".into(),
        environment: environment.clone(),
        exception: Exception {
            account,
            title: "TEST — a test notification from spa".into(),
            message: format!(
                "This is a test sent by `spa notify test` for the environment {environment}. Nothing is wrong; no action is needed."
            ),
            impact: None,
        },
        repeats: 0,
        id: format!(
            "spa-test-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        ),
        account_tags: Vec::new(),
    };
    let runtime = runtime()?;
    let outcomes: BTreeMap<Channel, Result<(), String>> = runtime.block_on(async {
        let aws = connect(&args.aws, Some(&settings)).await;
        let http = crate::outbound::client();
        deliver(
            &aws,
            &http,
            &crate::notify::Pacer::default(),
            &notification,
            &targets,
            &NotifyCounters::default(),
        )
        .await
    });
    let mut stdout = String::new();
    let mut failed = false;
    for (channel, outcome) in &outcomes {
        match outcome {
            Ok(()) => {
                let _ = writeln!(stdout, "{:<6} sent", channel.name());
            }
            Err(error) => {
                failed = true;
                let _ = writeln!(stdout, "{:<6} failed: {error}", channel.name());
            }
        }
    }
    let output = Output::data(stdout);
    if failed {
        Err(Failure::Partial(output))
    } else {
        Ok(output)
    }
}
