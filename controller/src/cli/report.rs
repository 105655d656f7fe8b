//! `spa report inventory | activities`: the reports of the records, on demand — to stdout,
//! to files, or to the reports bucket with `--upload` (docs/reports.md).

use clap::{Args, Subcommand, ValueEnum};

use super::ops::connect::{connect, runtime};
use super::ops::settings::open_valid;
use super::{AwsArgs, Failure, Output, SourceArgs, Term};
use crate::records::{Shadow, Transaction, read_all};
use crate::reports::activities::{self, Month};
use crate::reports::{ReportSettings, html, inventory, schedule};

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    Inventory(InventoryArgs),
    Activities(ActivitiesArgs),
    Costs(super::costs::CostsArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InventoryFormat {
    /// The predecessor's columns, one row per account (for machines).
    Csv,
    /// One self-contained page: accounts by state and OU, parked accounts, open
    /// transactions (for people).
    Html,
}

/// The inventory of the managed accounts, from their records (the shadows the controller
/// keeps): cost center, cost owner, OU, account, name, e-mail, state, last console login.
#[derive(Debug, Args)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[arg(long, value_enum, default_value_t = InventoryFormat::Csv)]
    pub format: InventoryFormat,

    /// Write it to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,

    /// Write it to the reports bucket, under `reporting.inventories_prefix`.
    #[arg(long)]
    pub upload: bool,

    /// The date it is named after (YYYY-MM-DD, UTC; default: today).
    #[arg(long, value_name = "DATE", value_parser = date)]
    pub date: Option<String>,

    /// The reports bucket (the automation stack's ReportsBucketName), for --upload.
    #[arg(long, value_name = "BUCKET", env = "SPA_REPORTS_BUCKET", value_parser = super::args::bucket)]
    pub reports_bucket: Option<String>,
}

/// The activities of a month — console logins, on-boardings and maintenances that ended
/// well — from the records: one CSV per cost center.
#[derive(Debug, Args)]
pub struct ActivitiesArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// The month (YYYY-MM).
    #[arg(long, value_name = "YYYY-MM", value_parser = Month::parse)]
    pub month: Month,

    /// Write one file per cost center into DIR instead of one CSV (every cost center) on
    /// stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,

    /// Write them to the reports bucket, under `reporting.activities_prefix`.
    #[arg(long)]
    pub upload: bool,

    /// The reports bucket (the automation stack's ReportsBucketName), for --upload.
    #[arg(long, value_name = "BUCKET", env = "SPA_REPORTS_BUCKET", value_parser = super::args::bucket)]
    pub reports_bucket: Option<String>,
}

/// `--date`: a day, `YYYY-MM-DD`.
fn date(text: &str) -> Result<String, String> {
    text.parse::<jiff::civil::Date>()
        .ok()
        .filter(|_| text.len() == 10)
        .map(|_| text.to_string())
        .ok_or_else(|| format!("`{text}` is not a date: expected YYYY-MM-DD"))
}

fn bucket(given: &Option<String>, upload: bool) -> Result<Option<String>, Failure> {
    match (upload, given) {
        (false, _) => Ok(None),
        (true, Some(bucket)) => Ok(Some(bucket.clone())),
        (true, None) => Err(Failure::Usage(
            "--upload needs --reports-bucket (or SPA_REPORTS_BUCKET): the automation stack's output ReportsBucketName".to_string(),
        )),
    }
}

fn write_file(path: &std::path::Path, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text).map_err(|e| {
        Failure::Runtime(anyhow::Error::new(e).context(format!("cannot write {}", path.display())))
    })
}

fn aws_failure(error: crate::aws::AwsError) -> Failure {
    Failure::Runtime(anyhow::anyhow!("{error}"))
}

pub fn run(command: &ReportCommand, term: &Term) -> Result<Output, Failure> {
    match command {
        ReportCommand::Inventory(args) => run_inventory(args, term),
        ReportCommand::Activities(args) => run_activities(args, term),
        ReportCommand::Costs(args) => super::costs::run(args, term),
    }
}

fn run_inventory(args: &InventoryArgs, term: &Term) -> Result<Output, Failure> {
    let bucket = bucket(&args.reports_bucket, args.upload)?;
    let (_, settings) = open_valid(&args.source, "nothing was read", term.diagnostics_style())?;
    let report = ReportSettings::of(&settings);
    let now = crate::aws::system_clock()();
    let date = args
        .date
        .clone()
        .unwrap_or_else(|| crate::records::day_of(now));
    let runtime = runtime()?;
    let (text, key) = runtime.block_on(async {
        let aws = connect(&args.aws, Some(&settings)).await;
        let (shadows, skipped) = read_all::<Shadow>(&aws, &report.tables.shadows)
            .await
            .map_err(aws_failure)?;
        if skipped > 0 {
            term.err(&format!(
                "warning: {skipped} record(s) of an unknown shape skipped in {}\n",
                report.tables.shadows
            ));
        }
        let (text, key, kind) = match args.format {
            InventoryFormat::Csv => (
                inventory::csv(&report, &shadows),
                inventory::key(&report, &date),
                "text/csv; charset=utf-8",
            ),
            InventoryFormat::Html => {
                let (mut open, _) = read_all::<Transaction>(&aws, &report.tables.transactions)
                    .await
                    .map_err(aws_failure)?;
                open.sort_by_key(|t| t.begin_ms);
                (
                    html::page(&report, &shadows, &open, now),
                    inventory::key(&report, &date).replace(".csv", ".html"),
                    "text/html; charset=utf-8",
                )
            }
        };
        if let Some(bucket) = &bucket {
            aws.put_object(bucket, &key, text.as_bytes(), kind)
                .await
                .map_err(aws_failure)?;
        }
        Ok::<_, Failure>((
            text,
            format!("s3://{}/{key}", bucket.as_deref().unwrap_or("")),
        ))
    })?;
    match (&args.out, &bucket) {
        (Some(path), _) => {
            write_file(path, &text)?;
            Ok(Output::data(format!("{}\n", path.display())))
        }
        (None, Some(_)) => Ok(Output::data(format!("{key}\n"))),
        (None, None) => Ok(Output::data(text)),
    }
}

fn run_activities(args: &ActivitiesArgs, term: &Term) -> Result<Output, Failure> {
    let bucket = bucket(&args.reports_bucket, args.upload)?;
    let (_, settings) = open_valid(&args.source, "nothing was read", term.diagnostics_style())?;
    let report = ReportSettings::of(&settings);
    let now = Month::of(crate::aws::system_clock()());
    if args.month > now {
        return Err(Failure::Usage(format!(
            "--month {} is in the future (this is {now})",
            args.month
        )));
    }
    let runtime = runtime()?;
    runtime.block_on(async {
        let aws = connect(&args.aws, Some(&settings)).await;
        if let Some(bucket) = &bucket {
            let keys = schedule::upload_activities(&aws, bucket, &report, args.month)
                .await
                .map_err(aws_failure)?;
            let mut listed: String = keys
                .iter()
                .map(|k| format!("s3://{bucket}/{k}\n"))
                .collect();
            if keys.is_empty() {
                listed = format!(
                    "no activity in {}: only the manifest was written\n",
                    args.month
                );
            }
            return Ok(Output::data(listed));
        }
        let (read, skipped) = activities::read(&aws, &report, args.month)
            .await
            .map_err(aws_failure)?;
        if skipped > 0 {
            term.err(&format!(
                "warning: {skipped} record(s) of an unknown shape skipped in {}\n",
                report.tables.activities
            ));
        }
        match &args.out {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    Failure::Runtime(
                        anyhow::Error::new(e).context(format!("cannot create {}", dir.display())),
                    )
                })?;
                let mut written = String::new();
                for (cost_center, text) in activities::files(&read) {
                    let key = activities::key(&report, args.month, &cost_center);
                    let name = key.rsplit('/').next().unwrap_or(&key).to_string();
                    let path = dir.join(name);
                    write_file(&path, &text)?;
                    written.push_str(&format!("{}\n", path.display()));
                }
                Ok(Output::data(written))
            }
            None => Ok(Output::data(activities::csv(&read))),
        }
    })
}
