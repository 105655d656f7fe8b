//! The month-to-date costs of one account, for the incident of an exception about it: one
//! workbook in the reports bucket under `reporting.exceptions_prefix`, linked from the
//! incident by its address in the S3 console, which opens only for someone signed in to
//! AWS with access to the bucket (never a public URL). One file per account and day: a
//! second exception that day links the same file without asking Cost Explorer again (each
//! request is billed).

use spa_schema::Settings;

use super::fetch::{self, CostError};
use super::{excel, sheets};
use crate::aws::Aws;

/// Where the workbooks go: the reports bucket, its region, the prefix of the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub bucket: String,
    pub region: String,
    pub prefix: String,
}

impl Place {
    /// Where the settings put them, when the controller has a reports bucket.
    pub fn of(settings: &Settings, bucket: Option<&str>) -> Option<Place> {
        Some(Place {
            bucket: bucket?.to_string(),
            region: crate::monitoring::dashboard::region(settings),
            prefix: settings
                .reporting
                .exceptions_prefix
                .value
                .trim_matches('/')
                .to_string(),
        })
    }

    /// `<prefix>/<account>/YYYY/MM/YYYY-MM-DD-<account>-costs.xlsx`.
    pub fn key(&self, account: &str, today: jiff::civil::Date) -> String {
        format!(
            "{}/{account}/{}/{today}-{account}-costs.xlsx",
            self.prefix,
            today.strftime("%Y/%m")
        )
    }

    /// The object's page in the S3 console: it asks for AWS credentials.
    pub fn console_url(&self, key: &str) -> String {
        use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
        format!(
            "https://{region}.console.aws.amazon.com/s3/object/{bucket}?region={region}&prefix={}",
            utf8_percent_encode(key, NON_ALPHANUMERIC),
            region = self.region,
            bucket = self.bucket,
        )
    }
}

/// What an incident links to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub title: String,
    pub url: String,
    pub key: String,
    /// Cost Explorer requests made for it (0 when the day's file was there).
    pub requests: usize,
}

/// The workbook of `account`'s month-to-date costs by service on `today`: written unless
/// the day's file exists; its link.
pub async fn month_to_date(
    aws: &Aws,
    place: &Place,
    account: &str,
    today: jiff::civil::Date,
) -> Result<Link, CostError> {
    let (start, end) = fetch::month_to_date(today);
    let key = place.key(account, today);
    let title = format!("Costs of {account} by service, {start} to {end} (excluded)");
    let mut requests = 0;
    if aws.object_info(&place.bucket, &key).await?.is_none() {
        let (lines, made) = fetch::account_services(aws, account, (&start, &end)).await?;
        requests = made;
        let sheet = sheets::account_services(&start, &end, &lines);
        let bytes = excel::workbook(&sheet, false).map_err(|problem| CostError::Workbook {
            key: key.clone(),
            problem,
        })?;
        aws.put_object(&place.bucket, &key, &bytes, excel::CONTENT_TYPE)
            .await?;
    }
    Ok(Link {
        title,
        url: place.console_url(&key),
        key,
        requests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_is_the_console_page_of_a_key_under_the_prefix() {
        let place = Place {
            bucket: "spa-reports".into(),
            region: "eu-west-1".into(),
            prefix: "SpaReports/Exceptions".into(),
        };
        let key = place.key("111111111111", "2026-12-03".parse().unwrap());
        assert_eq!(
            key,
            "SpaReports/Exceptions/111111111111/2026/12/2026-12-03-111111111111-costs.xlsx"
        );
        assert_eq!(
            place.console_url(&key),
            "https://eu-west-1.console.aws.amazon.com/s3/object/spa-reports?region=eu-west-1&prefix=SpaReports%2FExceptions%2F111111111111%2F2026%2F12%2F2026%2D12%2D03%2D111111111111%2Dcosts%2Exlsx"
        );
    }
}
