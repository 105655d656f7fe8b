use std::fmt::Write as _;

use clap::Args;
use spa_schema::explain::explain_text;
use spa_schema::{Effective, Resolver, check};

use super::validate::load;
use super::{Failure, Format, Output, SourceArgs, Status, revision_json, stderr_style};

/// Show the effective settings of an account or organizational unit, each value with the
/// file, line and column it came from.
///
/// Resolution cascades defaults → parent organizational unit → account item → CSV rows,
/// each level winning key by key.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// An account id (12 digits) or an organizational unit id (ou-…).
    #[arg(value_name = "ID")]
    pub identifier: String,

    /// The organizational unit the account sits in (its settings apply before the account's).
    #[arg(long, value_name = "OU_ID")]
    pub parent: Option<String>,

    #[command(flatten)]
    pub source: SourceArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

fn usage(message: String) -> Failure {
    Failure::Usage(message)
}

pub fn run(args: &ExplainArgs) -> Result<Output, Failure> {
    let id = args.identifier.trim();
    let is_ou = id.starts_with("ou-");
    if is_ou {
        check::organizational_unit_id(id).map_err(|p| usage(p.message))?;
        if args.parent.is_some() {
            return Err(usage(
                "--parent applies to accounts, not to organizational units".into(),
            ));
        }
    } else {
        check::account_id(id).map_err(|p| {
            usage(format!(
                "{} (expected an account id or an OU id)",
                p.message
            ))
        })?;
    }
    if let Some(parent) = &args.parent {
        check::organizational_unit_id(parent)
            .map_err(|p| usage(format!("--parent: {}", p.message)))?;
    }
    let source = args.source.open()?;
    let loaded = load(&source, &args.source.settings);
    let Some(settings) = loaded.valid() else {
        return Err(Failure::Invalid(Output {
            stdout: String::new(),
            stderr: format!(
                "{}error: the settings at {} are invalid; fix them first (spa validate)\n",
                loaded.render(stderr_style()),
                source.revision()
            ),
            status: Status::Invalid,
        }));
    };
    let resolver = Resolver::new(settings);
    let mut notes = Vec::new();
    let effective: Effective = if is_ou {
        if !resolver.is_listed_organizational_unit(id) {
            notes.push(format!(
                "{id} is not listed in organizational_units: only defaults apply"
            ));
        }
        resolver.organizational_unit(id)
    } else {
        if let Some(parent) = &args.parent {
            if !resolver.is_listed_organizational_unit(parent) {
                notes.push(format!(
                    "{parent} is not listed in organizational_units: it adds nothing"
                ));
            }
        } else {
            notes.push("no --parent given: the settings of the account's organizational unit are not included".into());
        }
        if !resolver.is_listed_account(id) && args.parent.is_none() {
            notes.push(format!("{id} is not listed in accounts nor in a CSV file"));
        }
        resolver.account(id, args.parent.as_deref())
    };
    let stdout = match args.format {
        Format::Json => {
            let report = serde_json::json!({
                "revision": revision_json(source.revision(), source.origin()),
                "effective": effective,
                "published": effective.to_published_json(),
                "notes": notes,
            });
            format!("{report:#}\n")
        }
        Format::Text => {
            let mut out = format!("# {} at {}\n", settings.settings_file, source.revision());
            out.push_str(&explain_text(&effective));
            for note in &notes {
                let _ = writeln!(out, "note: {note}");
            }
            out
        }
    };
    Ok(Output {
        stdout,
        stderr: String::new(),
        status: Status::Success,
    })
}
