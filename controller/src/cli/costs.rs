//! `spa report costs`: the cost report of a month on demand (docs/costs.md) — the
//! summary of services on stdout, every file into a directory, the files to the reports
//! bucket, the e-mail.

use clap::Args;

use super::ops::connect::{connect, runtime};
use super::ops::settings::open_valid;
use super::{AwsArgs, Failure, Output, SourceArgs, Term};
use crate::costs::report::{self, CostSettings, SUMMARY};
use crate::costs::run::{self, Mailed};
use crate::reports::activities::Month;

/// The organization's costs of a month from Cost Explorer, per cost center and summarized,
/// in CSV and Excel. Cost Explorer bills each request ($0.01): a month takes three.
#[derive(Debug, Args)]
pub struct CostsArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// The month (YYYY-MM; default: the previous month).
    #[arg(long, value_name = "YYYY-MM", value_parser = Month::parse)]
    pub month: Option<Month>,

    /// Write every file (CSV and Excel) into DIR instead of the summary of services on
    /// stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,

    /// Write them to the reports bucket, under `reporting.costs_prefix`, with the run's
    /// manifest.
    #[arg(long)]
    pub upload: bool,

    /// Send the e-mail of `features.with_cost_email_recipients`, the charges summaries
    /// attached.
    #[arg(long)]
    pub email: bool,

    /// The reports bucket (the automation stack's ReportsBucketName), for --upload.
    #[arg(long, value_name = "BUCKET", env = "SPA_REPORTS_BUCKET", value_parser = super::args::bucket)]
    pub reports_bucket: Option<String>,
}

fn failure(error: impl std::fmt::Display) -> Failure {
    Failure::Runtime(anyhow::anyhow!("{error}"))
}

/// Two decimals, for people.
fn money(amount: rust_decimal::Decimal) -> String {
    format!("{:.2}", amount.round_dp(2))
}

pub fn run(args: &CostsArgs, term: &Term) -> Result<Output, Failure> {
    let bucket = match (args.upload, &args.reports_bucket) {
        (false, _) => None,
        (true, Some(bucket)) => Some(bucket.clone()),
        (true, None) => {
            return Err(Failure::Usage(
                "--upload needs --reports-bucket (or SPA_REPORTS_BUCKET): the automation stack's output ReportsBucketName".to_string(),
            ));
        }
    };
    let (_, settings) = open_valid(&args.source, "nothing was read", term.diagnostics_style())?;
    let costs = CostSettings::of(&settings);
    if args.email && !costs.mails() {
        return Err(Failure::Usage(
            "--email needs features.with_origin_email_recipient and features.with_cost_email_recipients in settings".to_string(),
        ));
    }
    let now = crate::aws::system_clock()();
    let this = Month::of(now);
    let month = args.month.unwrap_or_else(|| this.previous());
    if month > this {
        return Err(Failure::Usage(format!(
            "--month {month} is in the future (this is {this}): Cost Explorer has no costs for it yet"
        )));
    }
    if !costs.enabled {
        term.err(&format!(
            "note: settings do not set features.with_cost_management_tag: the controller makes no cost report; accounts are attributed by `{}` here\n",
            costs.tag
        ));
    }
    let today = crate::records::day_of(now);
    let runtime = runtime()?;
    runtime.block_on(async {
        let aws = connect(&args.aws, Some(&settings)).await;
        let http = crate::outbound::client();
        term.err(&format!("reading the costs of {month} from Cost Explorer…\n"));
        let mail = match args.email {
            true => run::Mail::Send,
            false => run::Mail::No,
        };
        let (made, mailed) = match &bucket {
            Some(bucket) => {
                let (made, manifest) =
                    run::monthly(&aws, &http, bucket, &costs, month, &today, mail)
                        .await
                        .map_err(failure)?;
                (made, manifest.email)
            }
            None => {
                let made = report::make(&aws, &http, &costs, month, &today)
                    .await
                    .map_err(failure)?;
                let mailed = match report::message(&costs, month, &made.files, None) {
                    Some(message) if args.email => match report::send(&aws, &message).await {
                        Ok((message_id, linked)) => Mailed::Sent { message_id, linked },
                        Err(error) => Mailed::Failed {
                            error: error.to_string(),
                        },
                    },
                    _ => Mailed::NotAsked,
                };
                (made, mailed)
            }
        };
        for warning in &made.warnings {
            term.err(&format!("warning: {warning}\n"));
        }
        term.err(&format!(
            "{month}: {} account(s) in {} cost center(s); charged {} USD (credits and refunds {}), services {} USD; {} Cost Explorer request(s) (${}), {} Organizations call(s); {} file(s)\n",
            made.accounts,
            made.cost_centers,
            money(made.charged),
            money(made.credits),
            money(made.spent),
            made.requests,
            money(rust_decimal::Decimal::new(made.requests as i64, 2)),
            made.directory_calls,
            made.files.len(),
        ));
        let mut stdout = String::new();
        if let Some(dir) = &args.out {
            std::fs::create_dir_all(dir).map_err(|e| {
                Failure::Runtime(
                    anyhow::Error::new(e).context(format!("cannot create {}", dir.display())),
                )
            })?;
            for file in &made.files {
                let path = dir.join(file.name());
                std::fs::write(&path, &file.bytes).map_err(|e| {
                    Failure::Runtime(
                        anyhow::Error::new(e).context(format!("cannot write {}", path.display())),
                    )
                })?;
                stdout.push_str(&format!("{}\n", path.display()));
            }
        }
        if let Some(bucket) = &bucket {
            for file in &made.files {
                stdout.push_str(&format!("s3://{bucket}/{}\n", file.key));
            }
        }
        if args.out.is_none() && bucket.is_none() {
            let summary = format!("{month}-{SUMMARY}-services.csv");
            if let Some(file) = made.files.iter().find(|f| f.name() == summary) {
                stdout.push_str(&String::from_utf8_lossy(&file.bytes));
            }
        }
        match mailed {
            Mailed::Sent { message_id, linked } => {
                term.err(&format!(
                    "e-mail sent to {} (SES message {message_id})\n",
                    costs.recipients.join(", ")
                ));
                for name in linked {
                    term.err(&format!("  {name}: too large to attach, linked instead\n"));
                }
            }
            Mailed::Failed { error } => {
                return Err(Failure::Partial(Output {
                    stdout,
                    stderr: format!("error: the files were made, but the e-mail did not leave: {error}\n"),
                    ..Output::default()
                }));
            }
            Mailed::NotConfigured | Mailed::NotAsked | Mailed::AlreadySent => {}
        }
        Ok(Output::data(stdout))
    })
}
