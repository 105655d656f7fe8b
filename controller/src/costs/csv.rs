//! A cost report as CSV, for machines: one header row, the detail rows, and the total as
//! the last row; amounts as plain decimals (never scientific notation, never rounded);
//! subtotals are the workbooks' (a machine sums what it needs). A text cell that a
//! spreadsheet would take for a formula is neutralized.

use super::sheets::{Cell, Kind, Sheet};
use crate::reports::{csv_of, neutral};

pub fn csv(sheet: &Sheet) -> String {
    let rows = sheet
        .rows
        .iter()
        .filter(|r| !matches!(r.kind, Kind::Subtotal { .. }))
        .map(|row| {
            row.cells.iter().map(|cell| match cell {
                Cell::Text(text) => neutral(text),
                Cell::Amount(amount) => amount.normalize().to_string(),
                Cell::Empty => String::new(),
            })
        });
    csv_of(&sheet.header, rows)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use rust_decimal::Decimal;

    use super::*;
    use crate::costs::sheets::Row;

    #[test]
    fn amounts_are_plain_decimals_and_text_is_never_a_formula() {
        let sheet = Sheet {
            title: "Services",
            header: vec!["Cost Center".into(), "Amount (USD)".into()],
            rows: vec![
                Row {
                    cells: vec![
                        Cell::Text("=HYPERLINK(\"http://x\")".into()),
                        Cell::Amount(Decimal::from_scientific("1.2E-7").unwrap()),
                    ],
                    kind: Kind::Detail,
                },
                Row {
                    cells: vec![
                        Cell::Text("R&D, \"Paris\"".into()),
                        Cell::Amount(Decimal::from_str("-250.500").unwrap()),
                    ],
                    kind: Kind::Detail,
                },
                Row {
                    cells: vec![Cell::Empty, Cell::Amount(Decimal::ZERO)],
                    kind: Kind::Subtotal { first: 0, last: 1 },
                },
                Row {
                    cells: vec![
                        Cell::Text("TOTAL".into()),
                        Cell::Amount(Decimal::from_str("-250.49999988").unwrap()),
                    ],
                    kind: Kind::Total,
                },
            ],
            amounts: 1,
        };
        assert_eq!(
            csv(&sheet),
            "Cost Center,Amount (USD)\r\n\
             \"'=HYPERLINK(\"\"http://x\"\")\",0.00000012\r\n\
             \"R&D, \"\"Paris\"\"\",-250.5\r\n\
             TOTAL,-250.49999988\r\n"
        );
    }
}
