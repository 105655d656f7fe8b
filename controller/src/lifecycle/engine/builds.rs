//! Builds inside the account: the builds of the current cycle, and starting one (the
//! service role, the project with the effective variables, one build per cycle and attempt).

use std::collections::{BTreeMap, BTreeSet};

use super::config::Config;
use super::error::StepError;
use super::{Engine, lock};
use crate::aws::{AwsError, BuildInfo, ErrorKind, MemberAccount, ProjectSpec};
use crate::lifecycle::machine::Job;
use crate::lifecycle::member;

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

    /// The bus of the automation account, as an ARN.
    pub(super) fn bus_arn(&self, config: &Config) -> String {
        if self.options.event_bus.starts_with("arn:") {
            self.options.event_bus.clone()
        } else {
            format!(
                "arn:aws:events:{}:{}:event-bus/{}",
                config.region,
                config.automation_account(),
                self.options.event_bus
            )
        }
    }

    /// Brings the account's roles, rules and topic to what they should be, once per
    /// settings in this process (a restart checks again: every step reads first).
    async fn prepare_member(
        &self,
        member: &MemberAccount,
        config: &Config,
    ) -> Result<member::Ready, StepError> {
        let alerts_queue_arn = match &self.options.alerts_queue_url {
            None => None,
            Some(url) => Some(
                self.alerts_queue_arn
                    .get_or_try_init(|| self.aws.queue_arn(url))
                    .await
                    .map_err(|error| StepError::AlertsQueue {
                        url: url.clone(),
                        error,
                    })?
                    .clone(),
            ),
        };
        let desired = member::Desired {
            region: config.region.clone(),
            bus_arn: self.bus_arn(config),
            build_policy_arn: config
                .settings
                .worker
                .build_service_role_policy_arn
                .value
                .clone(),
            alerts_queue_arn,
            tags: config.resource_tags(),
        };
        let account = member.account().to_string();
        let known = lock(&self.memory)
            .get(&account)
            .and_then(|m| m.ready.clone())
            .filter(|(for_desired, _)| *for_desired == desired);
        if let Some((_, ready)) = known {
            return Ok(ready);
        }
        let ready = member::ensure(member, &desired)
            .await
            .map_err(|error| StepError::Member {
                account: account.clone(),
                role: member.role_name().to_string(),
                error,
            })?;
        lock(&self.memory).entry(account).or_default().ready = Some((desired, ready.clone()));
        Ok(ready)
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
        let ready = self.prepare_member(member, config).await?;
        let mut environment: BTreeMap<String, String> = feature
            .variables
            .iter()
            .map(|(k, v)| (k.to_string(), v.value.text.clone()))
            .collect();
        environment.insert(
            "ENVIRONMENT_IDENTIFIER".into(),
            config.environment().to_string(),
        );
        environment.insert("EVENT_BUS_ARN".into(), self.bus_arn(config));
        environment
            .entry("BUDGET_EMAIL".into())
            .or_insert_with(|| email.to_string());
        environment.insert("TOPIC_ARN".into(), ready.topic_arn);
        let spec = ProjectSpec {
            name: job.project().to_string(),
            buildspec: buildspec.text.clone(),
            service_role_arn: ready.service_role_arn,
            environment,
            arm: settings.features.with_arm_architecture.value,
            timeout_minutes: i32::try_from(settings.worker.build_timeout_in_minutes.value)
                .unwrap_or(480),
            // One build at a time in an account: a purge never races a preparation.
            concurrency: 1,
            tags: config.resource_tags(),
        };
        let change = member
            .ensure_project(&spec)
            .await
            .map_err(StepError::Project)?;
        tracing::debug!(
            account = member.account(),
            project = spec.name,
            ?change,
            "project"
        );
        // One token per cycle and attempt: a retried call, or a restart within CodeBuild's
        // five minutes, returns the same build.
        let token = format!("spa-{}-{since}-{attempts}", job.label());
        member
            .start_build(job.project(), &token)
            .await
            .map_err(StepError::StartBuild)
    }
}
