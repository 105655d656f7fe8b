use std::fmt::Write as _;

use clap::Args;
use spa_schema::Loaded;

use super::ops::settings::{load, open};
use super::{Failure, Format, Output, SourceArgs, Status, Term, revision_json};
use crate::source::Source;

/// Check a settings repository and report every problem at once, each at file:line:column.
///
/// Reads settings.yaml, the CSV files, buildspecs and documents it names, all at the same
/// commit (or from the working copy with --worktree). Exit code 0 when valid, 3 when not.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Output format: text (diagnostics on stderr, a summary on stdout) or json (a report on stdout).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Show the first N diagnostics in full and count the others per code (0: show all).
    #[arg(long, default_value_t = spa_schema::diag::DEFAULT_LIMIT, value_name = "N", value_parser = super::args::diagnostics_limit())]
    pub max_diagnostics: usize,
}

fn summary(loaded: &Loaded) -> serde_json::Value {
    match &loaded.settings {
        Some(settings) => serde_json::json!({
            "environment_identifier": settings.environment_identifier.value,
            "organizational_units": settings.organizational_units.len(),
            "accounts": settings.accounts.len(),
            "csv_files": settings.features.with_csv_files.len(),
            "csv_rows": settings.csv_rows.len(),
            "listed_accounts": settings.listed_accounts().len(),
        }),
        None => serde_json::Value::Null,
    }
}

pub fn run(args: &ValidateArgs, term: &Term) -> Result<Output, Failure> {
    let source = open(&args.source)?;
    let loaded = load(&source, &args.source.settings);
    let status = if loaded.error_count() > 0 {
        Status::Invalid
    } else {
        Status::Success
    };
    let limit = match args.max_diagnostics {
        0 => usize::MAX,
        n => n,
    };
    let output = match args.format {
        Format::Json => {
            let report = serde_json::json!({
                "valid": status == Status::Success,
                "revision": revision_json(source.revision(), source.origin()),
                "settings_file": args.source.settings,
                "errors": loaded.error_count(),
                "warnings": loaded.warning_count(),
                "diagnostics_summary": loaded.summary(limit),
                "summary": summary(&loaded),
            });
            Output {
                stdout: format!("{report:#}\n"),
                stderr: String::new(),
                status,
            }
        }
        Format::Text => Output {
            stdout: summary_line(&loaded, &source, status),
            stderr: loaded.render_limited(term.diagnostics_style(), limit),
            status,
        },
    };
    match status {
        Status::Success => Ok(output),
        Status::Invalid => Err(Failure::Invalid(output)),
    }
}

fn summary_line(loaded: &Loaded, source: &Source, status: Status) -> String {
    let mut stdout = String::new();
    let revision = source.revision();
    match (&loaded.settings, status) {
        (Some(settings), Status::Success) => {
            let _ = writeln!(
                stdout,
                "valid: {} at {} — {} organizational units, {} accounts listed ({} in settings, {} CSV rows from {} files)",
                settings.settings_file,
                revision,
                settings.organizational_units.len(),
                settings.listed_accounts().len(),
                settings.accounts.len(),
                settings.csv_rows.len(),
                settings.features.with_csv_files.len(),
            );
        }
        _ => {
            let _ = writeln!(
                stdout,
                "invalid: {} error{} and {} warning{} at {}",
                loaded.error_count(),
                if loaded.error_count() == 1 { "" } else { "s" },
                loaded.warning_count(),
                if loaded.warning_count() == 1 { "" } else { "s" },
                revision,
            );
        }
    }
    stdout
}
