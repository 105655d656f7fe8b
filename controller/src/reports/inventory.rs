//! The inventory of the managed accounts, from their shadows: `Cost Center, Cost Owner,
//! Organizational Unit, Account, Name, Email, State, Console Login`, one row per account,
//! by cost center, OU and account. Key: `<inventories_prefix>/YYYY/MM/YYYY-MM-DD-inventory.csv`.

use super::{ReportSettings, csv_text};
use crate::records::Shadow;

pub const HEADER: [&str; 8] = [
    "Cost Center",
    "Cost Owner",
    "Organizational Unit",
    "Account",
    "Name",
    "Email",
    "State",
    "Console Login",
];

/// The key of the inventory of `date` (`YYYY-MM-DD`).
pub fn key(settings: &ReportSettings, date: &str) -> String {
    let (year, month) = (&date[..4.min(date.len())], date.get(5..7).unwrap_or("00"));
    format!(
        "{}/{year}/{month}/{date}-inventory.csv",
        settings.inventories_prefix
    )
}

/// One row per shadow, sorted.
pub fn rows(settings: &ReportSettings, shadows: &[Shadow]) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = shadows
        .iter()
        .map(|shadow| {
            let tag = |key: &str| shadow.tags.get(key).cloned().unwrap_or_default();
            let cost_center = crate::records::cost_center(
                shadow.tags.get(&settings.cost_tag).map(String::as_str),
            );
            vec![
                cost_center,
                tag(&settings.holder_tag),
                shadow
                    .organizational_unit_name
                    .clone()
                    .or_else(|| shadow.organizational_unit.clone())
                    .unwrap_or_default(),
                shadow.account.clone(),
                shadow.name.clone(),
                shadow.email.clone(),
                tag(&settings.state_tag),
                shadow
                    .console_login
                    .as_ref()
                    .map(|l| l.at.clone())
                    .unwrap_or_default(),
            ]
        })
        .collect();
    rows.sort_by(|a, b| (&a[0], &a[2], &a[3]).cmp(&(&b[0], &b[2], &b[3])));
    rows
}

/// The inventory as CSV.
pub fn csv(settings: &ReportSettings, shadows: &[Shadow]) -> String {
    csv_text(&HEADER, &rows(settings, shadows))
}
