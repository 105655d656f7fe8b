//! Flags shared by several commands, and the checks of every number and duration given on
//! the command line: a value out of range is a usage error (exit 2) naming the flag and
//! the range, before anything is read or called.

use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use clap::builder::RangedU64ValueParser;

use crate::aws::{Family, Limiters, Quota};
use crate::source::SourceOptions;

/// Calls per second a `--rate-limit` may set: below, a command would seem to hang; above,
/// no AWS quota comes near.
pub const RATES: RangeInclusive<f64> = 0.01..=10_000.0;
/// Bucket sizes a `--rate-limit` may set.
pub const BURSTS: RangeInclusive<f64> = 1.0..=10_000.0;
/// Work in flight at once (`--concurrency`).
pub const CONCURRENCY: RangeInclusive<u64> = 1..=256;

/// Where the settings come from: shared by every command that reads them.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Settings repository: a local path (working copy or bare repository) or a Git URL
    /// (https://, ssh://, git@host:path, file://). Remote repositories are mirrored in a
    /// cache directory; https uses the token in SPA_GIT_TOKEN (or GITHUB_TOKEN), ssh the agent.
    #[arg(long, default_value = ".", value_name = "PATH|URL")]
    pub repo: String,

    /// Branch, tag or commit to read (default: HEAD, or the remote's default branch).
    #[arg(long = "ref", value_name = "REF", conflicts_with = "worktree")]
    pub reference: Option<String>,

    /// Read the uncommitted files of a local checkout instead of a commit (for editing).
    #[arg(long)]
    pub worktree: bool,

    /// Path of the settings file inside the repository.
    #[arg(long, default_value = "settings.yaml", value_name = "FILE")]
    pub settings: String,

    /// Where remote repositories are mirrored (default: ~/.cache/spa/repos).
    #[arg(long, value_name = "DIR", env = "SPA_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

impl SourceArgs {
    pub fn options(&self) -> SourceOptions {
        SourceOptions {
            repo: self.repo.clone(),
            reference: self.reference.clone(),
            worktree: self.worktree,
            cache_dir: self.cache_dir.clone(),
        }
    }
}

/// How to reach AWS: shared by every command that calls it. Credentials come from the
/// standard chain (environment, profiles, SSO, instance and container roles).
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// Send every AWS call to this endpoint, e.g. the local emulator (default:
    /// AWS_ENDPOINT_URL, else AWS itself).
    #[arg(long, value_name = "URL", env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,

    /// AWS region of SSM and CodeBuild (default: the configured region; Organizations
    /// always uses us-east-1).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// AWS profile from ~/.aws/config.
    #[arg(long, value_name = "NAME", env = "AWS_PROFILE")]
    pub profile: Option<String>,

    /// Override a client-side rate limit: FAMILY=RATE/BURST (calls per second from 0.01 to
    /// 10000, bucket size from 1 to 10000), e.g. org-list-tags=5/8 to leave more of the
    /// organization's quota to others. Repeatable. Families and defaults: docs/aws.md.
    #[arg(long = "rate-limit", value_name = "FAMILY=RATE/BURST", value_parser = rate_limit)]
    pub rate_limits: Vec<(Family, Quota)>,
}

impl AwsArgs {
    /// The client-side rate limiters: published quotas, with the overrides of --rate-limit.
    pub fn limiters(&self) -> Arc<Limiters> {
        let overrides = self.rate_limits.iter().copied().collect();
        Arc::new(Limiters::new(&overrides))
    }

    pub fn options(&self, settings: Option<&spa_schema::Settings>) -> crate::aws::sdk::AwsOptions {
        crate::aws::sdk::AwsOptions {
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone().or_else(|| {
                settings.and_then(|s| s.automation.region.as_ref().map(|r| r.value.clone()))
            }),
            profile: self.profile.clone(),
            management_role_arn: settings.and_then(|s| {
                s.automation
                    .role_arn_to_manage_accounts
                    .as_ref()
                    .map(|r| r.value.clone())
            }),
            member_role_name: settings
                .map(|s| s.automation.role_name_to_manage_codebuild.value.clone()),
            static_credentials: self.emulator_credentials(),
        }
    }

    /// A loopback endpoint is the local emulator, which accepts any credentials: without
    /// credentials in the environment or a profile, use dummy ones rather than searching
    /// (and waiting for) instance metadata.
    fn emulator_credentials(&self) -> Option<(String, String)> {
        let endpoint = self.endpoint_url.as_deref()?;
        let host = endpoint.split("://").nth(1)?.split([':', '/']).next()?;
        let loopback = host == "localhost" || host.starts_with("127.") || host == "[::1]";
        let configured = std::env::var_os("AWS_ACCESS_KEY_ID").is_some() || self.profile.is_some();
        (loopback && !configured).then(|| ("testing".to_string(), "testing".to_string()))
    }
}

/// The controller's admin endpoint, for the commands that talk to a running controller.
#[derive(Debug, Clone, Args)]
pub struct EndpointArgs {
    /// The controller's admin endpoint (its --listen address).
    #[arg(
        long = "controller",
        value_name = "URL",
        env = "SPA_CONTROLLER_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub url: String,
}

/// `FAMILY=RATE/BURST` (or `FAMILY=RATE`, the burst then equal to the rate).
fn rate_limit(text: &str) -> Result<(Family, Quota), String> {
    let (family, quota) = text
        .split_once('=')
        .ok_or_else(|| format!("expected FAMILY=RATE/BURST, got `{text}`"))?;
    let family: Family = serde_json::from_value(serde_json::Value::String(family.to_string()))
        .map_err(|_| {
            let known: Vec<String> = Family::ALL
                .iter()
                .filter_map(|f| serde_json::to_value(f).ok())
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            format!("unknown family `{family}`; known: {}", known.join(", "))
        })?;
    let (rate, burst) = quota.split_once('/').unwrap_or((quota, quota));
    let rate = number_in(rate, "the rate (calls per second)", RATES)?;
    let burst = number_in(burst, "the burst (bucket size)", BURSTS)?;
    Ok((family, Quota::new(rate, burst)))
}

/// A finite number within `range`; NaN, infinities and tiny or huge values are refused
/// here rather than making a command wait for days.
fn number_in(text: &str, what: &str, range: RangeInclusive<f64>) -> Result<f64, String> {
    let expected = format!(
        "{what} must be a number from {} to {}",
        range.start(),
        range.end()
    );
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && range.contains(&value) => Ok(value),
        Ok(_) => Err(format!("`{text}` is out of range: {expected}")),
        Err(_) => Err(format!("`{text}` is not a number: {expected}")),
    }
}

/// `--concurrency N`: 1 to 256.
pub fn concurrency() -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(CONCURRENCY)
}

/// `--max-diagnostics N`: 0 (all) to a million.
pub fn diagnostics_limit() -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(0..=1_000_000)
}

/// A duration ([`crate::time::parse_duration`]) of at least `min`: how often something is
/// polled, where a millisecond would make a busy loop against Git or AWS.
fn duration_at_least(text: &str, min: Duration, label: &str) -> Result<Duration, String> {
    let duration = crate::time::parse_duration(text)?;
    if duration < min {
        return Err(format!(
            "`{text}` is too short: {label} is at least {min:?}"
        ));
    }
    Ok(duration)
}

/// An interval between polls or sweeps: at least a second.
pub fn interval(text: &str) -> Result<Duration, String> {
    duration_at_least(text, Duration::from_secs(1), "an interval")
}

/// A lease's duration: renewed every third of it, so at least 3 seconds.
pub fn lease_duration(text: &str) -> Result<Duration, String> {
    duration_at_least(text, Duration::from_secs(3), "a lease")
}

/// `--until`: a time or a duration from now, checked here so that a typo is a usage error
/// rather than an answer from the controller.
pub fn until(text: &str) -> Result<String, String> {
    crate::time::parse_time(text, crate::time::now())?;
    Ok(text.to_string())
}

/// `--exceptions-topic-arn`: an SNS topic ARN.
pub fn topic_arn(text: &str) -> Result<String, String> {
    match crate::lifecycle::alerts::topic_owner(text) {
        Some(_) => Ok(text.to_string()),
        None => Err(format!(
            "`{text}` is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME, the output ExceptionsTopicArn of the automation stack)"
        )),
    }
}

/// `--reports-bucket`: an S3 bucket name (3 to 63 lowercase letters, digits, dots and
/// hyphens, starting and ending with a letter or a digit).
pub fn bucket(text: &str) -> Result<String, String> {
    let ok = (3..=63).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && text
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && text
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && !text.contains("..");
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens; the output ReportsBucketName of the automation stack)"
        ))
    }
}

/// `--queue-url`, `--alerts-queue-url`: an SQS queue URL (`https://…/ACCOUNT/NAME`; plain
/// http only to this machine, for the emulator).
pub fn queue_url(text: &str) -> Result<String, String> {
    let fail = || {
        format!(
            "`{text}` is not an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME, an output of the automation stack)"
        )
    };
    spa_schema::check::https_or_local_url(text).map_err(|_| fail())?;
    let mut path = text
        .split("://")
        .nth(1)
        .unwrap_or_default()
        .split('/')
        .skip(1);
    match (path.next(), path.next(), path.next()) {
        (Some(account), Some(name), None)
            if spa_schema::check::account_id(account).is_ok() && !name.is_empty() =>
        {
            Ok(text.to_string())
        }
        _ => Err(fail()),
    }
}

/// An AWS id with its prefix (`o-…`, `vpc-…`, `subnet-…`): letters and digits after it.
fn prefixed_id(text: &str, prefix: &str, what: &str) -> Result<String, String> {
    match text.strip_prefix(prefix) {
        Some(rest) if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            Ok(text.to_string())
        }
        _ => Err(format!(
            "`{text}` is not {what} (`{prefix}` then letters and digits)"
        )),
    }
}

pub fn organization_id(text: &str) -> Result<String, String> {
    prefixed_id(text, "o-", "an organization id")
}

pub fn vpc_id(text: &str) -> Result<String, String> {
    prefixed_id(text, "vpc-", "a VPC id")
}

/// Comma-separated subnet ids.
pub fn subnet_ids(text: &str) -> Result<String, String> {
    for id in text.split(',') {
        prefixed_id(id.trim(), "subnet-", "a subnet id")?;
    }
    Ok(text.split(',').map(str::trim).collect::<Vec<_>>().join(","))
}

/// A URL the controller reads from, or an image reference: no whitespace, not empty.
pub fn token(text: &str) -> Result<String, String> {
    if text.is_empty() || text.contains(char::is_whitespace) {
        return Err(format!("`{text}` is empty or holds whitespace"));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installation_flags_are_checked() {
        assert!(topic_arn("arn:aws:sns:eu-west-1:123456789012:SpaDemoExceptions").is_ok());
        assert!(topic_arn("SpaDemoExceptions").is_err());
        assert!(topic_arn("arn:aws:sqs:eu-west-1:123456789012:q").is_err());
        assert!(
            queue_url("https://sqs.eu-west-1.amazonaws.com/123456789012/SpaDemoAlerts").is_ok()
        );
        assert!(queue_url("http://127.0.0.1:5000/123456789012/q").is_ok());
        assert!(queue_url("http://sqs.example.com/123456789012/q").is_err());
        assert!(queue_url("https://sqs.eu-west-1.amazonaws.com/SpaDemoAlerts").is_err());
        assert!(organization_id("o-1rb4example").is_ok());
        assert!(organization_id("1rb4example").is_err());
        assert_eq!(
            subnet_ids("subnet-0a, subnet-0b").as_deref(),
            Ok("subnet-0a,subnet-0b")
        );
        assert!(subnet_ids("subnet-0a,vpc-1").is_err());
        assert!(vpc_id("vpc-").is_err());
        assert!(token("a b").is_err());
    }

    #[test]
    fn rate_limits_are_finite_and_in_range() {
        let (family, quota) = rate_limit("org-list-tags=5/8").unwrap();
        assert_eq!(family, Family::OrgListTags);
        assert_eq!((quota.rate, quota.burst), (5.0, 8.0));
        let (_, quota) = rate_limit("org-list-tags=2.5").unwrap();
        assert_eq!((quota.rate, quota.burst), (2.5, 2.5));
        for bad in [
            "org-list-tags=NaN",
            "org-list-tags=nan/5",
            "org-list-tags=inf",
            "org-list-tags=1e-300/5",
            "org-list-tags=-1/5",
            "org-list-tags=0/5",
            "org-list-tags=5/0.5",
            "org-list-tags=5/1e9",
            "org-list-tags=20000/5",
        ] {
            let error = rate_limit(bad).unwrap_err();
            assert!(
                error.contains("from 0.01 to 10000") || error.contains("from 1 to 10000"),
                "{bad}: {error}"
            );
        }
        assert!(
            rate_limit("no-such-family=5")
                .unwrap_err()
                .contains("known:")
        );
        assert!(
            rate_limit("org-list-tags")
                .unwrap_err()
                .contains("FAMILY=RATE/BURST")
        );
    }

    #[test]
    fn polling_intervals_are_at_least_a_second() {
        assert_eq!(interval("5s"), Ok(Duration::from_secs(5)));
        assert!(interval("500ms").unwrap_err().contains("at least 1s"));
        assert!(interval("99999999h").unwrap_err().contains("too long"));
        assert!(lease_duration("2s").unwrap_err().contains("at least 3s"));
        assert!(until("tomorrow").is_err());
        assert_eq!(until("2h").as_deref(), Ok("2h"));
    }
}
