//! Reads the cost reports back as a person's tools would: workbooks with a real reader
//! (calamine), CSV with a CSV parser, e-mails with a MIME parser; checks every total
//! against the rows it sums.

use std::io::Cursor;
use std::str::FromStr;

use calamine::{Data, Reader, Xlsx};
use rust_decimal::Decimal;

/// A worksheet read back: its values and its formulas (same shape, `""` where none).
pub struct Read {
    pub values: Vec<Vec<Data>>,
    pub formulas: Vec<Vec<String>>,
}

pub fn read(bytes: &[u8], sheet: &str) -> Read {
    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes.to_vec()))
        .expect("a workbook calamine can open");
    let values = workbook.worksheet_range(sheet).expect("the worksheet");
    let formulas = workbook.worksheet_formula(sheet).expect("its formulas");
    let height = values.height();
    let width = values.width();
    let mut out = Read {
        values: vec![vec![Data::Empty; width]; height],
        formulas: vec![vec![String::new(); width]; height],
    };
    let (row0, col0) = values.start().unwrap_or((0, 0));
    for (r, row) in values.rows().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            out.values[r][c] = cell.clone();
        }
    }
    if let Some((frow, fcol)) = formulas.start() {
        for (r, row) in formulas.rows().enumerate() {
            for (c, formula) in row.iter().enumerate() {
                let (r, c) = (r + (frow - row0) as usize, c + (fcol - col0) as usize);
                if r < height && c < width {
                    out.formulas[r][c] = formula.clone();
                }
            }
        }
    }
    out
}

/// A cell's number: a number, or a formula's cached result.
pub fn number(cell: &Data) -> Option<f64> {
    match cell {
        Data::Float(f) => Some(*f),
        Data::Int(i) => Some(*i as f64),
        Data::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// `SUBTOTAL(9,E2:E10)` → (column index, first row index, last row index), 0-based.
fn subtotal_range(formula: &str) -> (usize, usize, usize) {
    let inner = formula
        .trim_start_matches('=')
        .strip_prefix("SUBTOTAL(9,")
        .and_then(|f| f.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not a SUBTOTAL(9, …): {formula}"));
    let (from, to) = inner.split_once(':').unwrap();
    let cell = |text: &str| {
        let letters: String = text
            .chars()
            .take_while(|c| c.is_ascii_uppercase())
            .collect();
        let digits: usize = text[letters.len()..].parse().unwrap();
        let column = letters
            .bytes()
            .fold(0usize, |acc, b| acc * 26 + (b - b'A' + 1) as usize)
            - 1;
        (column, digits - 1)
    };
    let (column, first) = cell(from);
    let (column_to, last) = cell(to);
    assert_eq!(column, column_to, "{formula}");
    (column, first, last)
}

/// Evaluates every `SUBTOTAL(9, …)` as Excel would (the sum of the cells of its range
/// that are not formulas themselves) and checks it against its cached value and its own
/// column; returns the number of formulas checked.
pub fn check_subtotals(read: &Read) -> usize {
    let mut checked = 0;
    for (r, row) in read.formulas.iter().enumerate() {
        for (c, formula) in row.iter().enumerate() {
            if formula.is_empty() {
                continue;
            }
            let (column, first, last) = subtotal_range(formula);
            assert_eq!(column, c, "row {r}: the formula sums its own column");
            assert!(last < r, "row {r}: the formula sums rows above it");
            let evaluated: f64 = (first..=last)
                .filter(|i| read.formulas[*i][c].is_empty())
                .filter_map(|i| number(&read.values[i][c]))
                .sum();
            let cached = number(&read.values[r][c])
                .unwrap_or_else(|| panic!("row {r} col {c}: no cached value"));
            assert!(
                (evaluated - cached).abs() < 1e-6,
                "row {r} col {c}: {formula} evaluates to {evaluated}, cached {cached}"
            );
            checked += 1;
        }
    }
    checked
}

/// The total row of a workbook: the amounts of its last row, from `from` on.
pub fn total_row(read: &Read, from: usize) -> Vec<f64> {
    let last = read.values.last().expect("rows");
    last[from..]
        .iter()
        .map(|c| number(c).unwrap_or(0.0))
        .collect()
}

/// The rows of a CSV file (header first).
pub fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// The amounts of the last row of a CSV file, from column `from` on, exactly.
pub fn csv_total(bytes: &[u8], from: usize) -> Vec<Decimal> {
    let rows = csv_rows(bytes);
    rows.last().unwrap()[from..]
        .iter()
        .map(|a| Decimal::from_str(a).unwrap_or_else(|_| panic!("{a} is a plain decimal")))
        .collect()
}

/// Checks a pair of files: every formula of the workbook right, its total equal to the
/// CSV's total; the CSV total exactly.
pub fn check_pair(csv: &[u8], xlsx: &[u8], sheet: &str, from: usize) -> Vec<Decimal> {
    let read = read(xlsx, sheet);
    assert!(check_subtotals(&read) >= 1, "{sheet}: no total formula");
    let exact = csv_total(csv, from);
    let shown = total_row(&read, from);
    assert_eq!(exact.len(), shown.len(), "{sheet}");
    for (exact, shown) in exact.iter().zip(&shown) {
        let exact: f64 = exact.to_string().parse().unwrap();
        assert!(
            (exact - shown).abs() < 1e-6,
            "{sheet}: CSV {exact}, Excel {shown}"
        );
    }
    // The detail rows of the CSV add up to its total, exactly.
    let rows = csv_rows(csv);
    let details = &rows[1..rows.len() - 1];
    for (offset, total) in csv_total(csv, from).iter().enumerate() {
        let sum: Decimal = details
            .iter()
            .map(|r| Decimal::from_str(&r[from + offset]).unwrap())
            .sum();
        assert_eq!(sum, *total, "{sheet}: column {}", from + offset);
    }
    exact
}

/// The attachments of an e-mail as (file name, contents), by name.
pub fn attachments(message: &mail_parser::Message<'_>) -> Vec<(String, Vec<u8>)> {
    use mail_parser::MimeHeaders;
    let mut attached: Vec<(String, Vec<u8>)> = message
        .attachments()
        .map(|a| {
            (
                a.attachment_name().unwrap_or_default().to_string(),
                a.contents().to_vec(),
            )
        })
        .collect();
    attached.sort();
    attached
}
