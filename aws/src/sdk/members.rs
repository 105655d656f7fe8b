//! CodeBuild and IAM inside member accounts, on the SDK, through the role assumed there.

use std::sync::Arc;

use async_trait::async_trait;
use aws_config::SdkConfig;

use super::{assume_role, built, classify};
use crate::{
    AwsError, BuildInfo, BuildStatus, ErrorKind, Member, Members, ProjectChange, ProjectSpec, Role,
    Rule, Subscription, Tag, Target, api,
};

/// CodeBuild and IAM inside one managed account.
pub(crate) struct SdkMember {
    codebuild: aws_sdk_codebuild::Client,
    iam: aws_sdk_iam::Client,
    events: aws_sdk_eventbridge::Client,
    sns: aws_sdk_sns::Client,
}

/// Clients per member account, through `role_name` assumed from `source` (the management
/// role, or the controller's own identity without one); made once per account. The SDK
/// assumes the roles lazily and refreshes every link of the chain before it expires.
pub(crate) struct SdkMembers {
    source: SdkConfig,
    role_name: String,
    clients: tokio::sync::Mutex<std::collections::HashMap<String, Arc<SdkMember>>>,
}

impl SdkMembers {
    pub(crate) fn new(source: SdkConfig, role_name: &str) -> SdkMembers {
        SdkMembers {
            source,
            role_name: role_name.to_string(),
            clients: Default::default(),
        }
    }
}

#[async_trait]
impl Members for SdkMembers {
    fn role_name(&self) -> String {
        self.role_name.clone()
    }

    async fn member(&self, account: &str) -> Result<Arc<dyn Member>, AwsError> {
        let mut clients = self.clients.lock().await;
        if let Some(member) = clients.get(account) {
            return Ok(member.clone());
        }
        let config = assume_role(
            &self.source,
            &format!("arn:aws:iam::{account}:role/{}", self.role_name),
            "spa-lifecycle",
        )
        .await;
        let member = Arc::new(SdkMember {
            codebuild: aws_sdk_codebuild::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            events: aws_sdk_eventbridge::Client::new(&config),
            sns: aws_sdk_sns::Client::new(&config),
        });
        clients.insert(account.to_string(), member.clone());
        Ok(member)
    }
}

#[async_trait]
impl Member for SdkMember {
    async fn ensure_project(&self, spec: &ProjectSpec) -> Result<ProjectChange, AwsError> {
        use aws_sdk_codebuild::types::*;
        let current = self
            .codebuild
            .batch_get_projects()
            .names(&spec.name)
            .send()
            .await
            .map_err(|e| classify(api::BATCH_GET_PROJECTS, e))?;
        let current = current.projects().first();
        if current.is_some_and(|p| same_project(p, spec)) {
            return Ok(ProjectChange::Unchanged);
        }
        let mut variables = Vec::new();
        for (name, value) in &spec.environment {
            variables.push(built(
                api::CREATE_PROJECT,
                EnvironmentVariable::builder()
                    .name(name)
                    .value(value)
                    .r#type(EnvironmentVariableType::Plaintext)
                    .build(),
            )?);
        }
        let (kind, image) = if spec.arm {
            (
                EnvironmentType::ArmContainer,
                "aws/codebuild/amazonlinux2-aarch64-standard:3.0",
            )
        } else {
            (
                EnvironmentType::LinuxContainer,
                "aws/codebuild/standard:7.0",
            )
        };
        let environment = built(
            api::CREATE_PROJECT,
            ProjectEnvironment::builder()
                .r#type(kind)
                .image(image)
                .compute_type(ComputeType::BuildGeneral1Small)
                .set_environment_variables(Some(variables))
                .build(),
        )?;
        // A NO_SOURCE project still needs a location for some backends (the emulator).
        let source = built(
            api::CREATE_PROJECT,
            ProjectSource::builder()
                .r#type(SourceType::NoSource)
                .location("no-source")
                .buildspec(&spec.buildspec)
                .build(),
        )?;
        let artifacts = built(
            api::CREATE_PROJECT,
            ProjectArtifacts::builder()
                .r#type(ArtifactsType::NoArtifacts)
                .build(),
        )?;
        let mut tags = Vec::new();
        for tag in &spec.tags {
            tags.push(Tag::builder().key(&tag.key).value(&tag.value).build());
        }
        let create = || {
            self.codebuild
                .create_project()
                .name(&spec.name)
                .source(source.clone())
                .artifacts(artifacts.clone())
                .environment(environment.clone())
                .service_role(&spec.service_role_arn)
                .timeout_in_minutes(spec.timeout_minutes)
                .concurrent_build_limit(spec.concurrency)
                .set_tags(Some(tags.clone()))
        };
        if current.is_none() {
            create()
                .send()
                .await
                .map_err(|e| classify(api::CREATE_PROJECT, e))?;
            return Ok(ProjectChange::Created);
        }
        let updated = self
            .codebuild
            .update_project()
            .name(&spec.name)
            .source(source.clone())
            .artifacts(artifacts.clone())
            .environment(environment.clone())
            .service_role(&spec.service_role_arn)
            .timeout_in_minutes(spec.timeout_minutes)
            .concurrent_build_limit(spec.concurrency)
            .set_tags(Some(tags.clone()))
            .send()
            .await;
        if updated.is_ok() {
            return Ok(ProjectChange::Updated);
        }
        // Backends without UpdateProject (the emulator): replace the project.
        tracing::debug!(
            project = spec.name,
            "UpdateProject failed: replacing the project"
        );
        self.codebuild
            .delete_project()
            .name(&spec.name)
            .send()
            .await
            .map_err(|e| classify(api::DELETE_PROJECT, e))?;
        create()
            .send()
            .await
            .map_err(|e| classify(api::CREATE_PROJECT, e))?;
        Ok(ProjectChange::Replaced)
    }

    async fn start_build(
        &self,
        project: &str,
        idempotency_token: &str,
    ) -> Result<String, AwsError> {
        let output = self
            .codebuild
            .start_build()
            .project_name(project)
            .idempotency_token(idempotency_token)
            .send()
            .await
            .map_err(|e| {
                let mut error = classify(api::START_BUILD, e);
                if error.message.contains("Cannot have more than 0 builds in queue") {
                    // New accounts often start with a concurrent-build quota of zero.
                    error.kind = ErrorKind::Throttled;
                    error.message.push_str(" (the account's CodeBuild concurrency quota is 0: request an increase, e.g. through a quota template)");
                }
                error
            })?;
        Ok(output
            .build_value()
            .and_then(|b| b.id())
            .unwrap_or_default()
            .to_string())
    }

    async fn builds(&self, ids: &[String]) -> Result<Vec<BuildInfo>, AwsError> {
        use aws_sdk_codebuild::types::StatusType;
        let output = self
            .codebuild
            .batch_get_builds()
            .set_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| classify(api::BATCH_GET_BUILDS, e))?;
        Ok(output
            .builds()
            .iter()
            .map(|b| BuildInfo {
                id: b.id().unwrap_or_default().to_string(),
                status: match b.build_status() {
                    Some(StatusType::Succeeded) => BuildStatus::Succeeded,
                    Some(StatusType::InProgress) => BuildStatus::InProgress,
                    Some(StatusType::Stopped) => BuildStatus::Stopped,
                    _ => BuildStatus::Failed,
                },
                started_ms: b
                    .start_time()
                    .and_then(|t| t.to_millis().ok())
                    .unwrap_or_default(),
            })
            .collect())
    }

    async fn recent_builds(&self, project: &str) -> Result<Vec<String>, AwsError> {
        let output = self
            .codebuild
            .list_builds_for_project()
            .project_name(project)
            .sort_order(aws_sdk_codebuild::types::SortOrderType::Descending)
            .send()
            .await
            .map_err(|e| classify(api::LIST_BUILDS_FOR_PROJECT, e))?;
        Ok(output.ids().to_vec())
    }

    async fn project_arn(&self, name: &str) -> Result<Option<String>, AwsError> {
        let output = self
            .codebuild
            .batch_get_projects()
            .names(name)
            .send()
            .await
            .map_err(|e| classify(api::BATCH_GET_PROJECTS, e))?;
        Ok(output
            .projects()
            .first()
            .and_then(|p| p.arn())
            .map(str::to_string))
    }

    async fn get_role(&self, name: &str) -> Result<Option<Role>, AwsError> {
        match self.iam.get_role().role_name(name).send().await {
            Ok(output) => Ok(output.role().map(|role| Role {
                arn: role.arn().to_string(),
                trust_policy: decode(role.assume_role_policy_document().unwrap_or_default()),
            })),
            Err(error) => not_found_is_none(classify(api::GET_ROLE, error)),
        }
    }

    async fn create_role(
        &self,
        name: &str,
        trust_policy: &str,
        description: &str,
        tags: &[Tag],
    ) -> Result<String, AwsError> {
        let mut request = self
            .iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust_policy)
            .description(description);
        for tag in tags {
            request = request.tags(built(
                api::CREATE_ROLE,
                aws_sdk_iam::types::Tag::builder()
                    .key(&tag.key)
                    .value(&tag.value)
                    .build(),
            )?);
        }
        let output = request
            .send()
            .await
            .map_err(|e| classify(api::CREATE_ROLE, e))?;
        Ok(output
            .role()
            .map(|r| r.arn().to_string())
            .unwrap_or_default())
    }

    async fn update_assume_role_policy(
        &self,
        name: &str,
        trust_policy: &str,
    ) -> Result<(), AwsError> {
        self.iam
            .update_assume_role_policy()
            .role_name(name)
            .policy_document(trust_policy)
            .send()
            .await
            .map_err(|e| classify(api::UPDATE_ASSUME_ROLE_POLICY, e))?;
        Ok(())
    }

    async fn attached_role_policies(&self, name: &str) -> Result<Vec<String>, AwsError> {
        let output = self
            .iam
            .list_attached_role_policies()
            .role_name(name)
            .send()
            .await
            .map_err(|e| classify(api::LIST_ATTACHED_ROLE_POLICIES, e))?;
        Ok(output
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect())
    }

    async fn attach_role_policy(&self, name: &str, policy_arn: &str) -> Result<(), AwsError> {
        self.iam
            .attach_role_policy()
            .role_name(name)
            .policy_arn(policy_arn)
            .send()
            .await
            .map_err(|e| classify(api::ATTACH_ROLE_POLICY, e))?;
        Ok(())
    }

    async fn detach_role_policy(&self, name: &str, policy_arn: &str) -> Result<(), AwsError> {
        self.iam
            .detach_role_policy()
            .role_name(name)
            .policy_arn(policy_arn)
            .send()
            .await
            .map_err(|e| classify(api::DETACH_ROLE_POLICY, e))?;
        Ok(())
    }

    async fn get_role_policy(&self, role: &str, policy: &str) -> Result<Option<String>, AwsError> {
        match self
            .iam
            .get_role_policy()
            .role_name(role)
            .policy_name(policy)
            .send()
            .await
        {
            Ok(output) => Ok(Some(decode(output.policy_document()))),
            Err(error) => not_found_is_none(classify(api::GET_ROLE_POLICY, error)),
        }
    }

    async fn put_role_policy(
        &self,
        role: &str,
        policy: &str,
        document: &str,
    ) -> Result<(), AwsError> {
        self.iam
            .put_role_policy()
            .role_name(role)
            .policy_name(policy)
            .policy_document(document)
            .send()
            .await
            .map_err(|e| classify(api::PUT_ROLE_POLICY, e))?;
        Ok(())
    }

    async fn describe_rule(&self, name: &str) -> Result<Option<Rule>, AwsError> {
        match self.events.describe_rule().name(name).send().await {
            Ok(output) => Ok(Some(Rule {
                arn: output.arn().unwrap_or_default().to_string(),
                pattern: output.event_pattern().unwrap_or_default().to_string(),
                state: output
                    .state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            })),
            Err(error) => not_found_is_none(classify(api::DESCRIBE_RULE, error)),
        }
    }

    async fn put_rule(
        &self,
        name: &str,
        pattern: &str,
        description: &str,
        tags: &[Tag],
    ) -> Result<String, AwsError> {
        let mut request = self
            .events
            .put_rule()
            .name(name)
            .event_pattern(pattern)
            .description(description)
            .state(aws_sdk_eventbridge::types::RuleState::Enabled);
        for tag in tags {
            request = request.tags(built(
                api::PUT_RULE,
                aws_sdk_eventbridge::types::Tag::builder()
                    .key(&tag.key)
                    .value(&tag.value)
                    .build(),
            )?);
        }
        let output = request
            .send()
            .await
            .map_err(|e| classify(api::PUT_RULE, e))?;
        Ok(output.rule_arn().unwrap_or_default().to_string())
    }

    async fn rule_targets(&self, rule: &str) -> Result<Vec<Target>, AwsError> {
        let output = self
            .events
            .list_targets_by_rule()
            .rule(rule)
            .send()
            .await
            .map_err(|e| classify(api::LIST_TARGETS_BY_RULE, e))?;
        Ok(output
            .targets()
            .iter()
            .map(|t| Target {
                id: t.id().to_string(),
                arn: t.arn().to_string(),
                role_arn: t.role_arn().map(str::to_string),
            })
            .collect())
    }

    async fn put_targets(&self, rule: &str, targets: &[Target]) -> Result<(), AwsError> {
        let mut request = self.events.put_targets().rule(rule);
        for target in targets {
            request = request.targets(built(
                api::PUT_TARGETS,
                aws_sdk_eventbridge::types::Target::builder()
                    .id(&target.id)
                    .arn(&target.arn)
                    .set_role_arn(target.role_arn.clone())
                    .build(),
            )?);
        }
        let output = request
            .send()
            .await
            .map_err(|e| classify(api::PUT_TARGETS, e))?;
        if output.failed_entry_count() > 0 {
            let reasons: Vec<String> = output
                .failed_entries()
                .iter()
                .filter_map(|e| e.error_message().map(str::to_string))
                .collect();
            return Err(AwsError::new(
                api::PUT_TARGETS,
                ErrorKind::Terminal,
                "FailedEntries",
                reasons.join("; "),
            ));
        }
        Ok(())
    }

    async fn create_topic(&self, name: &str, tags: &[Tag]) -> Result<String, AwsError> {
        let mut request = self.sns.create_topic().name(name);
        for tag in tags {
            request = request.tags(built(
                api::CREATE_TOPIC,
                aws_sdk_sns::types::Tag::builder()
                    .key(&tag.key)
                    .value(&tag.value)
                    .build(),
            )?);
        }
        let output = request
            .send()
            .await
            .map_err(|e| classify(api::CREATE_TOPIC, e))?;
        Ok(output.topic_arn().unwrap_or_default().to_string())
    }

    async fn topic_policy(&self, topic_arn: &str) -> Result<Option<String>, AwsError> {
        let output = self
            .sns
            .get_topic_attributes()
            .topic_arn(topic_arn)
            .send()
            .await
            .map_err(|e| classify(api::GET_TOPIC_ATTRIBUTES, e))?;
        Ok(output.attributes().and_then(|a| a.get("Policy")).cloned())
    }

    async fn set_topic_policy(&self, topic_arn: &str, policy: &str) -> Result<(), AwsError> {
        self.sns
            .set_topic_attributes()
            .topic_arn(topic_arn)
            .attribute_name("Policy")
            .attribute_value(policy)
            .send()
            .await
            .map_err(|e| classify(api::SET_TOPIC_ATTRIBUTES, e))?;
        Ok(())
    }

    async fn topic_subscriptions(&self, topic_arn: &str) -> Result<Vec<Subscription>, AwsError> {
        super::topics::subscriptions_of(
            &self.sns,
            topic_arn,
            api::MEMBER_LIST_SUBSCRIPTIONS_BY_TOPIC,
        )
        .await
    }

    async fn subscribe(
        &self,
        topic_arn: &str,
        protocol: &str,
        endpoint: &str,
    ) -> Result<(), AwsError> {
        self.sns
            .subscribe()
            .topic_arn(topic_arn)
            .protocol(protocol)
            .endpoint(endpoint)
            .send()
            .await
            .map_err(|e| classify(api::MEMBER_SUBSCRIBE, e))?;
        Ok(())
    }
}

/// IAM returns policy documents URL-encoded.
fn decode(document: &str) -> String {
    percent_encoding::percent_decode_str(document)
        .decode_utf8_lossy()
        .into_owned()
}

/// A read of something that may not exist: not found is `None`, not an error.
fn not_found_is_none<T>(error: AwsError) -> Result<Option<T>, AwsError> {
    if error.kind == ErrorKind::NotFound {
        Ok(None)
    } else {
        Err(error)
    }
}

/// Whether a project already is what `spec` says (compared field by field as CodeBuild
/// returns them), so that an unchanged project is not written again.
fn same_project(project: &aws_sdk_codebuild::types::Project, spec: &ProjectSpec) -> bool {
    let environment = project.environment();
    let variables: std::collections::BTreeMap<String, String> = environment
        .map(|e| {
            e.environment_variables()
                .iter()
                .map(|v| (v.name().to_string(), v.value().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let arm = environment
        .is_some_and(|e| e.r#type() == &aws_sdk_codebuild::types::EnvironmentType::ArmContainer);
    let tags: std::collections::BTreeMap<&str, &str> = project
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?, t.value()?)))
        .collect();
    project.source().and_then(|s| s.buildspec()) == Some(spec.buildspec.as_str())
        && project.service_role() == Some(spec.service_role_arn.as_str())
        && project.timeout_in_minutes() == Some(spec.timeout_minutes)
        && project.concurrent_build_limit() == Some(spec.concurrency)
        && variables == spec.environment
        && arm == spec.arm
        && spec
            .tags
            .iter()
            .all(|t| tags.get(t.key.as_str()) == Some(&t.value.as_str()))
}
