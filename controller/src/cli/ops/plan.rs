//! A plan computed from the settings and AWS as they are now.

use crate::cli::Term;

use super::connect::connect_and_observe;
use super::settings::open_valid;
use crate::aws::Aws;
use crate::cli::Failure;
use crate::cli::args::{AwsArgs, SourceArgs};
use crate::observe::Observation;
use crate::plan::Plan;
use crate::source::Source;

/// Everything a plan was computed from, and how to carry it out.
pub struct Planned {
    pub source: Source,
    pub settings: spa_schema::Settings,
    pub observation: Observation,
    pub plan: Plan,
    pub aws: Aws,
}

/// Reads the settings, observes AWS and computes the plan.
pub fn compute(
    runtime: &tokio::runtime::Runtime,
    source_args: &SourceArgs,
    aws_args: &AwsArgs,
    term: &Term,
) -> Result<Planned, Failure> {
    let (source, settings) =
        open_valid(source_args, "nothing was planned", term.diagnostics_style())?;
    let (aws, observation) = connect_and_observe(runtime, aws_args, &settings, term)?;
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

/// Writes the plan as JSON (`spa plan --out FILE`), for `spa apply --plan FILE`.
pub fn save(plan: &Plan, path: &std::path::Path) -> Result<(), Failure> {
    std::fs::write(path, crate::render::json(plan)).map_err(|e| {
        Failure::Runtime(anyhow::Error::new(e).context(format!("cannot write {}", path.display())))
    })
}
