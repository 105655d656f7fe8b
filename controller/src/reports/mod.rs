//! Reports from the records (docs/reports.md), with the predecessor's keys and columns:
//! the inventory of the managed accounts (weekly) and the activities of a month, one file
//! per cost center (on day 1 for the past month, weekly for the month so far). Each is
//! named after the period it covers. The controller runs them on their schedules
//! (`schedule`); `spa report` runs them on demand.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use spa_schema::Settings;

use crate::records::Tables;

pub mod activities;
pub mod html;
pub mod inventory;
pub mod schedule;

/// What a report needs of the settings.
#[derive(Debug, Clone)]
pub struct ReportSettings {
    pub environment: String,
    pub tables: Tables,
    pub inventories_prefix: String,
    pub activities_prefix: String,
    pub cost_tag: String,
    pub holder_tag: String,
    pub state_tag: String,
    pub parked_tag: String,
}

impl ReportSettings {
    pub fn of(settings: &Settings) -> ReportSettings {
        let [state, holder, _, parked] = settings.lifecycle_tags();
        let prefix = |p: &spa_schema::Located<String>| p.value.trim_matches('/').to_string();
        ReportSettings {
            environment: settings.environment_identifier.value.clone(),
            tables: Tables::of(settings),
            inventories_prefix: prefix(&settings.reporting.inventories_prefix),
            activities_prefix: prefix(&settings.reporting.activities_prefix),
            cost_tag: settings.features.with_cost_management_tag.value.clone(),
            holder_tag: holder,
            state_tag: state,
            parked_tag: parked,
        }
    }
}

/// What is not kept as it is in a key segment: everything but letters, digits, `-`, `_`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_');

/// A value (a cost center) as one safe segment of an S3 key: percent-encoded, so that it is
/// never a path (`..`, `/`), never empty.
pub fn key_segment(value: &str) -> String {
    if value.is_empty() {
        return crate::records::NO_COST_TAG.to_string();
    }
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// A CSV cell that a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, tab, carriage
/// return first) gets a `'` in front: what is a value stays a value.
pub fn neutral(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

/// CSV text with a header row.
pub fn csv_text(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let _ = writer.write_record(header);
    for row in rows {
        let _ = writer.write_record(row.iter().map(|c| neutral(c)));
    }
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_centers_are_safe_key_segments() {
        assert_eq!(key_segment("CC-4100"), "CC-4100");
        assert_eq!(key_segment("../../etc"), "%2E%2E%2F%2E%2E%2Fetc");
        assert_eq!(key_segment("R&D / Paris"), "R%26D%20%2F%20Paris");
        assert_eq!(key_segment(""), "NoCostTag");
        assert!(!key_segment("a/b").contains('/'));
    }

    #[test]
    fn cells_are_never_formulas() {
        let text = csv_text(
            &["A", "B"],
            &[vec![
                "=HYPERLINK(\"x\")".into(),
                "plain, with a comma".into(),
            ]],
        );
        assert_eq!(
            text,
            "A,B\r\n\"'=HYPERLINK(\"\"x\"\")\",\"plain, with a comma\"\r\n"
        );
    }
}
