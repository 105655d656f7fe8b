//! Builds inside the account: the builds of the current cycle, and starting one (the
//! service role, the project with the effective variables, one build per cycle and attempt).

use std::collections::{BTreeMap, BTreeSet};

use super::config::Config;
use super::error::StepError;
use super::{Engine, lock};
use crate::aws::{AwsError, BuildInfo, ErrorKind, MemberAccount, ProjectSpec};
use crate::lifecycle::machine::Job;

/// The service role of the projects, created in each managed account.
pub const SERVICE_ROLE: &str = "SpaCodeBuildServiceRole";

impl Engine {
    /// The builds of `job` in the cycle that started at `since`, oldest first.
    pub(super) async fn cycle_builds(
        &self,
        member: &MemberAccount,
        job: Job,
        since: i64,
    ) -> Result<Vec<BuildInfo>, AwsError> {
        let ids = match member.recent_builds(job.project()).await {
            Ok(ids) => ids,
            // No project yet: no build either.
            Err(error) if error.kind == ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(error),
        };
        let ours: BTreeSet<String> = lock(&self.memory)
            .get(member.account())
            .map(|m| {
                m.builds
                    .iter()
                    .filter(|(s, _)| *s == since)
                    .map(|(_, id)| id.clone())
                    .collect()
            })
            .unwrap_or_default();
        // The newest 200 builds are plenty: a cycle has at most MAX_ATTEMPTS.
        let mut infos = member.builds(&ids[..ids.len().min(200)]).await?;
        infos.retain(|b| b.started_ms >= since || ours.contains(&b.id));
        infos.sort_by_key(|b| b.started_ms);
        Ok(infos)
    }

    /// Brings the project of `job` to the effective settings and starts one build of the
    /// cycle `since`, attempt `attempts + 1`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn start_build(
        &self,
        member: &MemberAccount,
        config: &Config,
        effective: &spa_schema::Effective<'_>,
        email: &str,
        job: Job,
        since: i64,
        attempts: u32,
    ) -> Result<String, StepError> {
        let settings = &config.settings;
        let (buildspec, feature) = match job {
            Job::Preparation => (&settings.preparation_buildspec, &effective.preparation),
            Job::Purge => (&settings.purge_buildspec, &effective.purge),
        };
        let Some(buildspec) = buildspec else {
            return Err(StepError::NoBuildspec(job));
        };
        let role = member
            .ensure_service_role(SERVICE_ROLE)
            .await
            .map_err(StepError::ServiceRole)?;
        let mut environment: BTreeMap<String, String> = feature
            .variables
            .iter()
            .map(|(k, v)| (k.to_string(), v.value.text.clone()))
            .collect();
        let automation = config.automation_account();
        environment.insert(
            "ENVIRONMENT_IDENTIFIER".into(),
            config.environment().to_string(),
        );
        environment.insert(
            "EVENT_BUS_ARN".into(),
            if self.options.event_bus.starts_with("arn:") {
                self.options.event_bus.clone()
            } else {
                format!(
                    "arn:aws:events:{}:{automation}:event-bus/{}",
                    config.region, self.options.event_bus
                )
            },
        );
        environment
            .entry("BUDGET_EMAIL".into())
            .or_insert_with(|| email.to_string());
        environment.insert(
            "TOPIC_ARN".into(),
            format!(
                "arn:aws:sns:{}:{automation}:SpaAlerts{}",
                config.region,
                config.environment()
            ),
        );
        let spec = ProjectSpec {
            name: job.project().to_string(),
            buildspec: buildspec.text.clone(),
            service_role_arn: role,
            environment,
            arm: false,
            timeout_minutes: match job {
                Job::Preparation => 30,
                Job::Purge => 240,
            },
        };
        member
            .ensure_project(&spec)
            .await
            .map_err(StepError::Project)?;
        // One token per cycle and attempt: a retried call, or a restart within CodeBuild's
        // five minutes, returns the same build.
        let token = format!("spa-{}-{since}-{attempts}", job.label());
        member
            .start_build(job.project(), &token)
            .await
            .map_err(StepError::StartBuild)
    }
}
