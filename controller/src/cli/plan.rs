use std::io::IsTerminal;

use clap::{Args, ValueEnum};

use super::validate::{connect_and_observe, load_valid};
use super::{AwsArgs, Failure, Output, SourceArgs, Status, runtime};
use crate::aws::Aws;
use crate::observe::Observation;
use crate::plan::Plan;
use crate::render;
use crate::source::Source;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Markdown,
    Json,
}

/// Show what applying the settings would change in AWS — tags of managed accounts and
/// parameters under /<env>/ — without changing anything.
///
/// Destructive changes (accounts put on a purge path, PURGE_MODE becoming --force,
/// parameter deletions) are listed first. Exit code 0 (with --detailed-exitcode: 0 when
/// nothing changes, 4 when something does), 1 when AWS could not be fully observed, 3 when
/// the settings are invalid.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// Rendering on stdout: text for terminals, markdown for pull requests, json for machines.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,

    /// Also write the plan (JSON) to FILE, for `spa apply --plan FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,

    /// Exit with 4 when the plan has changes, 0 when it has none.
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Where readers find the full plan when a Markdown rendering had to be shortened.
    #[arg(
        long,
        value_name = "TEXT",
        default_value = "Run `spa plan` locally, or see the full plan in the workflow's artifacts."
    )]
    pub full_plan_hint: String,
}

/// Everything a plan was computed from.
pub struct Planned {
    pub source: Source,
    pub settings: spa_schema::Settings,
    pub observation: Observation,
    pub plan: Plan,
    pub aws: Aws,
}

/// Reads the settings, observes AWS and computes the plan.
pub fn compute(
    source_args: &SourceArgs,
    aws_args: &AwsArgs,
    runtime: &tokio::runtime::Runtime,
) -> Result<Planned, Failure> {
    let source = source_args.open()?;
    let settings = load_valid(&source, &source_args.settings, "nothing was planned")?;
    let (aws, observation) = connect_and_observe(runtime, aws_args, &settings)?;
    let commit = source.revision().commit.clone();
    let desired = crate::desired::desired(&settings, &observation, commit.as_deref());
    let plan = crate::plan::plan(&desired, &observation);
    Ok(Planned {
        source,
        settings,
        observation,
        plan,
        aws,
    })
}

pub fn color() -> render::Color {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if !no_color && std::io::stdout().is_terminal() {
        render::Color::Always
    } else {
        render::Color::Never
    }
}

pub fn run(args: &PlanArgs) -> Result<Output, Failure> {
    let runtime = runtime()?;
    let planned = compute(&args.source, &args.aws, &runtime)?;
    let plan = &planned.plan;
    if let Some(path) = &args.out {
        std::fs::write(path, render::json(plan)).map_err(|e| {
            Failure::Runtime(
                anyhow::Error::new(e).context(format!("cannot write {}", path.display())),
            )
        })?;
    }
    let stdout = match args.format {
        PlanFormat::Text => render::text(plan, color()),
        PlanFormat::Markdown => {
            render::markdown(plan, render::GITHUB_COMMENT_LIMIT, &args.full_plan_hint)
        }
        PlanFormat::Json => render::json(plan),
    };
    let mut output = Output {
        stdout,
        stderr: String::new(),
        status: Status::Success,
    };
    if !plan.complete {
        output.stderr = format!(
            "error: the observation is incomplete ({} read(s) failed): the plan covers only what was read\n",
            planned.observation.errors.len()
        );
        return Err(Failure::Partial(output));
    }
    if args.detailed_exitcode && !plan.no_changes {
        return Err(Failure::Changes(output));
    }
    Ok(output)
}
