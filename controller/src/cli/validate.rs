use std::fmt::Write as _;

use clap::Args;
use spa_schema::Loaded;
use spa_schema::diag::Style;

use super::{Failure, Format, Output, SourceArgs, Status, revision_json, stderr_style};
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
}

/// Loads the settings of `source`; shared by every command that needs them.
pub fn load(source: &Source, settings: &str) -> Loaded {
    spa_schema::load(source, settings)
}

/// Loads valid settings, or fails with every diagnostic (exit 3) and `consequence` (what
/// the command did not do).
pub fn load_valid(
    source: &Source,
    settings: &str,
    consequence: &str,
) -> Result<spa_schema::Settings, Failure> {
    let loaded = load(source, settings);
    match loaded.valid() {
        Some(settings) => Ok(settings.clone()),
        None => Err(Failure::Invalid(Output {
            stderr: format!(
                "{}error: the settings at {} are invalid; {consequence} (spa validate)\n",
                loaded.render(stderr_style()),
                source.revision()
            ),
            ..Output::default()
        })),
    }
}

/// Connects to AWS as the settings say and observes what they manage; fails when even the
/// organization cannot be read.
pub fn connect_and_observe(
    runtime: &tokio::runtime::Runtime,
    aws: &super::AwsArgs,
    settings: &spa_schema::Settings,
) -> Result<(crate::aws::Aws, crate::observe::Observation), Failure> {
    let options = aws.options(Some(settings));
    let (client, observation) = runtime.block_on(async {
        let client = crate::aws::sdk::connect(&options, aws.limiters()).await;
        let observation = crate::observe::observe(&client, settings).await;
        (client, observation)
    });
    if observation.root_id.is_none() && !observation.complete {
        let first = observation
            .errors
            .first()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        return Err(Failure::Runtime(anyhow::anyhow!(
            "cannot read the organization: {first}"
        )));
    }
    Ok((client, observation))
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

pub fn run(args: &ValidateArgs) -> Result<Output, Failure> {
    let source = args.source.open()?;
    let loaded = load(&source, &args.source.settings);
    let status = if loaded.error_count() > 0 {
        Status::Invalid
    } else {
        Status::Success
    };
    let output = match args.format {
        Format::Json => {
            let report = serde_json::json!({
                "valid": status == Status::Success,
                "revision": revision_json(source.revision(), source.origin()),
                "settings_file": args.source.settings,
                "errors": loaded.error_count(),
                "warnings": loaded.warning_count(),
                "diagnostics": loaded.diagnostics,
                "summary": summary(&loaded),
            });
            Output {
                stdout: format!("{report:#}\n"),
                stderr: String::new(),
                status,
            }
        }
        Format::Text => text(&loaded, &source, stderr_style(), status),
    };
    match status {
        Status::Success => Ok(output),
        Status::Invalid => Err(Failure::Invalid(output)),
    }
}

fn text(loaded: &Loaded, source: &Source, style: Style, status: Status) -> Output {
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
    Output {
        stdout,
        stderr: loaded.render(style),
        status,
    }
}
