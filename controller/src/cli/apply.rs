use std::io::{BufRead, IsTerminal, Write as _};

use clap::Args;

use super::plan::{color, compute};
use super::{AwsArgs, Failure, Output, SourceArgs, Status, runtime};
use crate::apply::{ApplyOptions, Refusal, Scope, apply, write_count};
use crate::plan::Plan;
use crate::render;

/// Apply the settings to AWS: compute a fresh plan, show it, ask for confirmation, and carry
/// it out exactly.
///
/// With --plan, the plan computed now must be the saved one, item for item: a saved plan is
/// refused when the settings or AWS changed since it was computed, or when the file differs
/// in anything. What is carried out is always the plan computed now, never the file.
/// Destructive changes need --allow-destructive (or typing `yes` at the prompt). A failing
/// item does not stop the others; the exit code is 1 when any failed.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// Apply only if the plan computed now is this saved one (from `spa plan --out FILE`),
    /// item for item: what was reviewed is what is applied.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<std::path::PathBuf>,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,

    /// Allow destructive changes (accounts put on a purge path, parameter deletions).
    #[arg(long)]
    pub allow_destructive: bool,

    /// Writes in flight at once (the rate limiters pace them).
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
}

fn read_plan(path: &std::path::Path) -> Result<Plan, Failure> {
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

/// Asks on the terminal; false when there is no terminal to ask.
pub(crate) fn confirm(question: &str) -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    let _ = write!(std::io::stderr(), "{question} Only `yes` is accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    answer.trim() == "yes"
}

pub fn run(args: &ApplyArgs) -> Result<Output, Failure> {
    let runtime = runtime()?;
    let planned = compute(&args.source, &args.aws, &runtime)?;
    let plan = match &args.plan {
        None => planned.plan.clone(),
        Some(path) => {
            let saved = read_plan(path)?;
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
            // The same plan: carry out the one computed now, never the file's items.
            planned.plan.clone()
        }
    };
    let mut stdout = render::text(&plan, color());
    if plan.no_changes {
        return Ok(Output {
            stdout,
            ..Output::default()
        });
    }
    if !plan.complete {
        return Err(Failure::Partial(Output {
            stdout,
            stderr: format!("error: {}\n", Refusal::Incomplete),
            status: Status::Success,
        }));
    }
    let mut allow_destructive = args.allow_destructive;
    if !plan.destructive.is_empty() && !allow_destructive {
        // Show the plan before asking about it.
        let _ = std::io::stdout().write_all(stdout.as_bytes());
        stdout.clear();
        allow_destructive = confirm(&format!(
            "Apply {} destructive change(s)?",
            plan.destructive.len()
        ));
        if !allow_destructive {
            return Err(Failure::Refused(format!(
                "{}; nothing was changed",
                Refusal::Destructive(plan.destructive.clone())
            )));
        }
    } else if !args.yes && !allow_destructive {
        let _ = std::io::stdout().write_all(stdout.as_bytes());
        stdout.clear();
        if !confirm(&format!("Apply these {} write(s)?", write_count(&plan))) {
            return Err(Failure::Refused(
                "not confirmed: pass --yes to apply without a terminal; nothing was changed"
                    .to_string(),
            ));
        }
    }
    let terminal = std::io::stderr().is_terminal();
    let progress = move |done: usize, total: usize| {
        if terminal {
            let _ = write!(std::io::stderr(), "\rapplying: {done}/{total} writes");
            if done == total {
                let _ = writeln!(std::io::stderr());
            }
        }
    };
    let options = ApplyOptions {
        allow_destructive,
        concurrency: args.concurrency,
    };
    let scope = Scope::new(
        &planned.settings.environment_identifier.value,
        &planned.observation,
    );
    let report = runtime
        .block_on(apply(&planned.aws, &plan, &scope, options, &progress))
        .map_err(|refusal| Failure::Refused(refusal.to_string()))?;
    stdout.push('\n');
    for result in &report.results {
        match &result.error {
            None => stdout.push_str(&format!(
                "  ok      {} {}\n",
                result.operation, result.target
            )),
            Some(error) => stdout.push_str(&format!(
                "  FAILED  {} {}: {error}\n",
                result.operation, result.target
            )),
        }
    }
    stdout.push_str(&format!(
        "Applied: {} succeeded, {} failed.\n",
        report.succeeded, report.failed
    ));
    let output = Output {
        stdout,
        ..Output::default()
    };
    if report.failed > 0 {
        let mut output = output;
        output.stderr = format!(
            "error: {} write(s) failed; apply again to retry them\n",
            report.failed
        );
        return Err(Failure::Partial(output));
    }
    Ok(output)
}
