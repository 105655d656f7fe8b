//! A cost report as an Excel workbook, for people: bold frozen header with an autofilter,
//! amounts in a number format, subtotals and the total as `SUBTOTAL(9, …)` formulas (which
//! skip the subtotals inside their range) with their values cached, rows grouped in an
//! outline under each subtotal. Text is always written as text: a value that looks like a
//! formula stays a value.

use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{ColNum, Format, Formula, RowNum, Workbook, XlsxError};

use super::sheets::{Cell, Kind, Sheet};

/// The media type of a workbook.
pub const CONTENT_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Excel's last row (1,048,576 rows, the header included).
const MAX_ROWS: usize = 1_048_575;
/// Column widths are measured on this many rows at most.
const MEASURED_ROWS: usize = 5_000;

/// The workbook of `sheet`; `collapsed`: its outline groups start closed (summaries show
/// their subtotals first).
pub fn workbook(sheet: &Sheet, collapsed: bool) -> Result<Vec<u8>, String> {
    if sheet.rows.len() > MAX_ROWS {
        return Err(format!(
            "{} rows do not fit in an Excel worksheet ({MAX_ROWS} at most): the CSV file has them",
            sheet.rows.len()
        ));
    }
    build(sheet, collapsed).map_err(|e| format!("cannot write the workbook: {e}"))
}

fn build(sheet: &Sheet, collapsed: bool) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let header = Format::new().set_bold();
    let amount = Format::new().set_num_format("#,##0.00");
    let bold_amount = Format::new().set_num_format("#,##0.00").set_bold();
    let bold = Format::new().set_bold();
    let worksheet = workbook.add_worksheet();
    worksheet.set_name(sheet.title)?;
    let mut widths: Vec<usize> = sheet.header.iter().map(|h| h.chars().count()).collect();
    for (index, title) in sheet.header.iter().enumerate() {
        worksheet.write_string_with_format(0, index as ColNum, title, &header)?;
    }
    for (index, row) in sheet.rows.iter().enumerate() {
        let at = (index + 1) as RowNum;
        let summed = row.kind != Kind::Detail;
        let (first, last) = match row.kind {
            Kind::Detail => (0, 0),
            Kind::Subtotal { first, last } => (first, last),
            Kind::Total => (0, index.saturating_sub(1)),
        };
        for (col, cell) in row.cells.iter().enumerate() {
            let col_num = col as ColNum;
            if index < MEASURED_ROWS
                && let Some(width) = widths.get_mut(col)
            {
                let length = match cell {
                    Cell::Text(text) => text.chars().count(),
                    Cell::Amount(value) => value.round_dp(2).to_string().len() + 3,
                    Cell::Empty => 0,
                };
                *width = (*width).max(length);
            }
            match cell {
                Cell::Text(text) if summed => {
                    worksheet.write_string_with_format(at, col_num, text, &bold)?;
                }
                Cell::Text(text) => {
                    worksheet.write_string(at, col_num, text)?;
                }
                Cell::Amount(value) if summed => {
                    // The rows summed, below the header (`E2:E2` for one row, as Excel writes it).
                    let cell =
                        |row: usize| rust_xlsxwriter::row_col_to_cell((row + 1) as RowNum, col_num);
                    let formula =
                        Formula::new(format!("=SUBTOTAL(9,{}:{})", cell(first), cell(last)))
                            .set_result(value.normalize().to_string());
                    worksheet.write_formula_with_format(at, col_num, formula, &bold_amount)?;
                }
                Cell::Amount(value) => {
                    worksheet.write_number_with_format(
                        at,
                        col_num,
                        value.to_f64().unwrap_or_default(),
                        &amount,
                    )?;
                }
                Cell::Empty if summed => {
                    worksheet.write_blank(at, col_num, &bold)?;
                }
                Cell::Empty => {}
            }
        }
        if let Kind::Subtotal { first, last } = row.kind
            && first <= last
        {
            let (first, last) = ((first + 1) as RowNum, (last + 1) as RowNum);
            if collapsed {
                worksheet.group_rows_collapsed(first, last)?;
            } else {
                worksheet.group_rows(first, last)?;
            }
        }
    }
    for (col, width) in widths.iter().enumerate() {
        worksheet.set_column_width(col as ColNum, (*width as f64 + 2.0).min(80.0))?;
    }
    worksheet.set_freeze_panes(1, 0)?;
    let last_col = sheet.header.len().saturating_sub(1) as ColNum;
    worksheet.autofilter(0, 0, sheet.rows.len() as RowNum, last_col)?;
    workbook.save_to_buffer()
}
