use std::fmt::Write as _;

use clap::Args;

use super::ops::apply::{carry_out, check_saved, read_saved};
use super::ops::connect::runtime;
use super::ops::plan::compute;
use super::{AwsArgs, Failure, Output, SourceArgs, Term};
use crate::apply::{ApplyOptions, Refusal, write_count};
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

    /// Writes in flight at once, 1 to 256 (the rate limiters pace them).
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = super::args::concurrency())]
    pub concurrency: usize,
}

pub fn run(args: &ApplyArgs, term: &Term) -> Result<Output, Failure> {
    let runtime = runtime()?;
    let planned = compute(&runtime, &args.source, &args.aws, term)?;
    if let Some(path) = &args.plan {
        // The same plan or nothing; then the one computed now is carried out, never the
        // file's items.
        check_saved(&read_saved(path)?, &planned, path)?;
    }
    let plan = &planned.plan;
    let shown = render::text(plan);
    if plan.no_changes {
        return Ok(Output::data(shown));
    }
    if !plan.complete {
        return Err(Failure::Partial(Output {
            stdout: shown,
            stderr: format!("error: {}\n", Refusal::Incomplete),
            ..Output::default()
        }));
    }
    // The plan is shown before any question about it.
    term.out(&shown);
    let mut allow_destructive = args.allow_destructive;
    if !plan.destructive.is_empty() && !allow_destructive {
        allow_destructive = term.confirm(&format!(
            "Apply {} destructive change(s)?",
            plan.destructive.len()
        ));
        if !allow_destructive {
            return Err(Failure::Refused(format!(
                "{}; nothing was changed",
                Refusal::Destructive(plan.destructive.clone())
            )));
        }
    } else if !args.yes
        && !allow_destructive
        && !term.confirm(&format!("Apply these {} write(s)?", write_count(plan)))
    {
        return Err(Failure::Refused(
            "not confirmed: pass --yes to apply without a terminal; nothing was changed"
                .to_string(),
        ));
    }
    // A bar on a terminal; elsewhere a line every few seconds (writes run at the quotas:
    // 10,000 tag changes take 42 minutes).
    let bar = term.progress("applying: writes");
    let last_line = std::sync::Mutex::new(std::time::Instant::now());
    let progress = |done: usize, total: usize| match &bar {
        Some(bar) => bar.update(done as u64, Some(total as u64), ""),
        None => {
            let mut last = last_line.lock().unwrap_or_else(|p| p.into_inner());
            if last.elapsed() >= std::time::Duration::from_secs(5) {
                *last = std::time::Instant::now();
                term.err(&format!("applying: {done} of {total} writes\n"));
            }
        }
    };
    let options = ApplyOptions {
        allow_destructive,
        concurrency: args.concurrency,
    };
    let report = carry_out(&runtime, &planned, options, &progress);
    if let Some(bar) = &bar {
        bar.finish();
    }
    let report = report?;
    let mut stdout = String::from("\n");
    for result in &report.results {
        let _ = match &result.error {
            None => writeln!(stdout, "  ok      {} {}", result.operation, result.target),
            Some(error) => writeln!(
                stdout,
                "  FAILED  {} {}: {error}",
                result.operation, result.target
            ),
        };
    }
    let _ = writeln!(
        stdout,
        "Applied: {} succeeded, {} failed.",
        report.succeeded, report.failed
    );
    if report.failed > 0 {
        return Err(Failure::Partial(Output {
            stdout,
            stderr: format!(
                "error: {} write(s) failed; apply again to retry them\n",
                report.failed
            ),
            ..Output::default()
        }));
    }
    Ok(Output::data(stdout))
}
