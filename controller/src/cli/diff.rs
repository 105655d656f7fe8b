use std::collections::BTreeMap;

use clap::Args;

use spa_schema::diag::Style;

use super::ops::settings::{load_valid, open};
use super::plan::PlanFormat;
use super::{Failure, Output, SourceArgs, Term};
use crate::aws::PolicyTarget;
use crate::aws::policies::target_kind;
use crate::observe::{
    Observation, ObservedParameter, ObservedPolicies, ObservedPolicy, ObservedUnit,
};
use crate::render;
use crate::source::Source;

/// Show how the effective settings of every listed account and OU, and the buildspecs and
/// documents, differ between two commits — no AWS needed (for reviewers when CI has no
/// credentials).
///
/// What is compared is exactly what spa publishes to SSM, and the service control policies
/// with their attachments to OUs. Accounts are resolved without their OU (that needs the
/// organization): a change to an OU shows on the OU.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The commit the change starts from (e.g. the pull request's base).
    #[arg(long, value_name = "REF")]
    pub base: String,

    /// The commit the change ends at (e.g. the pull request's head).
    #[arg(long, value_name = "REF")]
    pub head: String,

    #[command(flatten)]
    pub source: SourceArgs,

    /// Rendering on stdout.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

fn settings_at(
    args: &DiffArgs,
    reference: &str,
    style: Style,
) -> Result<(Source, spa_schema::Settings), Failure> {
    let mut source_args = args.source.clone();
    source_args.reference = Some(reference.to_string());
    source_args.worktree = false;
    let source = open(&source_args)?;
    let settings = load_valid(
        &source,
        &args.source.settings,
        "nothing was compared",
        style,
    )?;
    Ok((source, settings))
}

/// An observation made of the parameters and policies `desired` publishes, for planning one
/// commit against another (`units`: the listed OUs of both commits).
fn as_observation(
    desired: &crate::desired::Desired,
    units: BTreeMap<String, ObservedUnit>,
) -> Observation {
    let owned = desired
        .policies
        .iter()
        .map(|(name, policy)| {
            (
                name.clone(),
                ObservedPolicy {
                    id: name.clone(),
                    name: name.clone(),
                    description: policy.description.clone(),
                    content: policy.content.clone(),
                    targets: policy
                        .targets
                        .keys()
                        .map(|t| PolicyTarget {
                            id: t.clone(),
                            kind: target_kind(t),
                        })
                        .collect(),
                },
            )
        })
        .collect();
    Observation {
        environment: desired.environment.clone(),
        root_id: None,
        organizational_units: units,
        accounts: BTreeMap::new(),
        parameters: desired
            .parameters
            .iter()
            .map(|(name, p)| {
                (
                    name.clone(),
                    ObservedParameter {
                        value: p.value.clone(),
                        version: 1,
                        tier: None,
                    },
                )
            })
            .collect(),
        parameter_usage: None,
        dashboard: None,
        exceptions_topic: None,
        policies: ObservedPolicies {
            owned,
            foreign: Vec::new(),
        },
        missing_organizational_units: Vec::new(),
        missing_accounts: Vec::new(),
        errors: Vec::new(),
        complete: true,
        fingerprint: desired.fingerprint.clone(),
    }
}

/// The listed OUs of both commits, as if they existed (named by their ids): policy
/// attachments to OUs show in the difference. Accounts need the organization.
fn units(
    base: &spa_schema::Settings,
    head: &spa_schema::Settings,
) -> BTreeMap<String, ObservedUnit> {
    base.organizational_units
        .iter()
        .chain(&head.organizational_units)
        .map(|u| {
            let id = u.identifier.value.clone();
            (
                id.clone(),
                ObservedUnit {
                    name: id.clone(),
                    id,
                    accounts: Vec::new(),
                },
            )
        })
        .collect()
}

/// An organization of nothing but the listed OUs.
fn empty(environment: &str, units: BTreeMap<String, ObservedUnit>) -> Observation {
    Observation {
        environment: environment.to_string(),
        root_id: None,
        organizational_units: units,
        accounts: BTreeMap::new(),
        parameters: BTreeMap::new(),
        parameter_usage: None,
        dashboard: None,
        exceptions_topic: None,
        policies: ObservedPolicies::default(),
        missing_organizational_units: Vec::new(),
        missing_accounts: Vec::new(),
        errors: Vec::new(),
        complete: true,
        fingerprint: String::new(),
    }
}

pub fn run(args: &DiffArgs, term: &Term) -> Result<Output, Failure> {
    let style = term.diagnostics_style();
    let (base_source, base) = settings_at(args, &args.base, style)?;
    let (head_source, head) = settings_at(args, &args.head, style)?;
    let units = units(&base, &head);
    let base_desired = crate::desired::desired(
        &base,
        &empty(&base.environment_identifier.value, units.clone()),
        base_source.revision().commit.as_deref(),
    );
    let head_desired = crate::desired::desired(
        &head,
        &empty(&head.environment_identifier.value, units.clone()),
        head_source.revision().commit.as_deref(),
    );
    let mut plan = crate::plan::plan(&head_desired, &as_observation(&base_desired, units));
    plan.destructive
        .extend(crate::plan::purge_transitions(&base_desired, &head_desired));
    plan.summary.destructive = plan.destructive.len();
    let title = format!(
        "spa diff {} → {}\n",
        base_source.revision(),
        head_source.revision()
    );
    let stdout = match args.format {
        PlanFormat::Text => format!("{title}{}", render::text(&plan)),
        PlanFormat::Markdown => render::markdown(
            &plan,
            render::GITHUB_COMMENT_LIMIT,
            "Run `spa diff` locally for the whole difference.",
        )
        .replacen("### spa plan for", "### spa diff for", 1),
        PlanFormat::Json => render::json(&plan),
    };
    Ok(Output::data(stdout))
}
