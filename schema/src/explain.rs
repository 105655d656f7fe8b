//! Plain-text rendering of effective settings with provenance (`spa explain`).

use std::fmt::Write as _;

use crate::model::Level;
use crate::resolve::{Effective, EffectiveFeature, Kind, Origin};

pub fn level_name(level: &Level) -> String {
    match level {
        Level::Defaults => "defaults".to_string(),
        Level::OrganizationalUnit { identifier } => format!("organizational unit {identifier}"),
        Level::Account { identifier } => format!("account item {identifier}"),
        Level::Csv { file, line } => format!("CSV row {file}:{line}"),
    }
}

fn origin(origin: &Origin) -> String {
    match (origin.level, origin.span) {
        // The span already names the file and line of a CSV row.
        (Some(Level::Csv { .. }), Some(span)) => format!("{span} (CSV row)"),
        (Some(level), Some(span)) => format!("{span} ({})", level_name(level)),
        (Some(level), None) => level_name(level),
        (None, _) => "built-in default".to_string(),
    }
}

fn line(out: &mut String, indent: usize, name: &str, value: &str, from: &Origin) {
    let label = format!("{}{name}", " ".repeat(indent));
    let _ = writeln!(out, "  {label:<34} {value:<28} ← {}", origin(from));
}

fn feature(out: &mut String, name: &str, f: &EffectiveFeature) {
    line(
        out,
        0,
        &format!("{name}.feature"),
        f.feature.value.as_str(),
        &f.feature.origin,
    );
    if !f.variables.is_empty() {
        let _ = writeln!(out, "  {name}.variables");
        for (key, value) in &f.variables {
            line(out, 2, key, &value.value.text, &value.origin);
        }
    }
}

/// Renders one account or OU: the cascade that applied, then each value and where it came from.
pub fn explain_text(effective: &Effective) -> String {
    let mut out = String::new();
    let kind = match effective.kind {
        Kind::Account => "account",
        Kind::OrganizationalUnit => "organizational unit",
    };
    let _ = writeln!(out, "{kind} {}", effective.identifier);
    let cascade: Vec<String> = effective.levels.iter().map(|l| level_name(l)).collect();
    let _ = writeln!(out, "  cascade: {}", cascade.join(" → "));
    if let Some(note) = &effective.note {
        line(&mut out, 0, "note", note.value, &note.origin);
    }
    if !effective.account_tags.is_empty() {
        let _ = writeln!(out, "  account_tags");
        for (key, value) in &effective.account_tags {
            line(&mut out, 2, key, value.value, &value.origin);
        }
    }
    if let Some(unset) = &effective.unset_tags {
        line(
            &mut out,
            0,
            "unset_tags",
            &format!("[{}]", unset.value.join(", ")),
            &unset.origin,
        );
    }
    feature(&mut out, "preparation", &effective.preparation);
    feature(&mut out, "purge", &effective.purge);
    out
}
