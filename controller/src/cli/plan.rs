use clap::{Args, ValueEnum};

use super::ops::connect::runtime;
use super::ops::plan::{compute, save};
use super::{AwsArgs, Failure, Output, SourceArgs, Term};
use crate::render;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Markdown,
    Json,
}

/// Show what applying the settings would change in AWS — tags of managed accounts,
/// parameters under /<env>/, service control policies — without changing anything.
///
/// Destructive changes (accounts put on a purge path, PURGE_MODE becoming --force,
/// parameter deletions, guardrails loosened, detached or deleted) are listed first. Exit
/// code 0 (with --detailed-exitcode: 0 when nothing changes, 4 when something does), 1 when
/// AWS could not be fully observed or the plan cannot be applied (a quota it would pass), 3
/// when the settings are invalid.
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

pub fn run(args: &PlanArgs, term: &Term) -> Result<Output, Failure> {
    let runtime = runtime()?;
    let planned = compute(&runtime, &args.source, &args.aws, term)?;
    let plan = &planned.plan;
    if let Some(path) = &args.out {
        save(plan, path)?;
    }
    let mut output = Output::data(match args.format {
        PlanFormat::Text => render::text(plan),
        PlanFormat::Markdown => {
            render::markdown(plan, render::GITHUB_COMMENT_LIMIT, &args.full_plan_hint)
        }
        PlanFormat::Json => render::json(plan),
    });
    if !plan.complete {
        output.stderr = format!(
            "error: the observation is incomplete ({} read(s) failed): the plan covers only what was read\n",
            planned.observation.errors.len()
        );
        return Err(Failure::Partial(output));
    }
    if !plan.blockers.is_empty() {
        output.stderr = format!(
            "error: this plan cannot be applied: {}\n",
            plan.blockers.join("\n")
        );
        return Err(Failure::Partial(output));
    }
    if args.detailed_exitcode && !plan.no_changes {
        return Err(Failure::Changes(output));
    }
    Ok(output)
}
