//! CSV files from FinOps and security teams: one row per account, columns `Account`,
//! `Note`, `Tag: <key>`, `Preparation: <VAR>` (or `Prepare: <VAR>`), `Purge: <VAR>`.
//! Each row becomes an [`Item`] of the resolution cascade, every cell with its place.

use std::collections::HashMap;

use crate::check;
use crate::diag::{Diagnostic, FileName, Span, did_you_mean};
use crate::model::{FeatureSettings, Item, Level, Located, Map, Scalar};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Column {
    Account,
    Note,
    Tag(String),
    Preparation(String),
    Purge(String),
}

const LABELS: &[&str] = &[
    "Account",
    "Note",
    "Tag:",
    "Preparation:",
    "Prepare:",
    "Purge:",
];

fn column(label: &str) -> Result<Column, check::Problem> {
    let prefixed = |prefix: &str| {
        label
            .strip_prefix(prefix)
            .map(|rest| rest.trim().to_string())
    };
    let column = if label == "Account" {
        Column::Account
    } else if label == "Note" {
        Column::Note
    } else if let Some(key) = prefixed("Tag:") {
        check::tag_key(&key)?;
        Column::Tag(key)
    } else if let Some(name) = prefixed("Preparation:").or_else(|| prefixed("Prepare:")) {
        check::variable_name(&name)?;
        Column::Preparation(name)
    } else if let Some(name) = prefixed("Purge:") {
        check::variable_name(&name)?;
        Column::Purge(name)
    } else {
        let head = label.split(':').next().unwrap_or(label);
        let hint = match did_you_mean(head, &["Account", "Note", "Tag", "Preparation", "Purge"]) {
            Some(close) if close == "Account" || close == "Note" => {
                format!("did you mean `{close}`?")
            }
            Some(close) => format!(
                "did you mean `{close}: {}`?",
                label.split_once(':').map_or("<name>", |(_, r)| r.trim())
            ),
            None => format!(
                "column labels are {}",
                LABELS.join(", ").replace(':', ": <name>")
            ),
        };
        return Err(check::Problem {
            message: format!("unknown column label `{label}`"),
            hint: Some(hint),
        });
    };
    Ok(column)
}

/// The work of parsing, counted in test builds by the thread that does it: tests bound the
/// complexity with counts instead of a clock.
#[cfg(test)]
#[derive(Clone, Copy)]
struct Work {
    /// Bytes the cursor walked over, and characters read to find the fields of records.
    walked: usize,
    read: usize,
    /// Maps built from the cells of a row, and the entries sorted into them.
    maps: usize,
    entries: usize,
}

#[cfg(test)]
thread_local! {
    static WORK: std::cell::Cell<Work> = const {
        std::cell::Cell::new(Work { walked: 0, read: 0, maps: 0, entries: 0 })
    };
}

#[cfg(test)]
fn tally(add: impl FnOnce(&mut Work)) {
    WORK.with(|work| {
        let mut counted = work.get();
        add(&mut counted);
        work.set(counted);
    });
}

/// The line and column (1-based, columns in characters) of byte offsets taken in increasing
/// order, found by walking on from the previous one: one pass over the file for all the
/// records. Looking back for the start of the line instead was quadratic in a file whose
/// rows end with a lone CR, all on one line.
struct Cursor<'t> {
    text: &'t str,
    byte: usize,
    line: u32,
    column: u32,
}

impl<'t> Cursor<'t> {
    fn new(text: &'t str) -> Cursor<'t> {
        Cursor {
            text,
            byte: 0,
            line: 1,
            column: 1,
        }
    }

    fn advance(&mut self, to: usize) -> (u32, u32) {
        if to < self.byte {
            *self = Cursor::new(self.text); // records come in order; this is only a safety net
        }
        if let Some(between) = self.text.get(self.byte..to) {
            #[cfg(test)]
            tally(|work| work.walked += between.len());
            for c in between.chars() {
                if c == '\n' {
                    self.line = self.line.saturating_add(1);
                    self.column = 1;
                } else {
                    self.column = self.column.saturating_add(1);
                }
            }
            self.byte = to;
        }
        (self.line, self.column)
    }
}

/// Where each field of the record at `start` (at `line` and `column`) starts. The csv crate
/// reports record positions only; this tiny scan finds the fields.
fn field_starts(
    text: &str,
    start: usize,
    count: usize,
    (line, column): (u32, u32),
) -> Vec<(u32, u32)> {
    let mut starts = Vec::with_capacity(count);
    let (mut line, mut column) = (line, column);
    let mut chars = text.get(start..).unwrap_or_default().chars().peekable();
    let mut at_field_start = true;
    let mut quoted = false;
    while let Some(c) = chars.next() {
        #[cfg(test)]
        tally(|work| work.read += 1);
        if at_field_start {
            starts.push((line, column));
            at_field_start = false;
            if starts.len() > count {
                break;
            }
        }
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                column = column.saturating_add(1);
            }
            '"' => quoted = !quoted,
            ',' if !quoted => at_field_start = true,
            '\n' if !quoted => break,
            '\n' => {
                line = line.saturating_add(1);
                column = 0;
            }
            _ => {}
        }
        column = column.saturating_add(1);
    }
    if at_field_start {
        starts.push((line, column));
    }
    starts
}

/// Reads one CSV file into items, one per row, pushing every problem into `diagnostics`.
pub fn parse(file: FileName, text: &str, diagnostics: &mut Vec<Diagnostic>) -> Vec<Item> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        None => {
            diagnostics.push(
                Diagnostic::error("csv-empty", Span::file(file), "CSV file is empty")
                    .with_hint("the first row must be a header with an `Account` column"),
            );
            return Vec::new();
        }
        Some(Err(error)) => {
            diagnostics.push(csv_error(file, &error));
            return Vec::new();
        }
        Some(Ok(record)) => record,
    };
    let header_starts = field_starts(text, 0, header.len(), (1, 1));
    let header_span = |index: usize, width: usize| {
        let (line, column) = header_starts.get(index).copied().unwrap_or((1, 1));
        Span::range(
            file,
            line,
            column,
            line,
            column.saturating_add(chars(width)),
        )
    };
    let mut columns = Vec::with_capacity(header.len());
    let mut seen: HashMap<Column, usize> = HashMap::new();
    let mut header_ok = true;
    for (index, raw) in header.iter().enumerate() {
        let label = raw.trim();
        let span = header_span(index, raw.chars().count());
        match column(label) {
            Ok(column) => {
                if let Some(first) = seen.get(&column) {
                    diagnostics.push(
                        Diagnostic::error(
                            "csv-duplicate-column",
                            span,
                            format!("column `{label}` appears twice"),
                        )
                        .with_label(header_span(*first, 1), "first here"),
                    );
                    header_ok = false;
                }
                seen.insert(column.clone(), index);
                columns.push(Some(column));
            }
            Err(problem) => {
                let mut d = Diagnostic::error("csv-unknown-label", span, problem.message);
                d.hint = problem.hint;
                diagnostics.push(d);
                columns.push(None);
                header_ok = false;
            }
        }
    }
    let Some(account_index) = columns.iter().position(|c| *c == Some(Column::Account)) else {
        diagnostics.push(
            Diagnostic::error(
                "csv-missing-account",
                header_span(0, 1),
                "the header has no `Account` column",
            )
            .with_hint("add a column labelled `Account` holding 12-digit account ids"),
        );
        return Vec::new();
    };

    let mut cursor = Cursor::new(text);
    let mut items = Vec::new();
    let mut accounts: HashMap<String, Span> = HashMap::new();
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                diagnostics.push(csv_error(file, &error));
                continue;
            }
        };
        let Some(position) = record.position() else {
            continue;
        };
        // The csv crate does not count newlines inside quoted fields (the cursor does), and
        // may place a record after CRLF on its `\n`: skip line ends first.
        let mut start = usize::try_from(position.byte()).unwrap_or(usize::MAX);
        while matches!(text.as_bytes().get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        let (line, column) = cursor.advance(start);
        if record.len() == 1 && record.get(0).is_some_and(|cell| cell.trim().is_empty()) {
            continue; // a blank line
        }
        let starts = field_starts(text, start, record.len(), (line, column));
        let cell_span = |index: usize, cell: &str| {
            let (line, column) = starts.get(index).copied().unwrap_or((line, 1));
            Span::range(
                file,
                line,
                column,
                line,
                column.saturating_add(chars(cell.chars().count())),
            )
        };
        if record.len() != columns.len() {
            let index = record.len().min(columns.len()).saturating_sub(1);
            diagnostics.push(
                Diagnostic::error(
                    "csv-ragged-row",
                    cell_span(index, record.get(index).unwrap_or_default()),
                    format!(
                        "this row has {} fields but the header has {}",
                        record.len(),
                        columns.len()
                    ),
                )
                .with_hint(
                    "every row needs one field per header column (empty fields are fine: `a,,c`)",
                ),
            );
            continue;
        }
        let raw_account = record.get(account_index).unwrap_or_default();
        let account = raw_account.trim();
        let account_span = cell_span(account_index, raw_account);
        if let Err(problem) = check::account_id(account) {
            let mut d = Diagnostic::error("csv-invalid-account", account_span, problem.message);
            d.hint = problem.hint.map(|h| {
                format!(
                    "{h}; a spreadsheet may have turned it into a number and dropped leading zeros"
                )
            });
            diagnostics.push(d);
            continue;
        }
        if let Some(first) = accounts.get(account) {
            diagnostics.push(
                Diagnostic::error(
                    "csv-duplicate-account",
                    account_span,
                    format!("account {account} has two rows in this file"),
                )
                .with_label(*first, "first row here")
                .with_hint("merge the two rows"),
            );
            continue;
        }
        accounts.insert(account.to_string(), account_span);
        if !header_ok {
            continue;
        }
        let mut item = Item {
            level: Level::Csv {
                file: file.to_string(),
                line,
            },
            identifier: Located::at(account.to_string(), &account_span),
            note: None,
            account_tags: Map::new(),
            unset_tags: None,
            preparation: FeatureSettings::default(),
            purge: FeatureSettings::default(),
        };
        // Collected, then sorted once into maps.
        let mut tags = Vec::new();
        let (mut preparation, mut purge) = (Vec::new(), Vec::new());
        for (index, (raw, column)) in record.iter().zip(&columns).enumerate() {
            let value = raw.trim();
            // An empty cell says nothing about its key (the predecessor wrote "").
            if value.is_empty() {
                continue;
            }
            let span = cell_span(index, raw);
            match column {
                Some(Column::Account) | None => {}
                Some(Column::Note) => item.note = Some(Located::at(value.to_string(), &span)),
                Some(Column::Tag(key)) => match check::tag_value(value) {
                    Ok(()) => tags.push((key.clone(), Located::at(value.to_string(), &span))),
                    Err(problem) => {
                        let mut d = Diagnostic::error("invalid-value", span, problem.message);
                        d.hint = problem.hint;
                        diagnostics.push(d);
                    }
                },
                Some(Column::Preparation(name)) | Some(Column::Purge(name)) => {
                    if let Err(problem) = check::known_variable(name, value) {
                        let mut d = Diagnostic::error("invalid-value", span, problem.message);
                        d.hint = problem.hint;
                        diagnostics.push(d);
                        continue;
                    }
                    let target = if matches!(column, Some(Column::Purge(_))) {
                        &mut purge
                    } else {
                        &mut preparation
                    };
                    target.push((name.clone(), Located::at(Scalar::string(value), &span)));
                }
            }
        }
        item.account_tags = sorted(tags);
        item.preparation.variables = sorted(preparation);
        item.purge.variables = sorted(purge);
        items.push(item);
    }
    items
}

/// The cells of a row for one map, sorted into it at once (see `Map::from_iter`): inserting
/// them one by one was quadratic for a header of many tag columns in reverse order.
fn sorted<V>(entries: Vec<(String, V)>) -> Map<V> {
    #[cfg(test)]
    tally(|work| {
        work.maps += 1;
        work.entries += entries.len();
    });
    entries.into_iter().collect()
}

/// The width of a cell in a span, at least one character.
fn chars(count: usize) -> u32 {
    crate::diag::number(count.max(1))
}

fn csv_error(file: FileName, error: &::csv::Error) -> Diagnostic {
    let line = error.position().map_or(1, |p| {
        crate::diag::number(usize::try_from(p.line()).unwrap_or(usize::MAX))
    });
    Diagnostic::error("csv-syntax", Span::point(file, line, 1), format!("invalid CSV: {error}"))
        .with_hint("check the quotes on this row: a field with a comma or a quote must be quoted, and quotes inside it doubled")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (Vec<Item>, Vec<Diagnostic>) {
        let file = crate::diag::intern("f.csv");
        let mut diagnostics = Vec::new();
        let items = parse(file, text, &mut diagnostics);
        (items, diagnostics)
    }

    #[test]
    fn cells_keep_their_place() {
        let (items, diagnostics) =
            run("Account,Note,Tag: cost-center\n111111111111,\"a, b\",cc1\n222222222222,,cc2\n");
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(items.len(), 2);
        let tag = &items[1].account_tags["cost-center"];
        assert_eq!(tag.value, "cc2");
        let span = tag.span.as_ref().unwrap();
        assert_eq!((span.line, span.column), (3, 15));
        assert!(items[1].note.is_none(), "an empty cell says nothing");
        assert_eq!(items[0].note.as_ref().unwrap().value, "a, b");
    }

    #[test]
    fn crlf_and_quoted_newlines() {
        let (items, diagnostics) =
            run("Account,Note,Tag: x\r\n111111111111,\"two\nlines\",v\r\n222222222222,n,w\r\n");
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let span = items[1].account_tags["x"].span.unwrap();
        assert_eq!((span.line, span.column), (4, 16));
    }

    /// What this thread has done so far.
    fn work() -> Work {
        WORK.with(std::cell::Cell::get)
    }

    /// Rows ending with a lone CR (spreadsheets' "CSV for Macintosh") are all on line 1 for
    /// spa, and finding a row's column scanned back to the start of the file: half a minute
    /// for 2 MiB. Rows are located by one walk forward over the file, and each record's
    /// fields by one read of that record.
    #[test]
    fn rows_are_located_in_one_pass() {
        let mut text = String::from("Account,Note\r");
        let mut row = 0;
        while text.len() < 64 << 10 {
            text.push_str(&format!("{:012},row {row}\r", 100_000_000_000u64 + row));
            row += 1;
        }
        let before = work();
        let (items, diagnostics) = run(&text);
        let after = work();
        assert!(after.walked - before.walked <= text.len());
        // Each record once; with lone CRs, the first field of the next one as well.
        let read = after.read - before.read;
        assert!(read <= 2 * text.len(), "{read}");
        assert!(diagnostics.is_empty(), "{:?}", &diagnostics[..1]);
        assert_eq!(items.len() as u64, row);
        // Lines end at LF: the second row starts after the header and the first row.
        let span = items[1].note.as_ref().unwrap().span.unwrap();
        assert_eq!((span.line, span.column), (1, 13 + 19 + 13 + 1));
    }

    /// Tag columns in reverse order. Inserting each tag into the sorted map moved every
    /// entry after it: quadratic, a minute for 200,000 columns. A row's tags are sorted into
    /// its map at once, and the header is read once.
    #[test]
    fn many_columns_in_any_order_are_sorted_at_once() {
        let columns = 2_000;
        let mut text = String::from("Account");
        for column in (0..columns).rev() {
            text.push_str(&format!(",Tag: k{column:06}"));
        }
        text.push_str("\n111111111111");
        text.push_str(&",v".repeat(columns));
        let before = work();
        let (items, diagnostics) = run(&text);
        let after = work();
        // Tags, preparation and purge variables of the one row: three maps.
        assert_eq!(after.maps - before.maps, 3);
        assert_eq!(after.entries - before.entries, columns);
        let read = after.read - before.read;
        assert!(read <= text.len() + 2, "{read}");
        assert!(diagnostics.is_empty(), "{:?}", &diagnostics[..1]);
        let tags = &items[0].account_tags;
        assert_eq!(tags.len(), columns);
        assert_eq!(tags.keys().next().map(String::as_str), Some("k000000"));
        assert_eq!(tags["k001999"].span.unwrap().column, 14);
    }

    #[test]
    fn problems_are_located() {
        let (_, diagnostics) = run("Account,Colour\n12345,x\n");
        let codes: Vec<_> = diagnostics
            .iter()
            .map(|d| (d.code, d.span.line, d.span.column))
            .collect();
        assert_eq!(
            codes,
            vec![("csv-unknown-label", 1, 9), ("csv-invalid-account", 2, 1)]
        );
    }
}
