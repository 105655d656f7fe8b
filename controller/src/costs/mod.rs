//! FinOps (docs/costs.md): the organization's costs of a month from Cost Explorer,
//! attributed to cost centers by the accounts' cost tag, as CSV for machines and Excel
//! workbooks for people in the reports bucket; the monthly e-mail through SES; the daily
//! cost metric per cost center.

pub mod csv;
pub mod daily;
pub mod directory;
pub mod email;
pub mod excel;
pub mod exception;
pub mod fetch;
pub mod rates;
pub mod report;
pub mod run;
pub mod sheets;
