//! Operator commands that talk to a running controller's admin endpoint. Mutating ones
//! send the bearer token of SPA_ADMIN_TOKEN.

use clap::Args;

use super::ops::admin::{Admin, Answer};
use super::{EndpointArgs, Failure, Output};

/// Ask the controller to observe everything again and reconcile now.
#[derive(Debug, Args)]
pub struct ResyncArgs {
    /// Also drop every cache (the repository mirror, the previous observation).
    #[arg(long)]
    pub hard: bool,

    #[command(flatten)]
    pub endpoint: EndpointArgs,
}

/// Stop applying (the controller keeps watching and reporting), with a reason.
#[derive(Debug, Args)]
pub struct SuspendArgs {
    /// Why: shown in `spa controller status` and /status.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,

    /// Resume by itself then: a UTC time (2026-11-22T18:00:00Z) or a duration (2h).
    #[arg(long, value_name = "TIME", value_parser = super::args::until)]
    pub until: Option<String>,

    /// Who suspends (default: $USER).
    #[arg(long, value_name = "NAME")]
    pub who: Option<String>,

    #[command(flatten)]
    pub endpoint: EndpointArgs,
}

/// Start applying again after `spa suspend`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    #[command(flatten)]
    pub endpoint: EndpointArgs,
}

/// Approve the destructive changes a controller withholds — exactly those: the plan whose
/// withheld part has FINGERPRINT (shown by `spa controller status`). The controller applies
/// them at its next reconcile only if the plan it computes then is still that one (same
/// settings, same changes against the same values in AWS); anything else stays withheld.
/// The approval, its reason and who gave it are recorded in /status.
#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The fingerprint of the withheld plan, or at least its first 12 hex digits.
    #[arg(value_name = "FINGERPRINT")]
    pub fingerprint: String,

    /// Why these changes may go (recorded, and logged by the controller).
    #[arg(long, value_name = "TEXT")]
    pub reason: String,

    /// Who approves (default: $USER).
    #[arg(long, value_name = "NAME")]
    pub who: Option<String>,

    /// Observe everything again before applying (a full resync: every tag and parameter is
    /// read, which takes about 17 minutes at 10,000 accounts).
    #[arg(long)]
    pub resync: bool,

    #[command(flatten)]
    pub endpoint: EndpointArgs,
}

/// The answer of a mutating endpoint: `done` on success, else why not.
fn expect_ok(answer: Answer, done: &str) -> Result<Output, Failure> {
    if answer.is_success() {
        return Ok(Output::data(format!("{done}\n")));
    }
    let hint = if answer.status == 401 || answer.status == 403 {
        "\nhint: set SPA_ADMIN_TOKEN to the controller's token"
    } else {
        ""
    };
    Err(Failure::Refused(format!(
        "the controller answered {}: {}{hint}",
        answer.status,
        answer.message()
    )))
}

pub fn resync(args: &ResyncArgs) -> Result<Output, Failure> {
    let (path, done) = if args.hard {
        ("/resync?hard=true", "hard resync requested")
    } else {
        ("/resync", "resync requested")
    };
    expect_ok(Admin::new(&args.endpoint.url)?.post(path, None)?, done)
}

pub fn suspend(args: &SuspendArgs) -> Result<Output, Failure> {
    let who = args
        .who
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".to_string());
    let body = serde_json::json!({ "reason": args.reason, "who": who, "until": args.until });
    let answer = Admin::new(&args.endpoint.url)?.post("/suspend", Some(&body))?;
    expect_ok(answer, "suspended: nothing is applied until `spa resume`")
}

pub fn approve(args: &ApproveArgs) -> Result<Output, Failure> {
    let who = args
        .who
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".to_string());
    let body = serde_json::json!({
        "fingerprint": args.fingerprint,
        "reason": args.reason,
        "who": who,
        "resync": args.resync,
    });
    let answer = Admin::new(&args.endpoint.url)?.post("/approve", Some(&body))?;
    expect_ok(
        answer,
        "approved: the controller applies these destructive changes at its next reconcile if its plan is still this one (`spa controller status` shows the outcome)",
    )
}

pub fn resume(args: &ResumeArgs) -> Result<Output, Failure> {
    expect_ok(
        Admin::new(&args.endpoint.url)?.post("/resume", None)?,
        "resumed",
    )
}
