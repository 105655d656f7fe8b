//! A plan carried out: only the one computed now, and a saved plan only when it is that
//! very plan.

use std::path::Path;

use super::plan::Planned;
use crate::apply::{ApplyOptions, ApplyReport, Scope, apply};
use crate::cli::Failure;
use crate::plan::Plan;

/// A plan saved by `spa plan --out`, in the format this spa reads.
pub fn read_saved(path: &Path) -> Result<Plan, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::Runtime(anyhow::Error::new(e).context(format!("cannot read {}", path.display())))
    })?;
    let plan: Plan = serde_json::from_str(&text).map_err(|e| {
        Failure::Runtime(anyhow::anyhow!(
            "{} is not a plan saved by `spa plan --out`: {e}",
            path.display()
        ))
    })?;
    if plan.format_version != crate::plan::FORMAT_VERSION {
        return Err(Failure::Runtime(anyhow::anyhow!(
            "{} has plan format {}, this spa reads format {}: plan again",
            path.display(),
            plan.format_version,
            crate::plan::FORMAT_VERSION
        )));
    }
    Ok(plan)
}

/// The first characters of a fingerprint, for messages (whatever a file holds).
fn short(fingerprint: &str) -> &str {
    let end = fingerprint
        .char_indices()
        .nth(12)
        .map_or(fingerprint.len(), |(i, _)| i);
    &fingerprint[..end]
}

/// Refuses a saved plan (from `path`) unless it is, item for item, the plan computed now
/// from the same settings and the same AWS.
pub fn check_saved(saved: &Plan, planned: &Planned, path: &Path) -> Result<(), Failure> {
    if saved.commit != planned.plan.commit
        || saved.desired_fingerprint != planned.plan.desired_fingerprint
    {
        return Err(Failure::Runtime(anyhow::anyhow!(
            "the saved plan was computed from settings {} (desired {}), the settings are now {} (desired {}): plan again",
            saved.commit.as_deref().unwrap_or("(uncommitted)"),
            short(&saved.desired_fingerprint),
            planned.source.revision(),
            short(&planned.plan.desired_fingerprint)
        )));
    }
    if saved.observed_fingerprint != planned.observation.fingerprint {
        return Err(Failure::Runtime(anyhow::anyhow!(
            "AWS changed since the plan was computed (observed {}, now {}): plan again",
            short(&saved.observed_fingerprint),
            short(&planned.observation.fingerprint)
        )));
    }
    let differences = saved.differences(&planned.plan, 10);
    if !differences.is_empty() {
        return Err(Failure::Runtime(anyhow::anyhow!(
            "{} is not the plan computed now from the same settings and AWS (was it edited?); nothing was applied. It differs in:\n  {}\nhint: plan again with `spa plan --out FILE` and review that plan",
            path.display(),
            differences.join("\n  ")
        )));
    }
    Ok(())
}

/// Carries out `planned.plan`, within what the settings own as observed now; `progress`
/// hears (done, total) after each write.
pub fn carry_out(
    runtime: &tokio::runtime::Runtime,
    planned: &Planned,
    options: ApplyOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ApplyReport, Failure> {
    let scope = Scope::new(
        &planned.settings.environment_identifier.value,
        &planned.observation,
    );
    runtime
        .block_on(apply(
            &planned.aws,
            &planned.plan,
            &scope,
            options,
            progress,
        ))
        .map_err(|refusal| Failure::Refused(refusal.to_string()))
}
