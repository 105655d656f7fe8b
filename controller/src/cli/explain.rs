use std::fmt::Write as _;

use clap::Args;
use spa_schema::explain::explain_text;
use spa_schema::{Effective, Resolver, check};

use super::ops::connect::{connect, runtime};
use super::ops::settings::open_valid;
use super::{AwsArgs, Failure, Format, Output, SourceArgs, Status, Term, revision_json};

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

    /// The organizational unit the account sits in (its settings apply before the
    /// account's). Default: read from the live organization (one ListParents call).
    #[arg(long, value_name = "OU_ID")]
    pub parent: Option<String>,

    /// Do not call AWS: without --parent, resolve the account without its OU.
    #[arg(long)]
    pub offline: bool,

    #[command(flatten)]
    pub source: SourceArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

fn usage(message: String) -> Failure {
    Failure::Usage(message)
}

pub fn run(args: &ExplainArgs, term: &Term) -> Result<Output, Failure> {
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
    let (source, settings) = open_valid(
        &args.source,
        "nothing was explained",
        term.diagnostics_style(),
    )?;
    let settings = &settings;
    let resolver = Resolver::new(settings);
    let mut notes = Vec::new();
    let mut parent = args.parent.clone();
    if !is_ou && parent.is_none() && !args.offline {
        match live_parent(args, settings, id) {
            Ok(Some(found)) => {
                notes.push(format!("parent {found} read from the organization"));
                parent = Some(found);
            }
            Ok(None) => notes.push("the account sits at the root of the organization".to_string()),
            Err(message) => notes.push(format!(
                "could not read the parent from the organization ({message}); pass --parent, or --offline"
            )),
        }
    }
    let effective: Effective = if is_ou {
        if !resolver.is_listed_organizational_unit(id) {
            notes.push(format!(
                "{id} is not listed in organizational_units: only defaults apply"
            ));
        }
        resolver.organizational_unit(id)
    } else {
        if let Some(parent) = &parent {
            if !resolver.is_listed_organizational_unit(parent) {
                notes.push(format!(
                    "{parent} is not listed in organizational_units: it adds nothing"
                ));
            }
        } else if args.offline {
            notes.push("offline and no --parent: the settings of the account's organizational unit are not included".into());
        }
        if !resolver.is_listed_account(id)
            && parent
                .as_ref()
                .is_none_or(|p| !resolver.is_listed_organizational_unit(p))
        {
            notes.push(format!(
                "{id} is not managed: not listed, and not in a listed organizational unit"
            ));
        }
        resolver.account(id, parent.as_deref())
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

/// The OU an account sits in, from the live organization; `None` at the root.
fn live_parent(
    args: &ExplainArgs,
    settings: &spa_schema::Settings,
    id: &str,
) -> Result<Option<String>, String> {
    let runtime = runtime().map_err(|_| "no async runtime".to_string())?;
    runtime.block_on(async {
        let aws = connect(&args.aws, Some(settings)).await;
        let parents = aws.parents(id).await.map_err(|e| e.to_string())?;
        Ok(parents
            .into_iter()
            .find(|p| p.kind == "ORGANIZATIONAL_UNIT")
            .map(|p| p.id))
    })
}
