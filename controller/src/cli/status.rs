use std::fmt::Write as _;

use clap::Args;
use comfy_table::{ContentArrangement, Table, presets};

use super::ops::connect::{connect_and_observe, runtime};
use super::ops::settings::open_valid;
use super::{AwsArgs, Failure, Format, Output, SourceArgs, Status, Term, revision_json};
use crate::observe::Observation;

/// Show the managed accounts as AWS has them: id, name, e-mail, organizational unit,
/// lifecycle state, holder and cost center, with counts per state.
///
/// Reads the settings (which OUs and accounts are managed), then observes the organization
/// and the parameters under /<env>/, read-only. Exit code 1 when the observation is
/// incomplete (some reads failed): the table then says so.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: &StatusArgs, term: &Term) -> Result<Output, Failure> {
    let (source, settings) =
        open_valid(&args.source, "nothing was read", term.diagnostics_style())?;
    let settings = &settings;
    let (aws, observation) = connect_and_observe(&runtime()?, &args.aws, settings, term)?;
    let calls = aws.calls().to_json();
    let state_tag = settings.state_tag();
    let holder_tag = settings.holder_tag();
    let cost_tag = settings.features.with_cost_management_tag.value.clone();
    let stdout = match args.format {
        Format::Json => {
            let accounts: Vec<serde_json::Value> = observation
                .accounts
                .values()
                .map(|a| {
                    let tag = |k: &str| a.tags.as_ref().and_then(|t| t.get(k).cloned());
                    serde_json::json!({
                        "id": a.id, "name": a.name, "email": a.email, "status": a.status,
                        "organizational_unit": a.parent, "listed": a.listed,
                        "state": tag(&state_tag), "holder": tag(&holder_tag), "cost_center": tag(&cost_tag),
                        "tags": a.tags,
                    })
                })
                .collect();
            let report = serde_json::json!({
                "revision": revision_json(source.revision(), source.origin()),
                "complete": observation.complete,
                "fingerprint": observation.fingerprint,
                "root_id": observation.root_id,
                "accounts": accounts,
                "counts_by_state": observation.counts_by_state(&state_tag),
                "organizational_units": observation.organizational_units,
                "missing_organizational_units": observation.missing_organizational_units,
                "missing_accounts": observation.missing_accounts,
                "parameters": observation.parameters.len(),
                "errors": observation.errors,
                "calls": calls,
            });
            format!("{report:#}\n")
        }
        Format::Text => text(
            &observation,
            &state_tag,
            &holder_tag,
            &cost_tag,
            &source.revision().to_string(),
        ),
    };
    let output = Output {
        stdout,
        stderr: String::new(),
        status: Status::Success,
    };
    if observation.complete {
        Ok(output)
    } else {
        let mut output = output;
        output.stderr = format!(
            "error: the observation is incomplete: {} read(s) failed\n",
            observation.errors.len()
        );
        Err(Failure::Partial(output))
    }
}

fn text(
    observation: &Observation,
    state_tag: &str,
    holder_tag: &str,
    cost_tag: &str,
    revision: &str,
) -> String {
    let mut out = String::new();
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(vec![
            "account",
            "name",
            "e-mail",
            "OU",
            "state",
            "holder",
            "cost center",
        ]);
    for account in observation.accounts.values() {
        let tag = |k: &str| {
            account
                .tags
                .as_ref()
                .map(|t| t.get(k).cloned().unwrap_or_else(|| "—".to_string()))
                .unwrap_or_else(|| "(unreadable)".to_string())
        };
        let unit = account
            .parent
            .as_ref()
            .map(|p| {
                let name = observation
                    .organizational_units
                    .get(p)
                    .map(|u| u.name.as_str())
                    .unwrap_or("");
                format!("{name} ({p})")
            })
            .unwrap_or_else(|| "— (listed)".to_string());
        table.add_row(vec![
            account.id.clone(),
            account.name.clone(),
            account.email.clone(),
            unit,
            tag(state_tag),
            tag(holder_tag),
            tag(cost_tag),
        ]);
    }
    let _ = writeln!(out, "{table}");
    let counts: Vec<String> = observation
        .counts_by_state(state_tag)
        .iter()
        .map(|(state, n)| format!("{state}: {n}"))
        .collect();
    let _ = writeln!(
        out,
        "{} managed accounts in {} organizational units — {}",
        observation.accounts.len(),
        observation.organizational_units.len(),
        counts.join(", ")
    );
    let _ = writeln!(
        out,
        "{} parameters under {}; settings at {revision}; observation {}",
        observation.parameters.len(),
        Observation::parameter_prefix(&observation.environment),
        &observation.fingerprint[..12.min(observation.fingerprint.len())]
    );
    for id in &observation.missing_organizational_units {
        let _ = writeln!(
            out,
            "warning: organizational unit {id} is listed in settings but does not exist"
        );
    }
    for id in &observation.missing_accounts {
        let _ = writeln!(
            out,
            "warning: account {id} is listed in settings but does not exist"
        );
    }
    if !observation.complete {
        let _ = writeln!(
            out,
            "INCOMPLETE: {} read(s) failed:",
            observation.errors.len()
        );
        for error in &observation.errors {
            let _ = writeln!(out, "  {}: {}", error.target, error.message);
        }
    }
    out
}
