//! The cost reports as tables, before they are CSV or Excel: the predecessor's columns, rows
//! in a stable order, subtotals and a total computed exactly (decimal, never floating
//! point). A subtotal row sums the rows `first..=last` above it, skipping other subtotals,
//! as Excel's `SUBTOTAL(9, …)` does: so the writers can say it as a formula.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;

use super::directory::Directory;
use super::fetch::{Bill, Line};

/// One cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    Amount(Decimal),
    Empty,
}

/// What a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Detail,
    /// Sums the rows `first..=last` (indexes in [`Sheet::rows`]) but the subtotals among them.
    Subtotal {
        first: usize,
        last: usize,
    },
    /// The last row: the sum of every detail row.
    Total,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub cells: Vec<Cell>,
    pub kind: Kind,
}

/// A report: a header row and rows. Columns from `amounts` on hold amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    /// The worksheet's name (at most 31 characters, as Excel allows).
    pub title: &'static str,
    pub header: Vec<String>,
    pub rows: Vec<Row>,
    /// The first column of amounts.
    pub amounts: usize,
}

impl Sheet {
    /// The amounts of the total row.
    pub fn total(&self) -> Vec<Decimal> {
        self.rows
            .last()
            .filter(|r| r.kind == Kind::Total)
            .map(|r| {
                r.cells
                    .iter()
                    .filter_map(|c| match c {
                        Cell::Amount(a) => Some(*a),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn text(value: impl Into<String>) -> Cell {
    Cell::Text(value.into())
}

/// Adds the amounts of the detail rows `first..=last` of `rows`, column by column.
fn sums(rows: &[Row], first: usize, last: usize, columns: usize, from: usize) -> Vec<Decimal> {
    let mut sums = vec![Decimal::ZERO; columns];
    for row in rows
        .get(first..=last)
        .unwrap_or_default()
        .iter()
        .filter(|r| r.kind == Kind::Detail)
    {
        for (sum, cell) in sums.iter_mut().zip(row.cells.iter().skip(from)) {
            if let Cell::Amount(amount) = cell {
                *sum += *amount;
            }
        }
    }
    sums
}

/// Appends a subtotal of `first..` (to the last row so far) with `labels` then the sums.
fn subtotal(sheet: &mut Sheet, first: usize, labels: Vec<Cell>) {
    let Some(last) = sheet.rows.len().checked_sub(1) else {
        return;
    };
    let columns = sheet.header.len() - sheet.amounts;
    let mut cells = labels;
    cells.extend(
        sums(&sheet.rows, first, last, columns, sheet.amounts)
            .into_iter()
            .map(Cell::Amount),
    );
    sheet.rows.push(Row {
        cells,
        kind: Kind::Subtotal { first, last },
    });
}

fn total(sheet: &mut Sheet, labels: Vec<Cell>) {
    let columns = sheet.header.len() - sheet.amounts;
    let last = sheet.rows.len().saturating_sub(1);
    let mut cells = labels;
    cells.extend(
        sums(&sheet.rows, 0, last, columns, sheet.amounts)
            .into_iter()
            .map(Cell::Amount),
    );
    sheet.rows.push(Row {
        cells,
        kind: Kind::Total,
    });
}

/// The lines of each cost center as (unit, account name, line), by unit, account, item.
pub fn by_cost_center<'a>(
    lines: &'a [Line],
    directory: &'a Directory,
) -> BTreeMap<String, Vec<(String, String, &'a Line)>> {
    let mut by_center: BTreeMap<String, Vec<(String, String, &Line)>> = BTreeMap::new();
    for line in lines {
        let who = directory.who(&line.account);
        by_center
            .entry(who.cost_center)
            .or_default()
            .push((who.unit, who.name, line));
    }
    for lines in by_center.values_mut() {
        lines.sort_by(|a, b| (&a.0, &a.2.account, &a.2.item).cmp(&(&b.0, &b.2.account, &b.2.item)));
    }
    by_center
}

/// The detail of one cost center: `item` is `Service` or `Usage Type`. A subtotal per
/// unit; the last row's Account says `TOTAL`.
pub fn detail(
    title: &'static str,
    item: &str,
    month: &str,
    cost_center: &str,
    lines: &[(String, String, &Line)],
) -> Sheet {
    let mut sheet = Sheet {
        title,
        header: [
            "Month",
            "Cost Center",
            "Organizational Unit",
            "Account",
            "Name",
            item,
            "Amount (USD)",
        ]
        .map(String::from)
        .to_vec(),
        rows: Vec::with_capacity(lines.len() + lines.len() / 8 + 2),
        amounts: 6,
    };
    let mut first = 0;
    for (index, (unit, name, line)) in lines.iter().enumerate() {
        sheet.rows.push(Row {
            cells: vec![
                text(month),
                text(cost_center),
                text(unit.as_str()),
                text(line.account.as_str()),
                text(name.as_str()),
                text(line.item.as_str()),
                Cell::Amount(line.amount),
            ],
            kind: Kind::Detail,
        });
        let unit_ends = lines.get(index + 1).is_none_or(|next| next.0 != *unit);
        if unit_ends {
            subtotal(
                &mut sheet,
                first,
                vec![
                    text(month),
                    text(cost_center),
                    text(unit.as_str()),
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Empty,
                ],
            );
            first = sheet.rows.len();
        }
    }
    total(
        &mut sheet,
        vec![
            text(month),
            text(cost_center),
            Cell::Empty,
            text("TOTAL"),
            Cell::Empty,
            Cell::Empty,
        ],
    );
    sheet
}

/// What one account spent per service over `[start, end)`, the costliest first: what an
/// incident about the account links to. The last row's Service says `TOTAL`.
pub fn account_services(start: &str, end: &str, lines: &[Line]) -> Sheet {
    let mut lines: Vec<&Line> = lines.iter().collect();
    lines.sort_by(|a, b| b.amount.cmp(&a.amount).then_with(|| a.item.cmp(&b.item)));
    let period = format!("{start} to {end} (excluded)");
    let mut sheet = Sheet {
        title: "Services",
        header: ["Period", "Account", "Service", "Amount (USD)"]
            .map(String::from)
            .to_vec(),
        rows: Vec::with_capacity(lines.len() + 1),
        amounts: 3,
    };
    for line in lines {
        sheet.rows.push(Row {
            cells: vec![
                text(period.as_str()),
                text(line.account.as_str()),
                text(line.item.as_str()),
                Cell::Amount(line.amount),
            ],
            kind: Kind::Detail,
        });
    }
    total(
        &mut sheet,
        vec![text(period.as_str()), Cell::Empty, text("TOTAL")],
    );
    sheet
}

/// Services per cost center and unit, a subtotal per cost center; the last row's Cost
/// Center says `TOTAL`.
pub fn services_summary(bill: &Bill, directory: &Directory) -> Sheet {
    let month = bill.month.to_string();
    let mut sheet = Sheet {
        title: "Services",
        header: [
            "Month",
            "Cost Center",
            "Organizational Unit",
            "Amount (USD)",
        ]
        .map(String::from)
        .to_vec(),
        rows: Vec::new(),
        amounts: 3,
    };
    for (cost_center, lines) in by_cost_center(&bill.services, directory) {
        let mut units: BTreeMap<&str, Decimal> = BTreeMap::new();
        for (unit, _, line) in &lines {
            *units.entry(unit.as_str()).or_default() += line.amount;
        }
        let first = sheet.rows.len();
        for (unit, amount) in units {
            sheet.rows.push(Row {
                cells: vec![
                    text(month.as_str()),
                    text(cost_center.as_str()),
                    text(unit),
                    Cell::Amount(amount),
                ],
                kind: Kind::Detail,
            });
        }
        subtotal(
            &mut sheet,
            first,
            vec![
                text(month.as_str()),
                text(cost_center.as_str()),
                Cell::Empty,
            ],
        );
    }
    total(
        &mut sheet,
        vec![text(month.as_str()), text("TOTAL"), Cell::Empty],
    );
    sheet
}

/// Charges per account (`name (id)`) and record type, with their sum, converted at `rate`
/// units of `currency` per USD; subtotals per unit and per cost center.
pub fn charges_summary(bill: &Bill, directory: &Directory, currency: &str, rate: Decimal) -> Sheet {
    let month = bill.month.to_string();
    let types: BTreeSet<&str> = bill.charges.iter().map(|l| l.item.as_str()).collect();
    let mut header: Vec<String> = ["Month", "Cost Center", "Organizational Unit", "Account"]
        .map(String::from)
        .to_vec();
    header.push(format!("Charges ({currency})"));
    header.extend(types.iter().map(|t| format!("{t} ({currency})")));
    let mut sheet = Sheet {
        title: "Charges",
        header,
        rows: Vec::new(),
        amounts: 4,
    };
    let convert = |amount: Decimal| {
        if rate == Decimal::ONE {
            amount
        } else {
            (amount * rate).round_dp(6).normalize()
        }
    };
    for (cost_center, lines) in by_cost_center(&bill.charges, directory) {
        // unit → account label → record type → amount
        let mut units: BTreeMap<&str, BTreeMap<String, BTreeMap<&str, Decimal>>> = BTreeMap::new();
        for (unit, name, line) in &lines {
            *units
                .entry(unit.as_str())
                .or_default()
                .entry(format!("{name} ({})", line.account))
                .or_default()
                .entry(line.item.as_str())
                .or_default() += convert(line.amount);
        }
        let center_first = sheet.rows.len();
        for (unit, accounts) in units {
            let unit_first = sheet.rows.len();
            for (account, amounts) in accounts {
                let mut cells = vec![
                    text(month.as_str()),
                    text(cost_center.as_str()),
                    text(unit),
                    text(account),
                    Cell::Amount(amounts.values().copied().sum()),
                ];
                cells.extend(
                    types
                        .iter()
                        .map(|t| Cell::Amount(amounts.get(t).copied().unwrap_or_default())),
                );
                sheet.rows.push(Row {
                    cells,
                    kind: Kind::Detail,
                });
            }
            subtotal(
                &mut sheet,
                unit_first,
                vec![
                    text(month.as_str()),
                    text(cost_center.as_str()),
                    text(unit),
                    Cell::Empty,
                ],
            );
        }
        subtotal(
            &mut sheet,
            center_first,
            vec![
                text(month.as_str()),
                text(cost_center.as_str()),
                Cell::Empty,
                Cell::Empty,
            ],
        );
    }
    total(
        &mut sheet,
        vec![
            text(month.as_str()),
            text("TOTAL"),
            Cell::Empty,
            Cell::Empty,
        ],
    );
    sheet
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::costs::directory::Who;
    use crate::reports::activities::Month;
    use std::str::FromStr;

    fn line(account: &str, item: &str, amount: &str) -> Line {
        Line {
            account: account.into(),
            item: item.into(),
            amount: Decimal::from_str(amount).unwrap(),
        }
    }

    fn directory() -> Directory {
        let who = |name: &str, unit: &str, cc: &str| Who {
            name: name.into(),
            unit: unit.into(),
            cost_center: cc.into(),
        };
        Directory {
            accounts: [
                ("111111111111".to_string(), who("alice", "Data", "CC-1")),
                ("222222222222".to_string(), who("bob", "Web", "CC-1")),
                ("333333333333".to_string(), who("carol", "Data", "CC-2")),
            ]
            .into(),
            calls: 0,
        }
    }

    fn bill() -> Bill {
        Bill {
            month: Month {
                year: 2026,
                month: 11,
            },
            services: vec![
                line("111111111111", "Amazon EC2", "10.5"),
                line("111111111111", "Amazon S3", "0.00000012"),
                line("222222222222", "Amazon EC2", "3"),
                line("333333333333", "AWS Lambda", "1.25"),
            ],
            usages: Vec::new(),
            charges: vec![
                line("111111111111", "Usage", "10.50000012"),
                line("111111111111", "Credit", "-5"),
                line("222222222222", "Usage", "3"),
                line("222222222222", "Tax", "0.6"),
                line("333333333333", "Usage", "1.25"),
            ],
            requests: 3,
            estimated: false,
        }
    }

    #[test]
    fn every_subtotal_and_the_total_add_up_exactly() {
        let bill = bill();
        let sheet = charges_summary(&bill, &directory(), "USD", Decimal::ONE);
        assert_eq!(
            sheet.header[4..],
            ["Charges (USD)", "Credit (USD)", "Tax (USD)", "Usage (USD)"]
        );
        // 3 accounts, 3 unit subtotals (CC-1: Data, Web; CC-2: Data), 2 center subtotals, total.
        assert_eq!(sheet.rows.len(), 3 + 3 + 2 + 1);
        let charged: Decimal = bill.charges.iter().map(|l| l.amount).sum();
        assert_eq!(sheet.total()[0], charged);
        assert_eq!(sheet.total()[1], Decimal::from(-5), "credits are visible");
        for row in &sheet.rows {
            if let Kind::Subtotal { first, last } = row.kind {
                let Cell::Amount(amount) = row.cells[4] else {
                    panic!()
                };
                let expected: Decimal = sheet.rows[first..=last]
                    .iter()
                    .filter(|r| r.kind == Kind::Detail)
                    .map(|r| match r.cells[4] {
                        Cell::Amount(a) => a,
                        _ => Decimal::ZERO,
                    })
                    .sum();
                assert_eq!(amount, expected);
            }
        }
        let services = services_summary(&bill, &directory());
        let spent: Decimal = bill.services.iter().map(|l| l.amount).sum();
        assert_eq!(services.total(), [spent]);
        assert_eq!(spent, Decimal::from_str("14.75000012").unwrap());
    }

    #[test]
    fn other_currencies_are_converted_row_by_row() {
        let sheet = charges_summary(
            &bill(),
            &directory(),
            "EUR",
            Decimal::from_str("0.5").unwrap(),
        );
        assert_eq!(sheet.header[4], "Charges (EUR)");
        assert_eq!(sheet.total()[0], Decimal::from_str("5.175").unwrap());
    }

    #[test]
    fn a_detail_has_a_subtotal_per_unit_and_a_total() {
        let bill = bill();
        let directory = directory();
        let centers = by_cost_center(&bill.services, &directory);
        let sheet = detail("Services", "Service", "2026-11", "CC-1", &centers["CC-1"]);
        let kinds: Vec<Kind> = sheet.rows.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::Detail,
                Kind::Detail,
                Kind::Subtotal { first: 0, last: 1 },
                Kind::Detail,
                Kind::Subtotal { first: 3, last: 3 },
                Kind::Total
            ]
        );
        assert_eq!(sheet.total(), [Decimal::from_str("13.50000012").unwrap()]);
        assert_eq!(sheet.rows[5].cells[3], Cell::Text("TOTAL".into()));
    }
}
