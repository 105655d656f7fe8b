//! Flags shared by several commands.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use crate::aws::{Family, Limiters, Quota};
use crate::source::SourceOptions;

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

    /// Override a client-side rate limit: FAMILY=RATE/BURST (calls per second, bucket size),
    /// e.g. org-list-tags=5/8 to leave more of the organization's quota to others.
    /// Repeatable. Families and defaults: docs/aws.md.
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
        default_value = "http://127.0.0.1:9400"
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
    let rate: f64 = rate
        .parse()
        .map_err(|_| format!("`{rate}` is not a rate"))?;
    let burst: f64 = burst
        .parse()
        .map_err(|_| format!("`{burst}` is not a burst size"))?;
    if rate <= 0.0 || burst < 1.0 {
        return Err("the rate must be positive and the burst at least 1".to_string());
    }
    Ok((family, Quota::new(rate, burst)))
}
