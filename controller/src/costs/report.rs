//! The monthly cost report: the bill of a month attributed to cost centers, as the files of
//! docs/costs.md (per cost center: services and usages; summaries: services, charges, and
//! the charges in each extra currency), each in CSV and Excel, under
//! `<costs_prefix>/<cost center or Summary>/YYYY/YYYY-MM-<label>-<report>[-<CUR>].<csv|xlsx>`;
//! and the e-mail that carries the charges summaries.

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use spa_schema::Settings;

use super::directory::{self, Directory};
use super::fetch::{self, Bill, CostError};
use super::rates::Rates;
use super::sheets::{self, Sheet};
use super::{csv, email, excel};
use crate::aws::Aws;
use crate::records::{Shadow, Tables, read_all};
use crate::reports::activities::Month;
use crate::reports::key_segment;

/// The label of the summaries in keys.
pub const SUMMARY: &str = "Summary";
const XLSX: &str = excel::CONTENT_TYPE;
const CSV: &str = "text/csv; charset=utf-8";

/// What the cost reports need of the settings.
#[derive(Debug, Clone)]
pub struct CostSettings {
    /// Costs are on when settings set `features.with_cost_management_tag`.
    pub enabled: bool,
    pub environment: String,
    /// The account tag whose value is the cost center.
    pub tag: String,
    pub prefix: String,
    pub currencies: Vec<String>,
    pub rates_url: String,
    /// `with_origin_email_recipient`.
    pub from: Option<String>,
    pub recipients: Vec<String>,
    /// The e-mail's body, `{month}` replaced.
    pub template: String,
    pub tables: Tables,
}

/// The body when `reporting.costs_markdown_template` is not set.
const DEFAULT_TEMPLATE: &str = "# Summary cost report for {month}\n\nThe charges of {month} per cost center, organizational unit and account are attached (Excel). Every report of the month, per cost center, is in the reports bucket.\n";

impl CostSettings {
    pub fn of(settings: &Settings) -> CostSettings {
        let features = &settings.features;
        let values = |list: &[spa_schema::Located<String>]| {
            list.iter().map(|v| v.value.clone()).collect::<Vec<_>>()
        };
        CostSettings {
            enabled: features.with_cost_management_tag.span.is_some(),
            environment: settings.environment_identifier.value.clone(),
            tag: features.with_cost_management_tag.value.clone(),
            prefix: settings
                .reporting
                .costs_prefix
                .value
                .trim_matches('/')
                .to_string(),
            currencies: values(&features.with_cost_extra_currencies),
            rates_url: settings.reporting.costs_exchange_rates_url.value.clone(),
            from: features
                .with_origin_email_recipient
                .as_ref()
                .map(|f| f.value.clone()),
            recipients: values(&features.with_cost_email_recipients),
            template: settings
                .reporting
                .costs_markdown_template
                .as_ref()
                .map_or(DEFAULT_TEMPLATE, |t| t.value.as_str())
                .to_string(),
            tables: Tables::of(settings),
        }
    }

    /// Whether the e-mail can be sent: a sender and at least one recipient.
    pub fn mails(&self) -> bool {
        self.from.is_some() && !self.recipients.is_empty()
    }
}

/// Whose a report file is: a cost center's, or the summaries'.
#[derive(Debug, Clone, Copy)]
pub enum Label<'a> {
    Center(&'a str),
    Summary,
}

/// The key of a report file. A cost center named `Summary` gets its `S` percent-encoded:
/// its files never overwrite the summaries.
pub fn key(
    settings: &CostSettings,
    month: Month,
    label: Label<'_>,
    report: &str,
    currency: Option<&str>,
    extension: &str,
) -> String {
    let label = match label {
        Label::Summary => SUMMARY.to_string(),
        Label::Center(center) if center == SUMMARY => "%53ummary".to_string(),
        Label::Center(center) => key_segment(center),
    };
    let currency = currency.map(|c| format!("-{c}")).unwrap_or_default();
    format!(
        "{}/{label}/{:04}/{month}-{label}-{report}{currency}.{extension}",
        settings.prefix, month.year
    )
}

/// One file of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub key: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
    /// The charges summaries, which the e-mail carries.
    pub attach: bool,
}

impl File {
    /// The file name (the last segment of the key).
    pub fn name(&self) -> &str {
        self.key.rsplit('/').next().unwrap_or(&self.key)
    }
}

/// The files of one table: CSV, then the workbook (or a warning when it cannot be one).
fn both(
    sheet: &Sheet,
    key: impl Fn(&str) -> String,
    collapsed: bool,
    attach: bool,
    files: &mut Vec<File>,
    warnings: &mut Vec<String>,
) {
    files.push(File {
        key: key("csv"),
        content_type: CSV,
        bytes: csv::csv(sheet).into_bytes(),
        attach: false,
    });
    match excel::workbook(sheet, collapsed) {
        Ok(bytes) => files.push(File {
            key: key("xlsx"),
            content_type: XLSX,
            bytes,
            attach,
        }),
        Err(why) => warnings.push(format!("{}: {why}", key("xlsx"))),
    }
}

/// Every file of the report of `bill`, and what could not be made (a currency without a
/// rate, a table too long for Excel).
pub fn files(
    settings: &CostSettings,
    bill: &Bill,
    directory: &Directory,
    rates: Option<&Rates>,
) -> (Vec<File>, Vec<String>) {
    let month = bill.month;
    let text = month.to_string();
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    for (report, item, lines) in [
        ("services", "Service", &bill.services),
        ("usages", "Usage Type", &bill.usages),
    ] {
        let title = if report == "services" {
            "Services"
        } else {
            "Usages"
        };
        for (center, lines) in sheets::by_cost_center(lines, directory) {
            let sheet = sheets::detail(title, item, &text, &center, &lines);
            let key = |ext: &str| key(settings, month, Label::Center(&center), report, None, ext);
            both(&sheet, key, false, false, &mut files, &mut warnings);
        }
    }
    let summary = sheets::services_summary(bill, directory);
    fn summary_key<'a>(
        settings: &'a CostSettings,
        month: Month,
        report: &'a str,
        currency: Option<&'a str>,
    ) -> impl Fn(&str) -> String + 'a {
        move |ext| key(settings, month, Label::Summary, report, currency, ext)
    }
    let key_of = |report: &'static str, currency| summary_key(settings, month, report, currency);
    both(
        &summary,
        key_of("services", None),
        true,
        false,
        &mut files,
        &mut warnings,
    );
    let charges = sheets::charges_summary(bill, directory, "USD", Decimal::ONE);
    both(
        &charges,
        key_of("charges", None),
        true,
        true,
        &mut files,
        &mut warnings,
    );
    for currency in &settings.currencies {
        if currency == "USD" {
            continue;
        }
        match rates.and_then(|r| r.usd_to(currency)) {
            Some(rate) => {
                let sheet = sheets::charges_summary(bill, directory, currency, rate);
                both(
                    &sheet,
                    key_of("charges", Some(currency.as_str())),
                    true,
                    true,
                    &mut files,
                    &mut warnings,
                );
            }
            None => warnings.push(match rates {
                Some(rates) => format!(
                    "no charges summary in {currency}: the exchange rates of {} do not list it",
                    rates.date
                ),
                None => format!("no charges summary in {currency}: no exchange rates"),
            }),
        }
    }
    (files, warnings)
}

/// What one run made.
#[derive(Debug, Clone)]
pub struct Made {
    pub files: Vec<File>,
    pub warnings: Vec<String>,
    /// Billed Cost Explorer requests.
    pub requests: usize,
    /// Organizations calls to attribute accounts.
    pub directory_calls: usize,
    pub accounts: usize,
    pub cost_centers: usize,
    /// Everything billed, credits included (the charges' total).
    pub charged: Decimal,
    /// Spending: the services' total (credits and refunds left out).
    pub spent: Decimal,
    /// Credits and refunds (negative).
    pub credits: Decimal,
    pub estimated: bool,
}

/// The shadows of the records, or none when the table cannot be read (records turned off):
/// Organizations then answers for every account.
pub(super) async fn shadows(aws: &Aws, table: &str, warnings: &mut Vec<String>) -> Vec<Shadow> {
    match read_all::<Shadow>(aws, table).await {
        Ok((shadows, _)) => shadows,
        Err(error) => {
            warnings.push(format!(
                "the records of {table} could not be read ({error}): every account is looked up in Organizations"
            ));
            Vec::new()
        }
    }
}

/// Reads the bill of `month` and makes its files. `today`: `YYYY-MM-DD` (UTC).
pub async fn make(
    aws: &Aws,
    http: &reqwest::Client,
    settings: &CostSettings,
    month: Month,
    today: &str,
) -> Result<Made, CostError> {
    let bill = fetch::month(aws, month, today).await?;
    let mut warnings = Vec::new();
    if bill.estimated {
        warnings.push(format!(
            "Cost Explorer says some costs of {month} are estimates: the month is not closed yet"
        ));
    }
    let accounts: BTreeSet<String> = bill
        .charges
        .iter()
        .chain(&bill.services)
        .chain(&bill.usages)
        .map(|l| l.account.clone())
        .collect();
    if accounts.is_empty() {
        warnings.push(format!(
            "Cost Explorer has no costs for {month}: the files have their headers and a zero total"
        ));
    }
    let shadows = shadows(aws, &settings.tables.shadows, &mut warnings).await;
    let directory = directory::read(aws, &settings.tag, &shadows, &accounts, true).await?;
    let rates = if settings.currencies.iter().any(|c| c != "USD") {
        match super::rates::fetch(http, &settings.rates_url).await {
            Ok(rates) => Some(rates),
            Err(error) => {
                warnings.push(format!("no exchange rates: {error}"));
                None
            }
        }
    } else {
        None
    };
    let (files, more) = files(settings, &bill, &directory, rates.as_ref());
    warnings.extend(more);
    let centers: BTreeSet<String> = accounts
        .iter()
        .map(|a| directory.who(a).cost_center)
        .collect();
    Ok(Made {
        files,
        warnings,
        requests: bill.requests,
        directory_calls: directory.calls,
        accounts: accounts.len(),
        cost_centers: centers.len(),
        charged: bill.charges.iter().map(|l| l.amount).sum(),
        spent: bill.services.iter().map(|l| l.amount).sum(),
        credits: bill
            .charges
            .iter()
            .filter(|l| fetch::NOT_SPENDING.contains(&l.item.as_str()))
            .map(|l| l.amount)
            .sum(),
        estimated: bill.estimated,
    })
}

/// Writes the files to the bucket; their keys.
pub async fn upload(
    aws: &Aws,
    bucket: &str,
    files: &[File],
) -> Result<Vec<String>, crate::aws::AwsError> {
    let mut keys = Vec::with_capacity(files.len());
    for file in files {
        aws.put_object(bucket, &file.key, &file.bytes, file.content_type)
            .await?;
        keys.push(file.key.clone());
    }
    Ok(keys)
}

/// The e-mail of a month: subject, the template's body, the charges summaries attached
/// (linked instead when too large: `bucket` says where they are).
pub fn message(
    settings: &CostSettings,
    month: Month,
    files: &[File],
    bucket: Option<&str>,
) -> Option<email::Email> {
    let from = settings.from.clone()?;
    if settings.recipients.is_empty() {
        return None;
    }
    let month = month.to_string();
    Some(email::Email {
        from,
        to: settings.recipients.clone(),
        subject: format!("Summary cost report for {month}"),
        markdown: settings.template.replace("{month}", &month),
        attachments: files
            .iter()
            .filter(|f| f.attach)
            .map(|f| email::Attachment {
                name: f.name().to_string(),
                content_type: f.content_type.to_string(),
                bytes: f.bytes.clone(),
                location: match bucket {
                    Some(bucket) => format!("s3://{bucket}/{}", f.key),
                    None => format!("{} (not uploaded)", f.key),
                },
            })
            .collect(),
    })
}

/// Sends the e-mail of a month; SES's message id, and the files linked rather than
/// attached.
pub async fn send(aws: &Aws, message: &email::Email) -> Result<(String, Vec<String>), SendError> {
    let composed =
        email::compose(message, crate::aws::mail::MAX_MESSAGE_BYTES).map_err(SendError::Compose)?;
    // SES checks the bare address against its identities (and the task role's
    // `ses:FromAddress` condition): the display name stays in the message's header.
    let from = email::address(&message.from).map_err(SendError::Compose)?;
    let to = message
        .to
        .iter()
        .map(|t| email::address(t))
        .collect::<Result<Vec<_>, _>>()
        .map_err(SendError::Compose)?;
    let id = aws.send_raw_email(&from, &to, &composed.raw).await?;
    Ok((id, composed.linked))
}

/// Why the e-mail did not leave.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the e-mail cannot be composed: {0}")]
    Compose(String),
    #[error("SES refused the e-mail: {0}")]
    Ses(#[from] crate::aws::AwsError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_predecessor_and_never_leave_the_prefix() {
        let settings = CostSettings {
            enabled: true,
            environment: "SpaTest".into(),
            tag: "cost-center".into(),
            prefix: "SpaReports/Costs".into(),
            currencies: Vec::new(),
            rates_url: String::new(),
            from: None,
            recipients: Vec::new(),
            template: String::new(),
            tables: Tables {
                shadows: "s".into(),
                activities: "a".into(),
                transactions: "t".into(),
            },
        };
        let month = Month {
            year: 2026,
            month: 11,
        };
        assert_eq!(
            key(
                &settings,
                month,
                Label::Center("CC-1"),
                "services",
                None,
                "csv"
            ),
            "SpaReports/Costs/CC-1/2026/2026-11-CC-1-services.csv"
        );
        assert_eq!(
            key(
                &settings,
                month,
                Label::Summary,
                "charges",
                Some("EUR"),
                "xlsx"
            ),
            "SpaReports/Costs/Summary/2026/2026-11-Summary-charges-EUR.xlsx"
        );
        assert_eq!(
            key(
                &settings,
                month,
                Label::Center("../x"),
                "usages",
                None,
                "csv"
            ),
            "SpaReports/Costs/%2E%2E%2Fx/2026/2026-11-%2E%2E%2Fx-usages.csv"
        );
        assert_ne!(
            key(
                &settings,
                month,
                Label::Center(SUMMARY),
                "services",
                None,
                "csv"
            ),
            key(&settings, month, Label::Summary, "services", None, "csv"),
        );
    }
}
