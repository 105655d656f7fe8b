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

/// The longest segment kept whole. A key holds its segment twice, and S3 refuses keys over
/// 1,024 bytes: a tag value of 256 characters, percent-encoded, can reach 3,072.
const SEGMENT_MAX: usize = 120;

/// A value (a cost center) as one safe segment of an S3 key: percent-encoded, so that it is
/// never a path (`..`, `/`), never empty. A value too long for a key is cut on a whole
/// character and ends with `~` and a digest of the value: two values stay two segments
/// (`~` is always encoded in a value, so a cut segment is never a whole one).
pub fn key_segment(value: &str) -> String {
    if value.is_empty() {
        return crate::records::NO_COST_TAG.to_string();
    }
    let encoded = utf8_percent_encode(value, SEGMENT).to_string();
    if encoded.len() <= SEGMENT_MAX {
        return encoded;
    }
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(value.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    // Whole characters, each with its escapes, while they fit before `~` and the digest.
    let budget = SEGMENT_MAX - 1 - digest.len();
    let mut kept = String::with_capacity(budget);
    let mut buffer = [0u8; 4];
    for c in value.chars() {
        let piece = utf8_percent_encode(c.encode_utf8(&mut buffer), SEGMENT).to_string();
        if kept.len() + piece.len() > budget {
            break;
        }
        kept.push_str(&piece);
    }
    format!("{kept}~{digest}")
}

/// A CSV cell that a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, tab, carriage
/// return first) gets a `'` in front: what is a value stays a value.
pub fn neutral(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

/// CSV text with a header row, every cell neutralized (see [`neutral`]).
pub fn csv_text(header: &[&str], rows: &[Vec<String>]) -> String {
    csv_of(
        header,
        rows.iter().map(|row| row.iter().map(|c| neutral(c))),
    )
}

/// CSV text: UTF-8, a header row, CRLF line ends, the cells as given (a caller neutralizes
/// its text; amounts stay numbers).
pub fn csv_of<H, R, C>(header: &[H], rows: impl Iterator<Item = R>) -> String
where
    H: AsRef<[u8]>,
    R: IntoIterator<Item = C>,
    C: AsRef<[u8]>,
{
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let _ = writer.write_record(header);
    for row in rows {
        let _ = writer.write_record(row);
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
    fn long_cost_centers_are_cut_and_stay_distinct() {
        let kept = "C".repeat(SEGMENT_MAX);
        assert_eq!(key_segment(&kept), kept, "short enough: whole");
        // 256 characters of three UTF-8 bytes each: 2,304 bytes once encoded.
        let long = "é".repeat(100) + &"日".repeat(156);
        let other = "é".repeat(100) + &"本".repeat(156);
        let (a, b) = (key_segment(&long), key_segment(&other));
        assert!(a.len() <= SEGMENT_MAX, "{}", a.len());
        assert_ne!(a, b, "the digest tells them apart");
        let (cut, digest) = a.split_once('~').unwrap();
        assert_eq!(digest.len(), 16);
        // Cut between escapes: what is kept decodes to the value's first characters.
        let decoded = percent_encoding::percent_decode_str(cut)
            .decode_utf8()
            .unwrap();
        assert!(long.starts_with(&*decoded), "{decoded}");
        assert!(!key_segment(&long).contains(['/', '.']));
        // Only characters of three bytes: the cut falls between two characters.
        let segment = key_segment(&"日".repeat(40));
        let (cut, _) = segment.split_once('~').unwrap();
        assert_eq!(cut.len() % 9, 0, "{cut}");
        let decoded = percent_encoding::percent_decode_str(cut)
            .decode_utf8()
            .unwrap();
        assert!(decoded.chars().all(|c| c == '日'));
        // Any cut point: never a broken escape.
        for n in 0..8 {
            let value = "a".repeat(n) + &"%".repeat(200);
            let segment = key_segment(&value);
            let (cut, _) = segment.split_once('~').unwrap();
            assert!(
                percent_encoding::percent_decode_str(cut)
                    .decode_utf8()
                    .is_ok()
            );
            assert!(cut.len() % 3 == n % 3 || cut.len() <= n, "{cut}");
        }
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
