//! Operator commands that talk to a running controller's admin endpoint. Mutating ones
//! send the bearer token of SPA_ADMIN_TOKEN.

use clap::Args;

use super::ops::admin::{expect_ok, request};
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

pub fn resync(args: &ResyncArgs) -> Result<Output, Failure> {
    let path = if args.hard {
        "/resync?hard=true"
    } else {
        "/resync"
    };
    let (status, body) = request(&args.endpoint.url, "POST", path, None)?;
    expect_ok(
        status,
        body,
        if args.hard {
            "hard resync requested"
        } else {
            "resync requested"
        },
    )
}

pub fn suspend(args: &SuspendArgs) -> Result<Output, Failure> {
    let who = args
        .who
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".to_string());
    let body = serde_json::json!({ "reason": args.reason, "who": who, "until": args.until });
    let (status, body) = request(&args.endpoint.url, "POST", "/suspend", Some(&body))?;
    expect_ok(
        status,
        body,
        "suspended: nothing is applied until `spa resume`",
    )
}

pub fn resume(args: &ResumeArgs) -> Result<Output, Failure> {
    let (status, body) = request(&args.endpoint.url, "POST", "/resume", None)?;
    expect_ok(status, body, "resumed")
}
