//! CodeBuild and IAM inside member accounts, on the SDK, through the role assumed there.

use std::sync::Arc;

use async_trait::async_trait;
use aws_config::SdkConfig;

use super::{assume_role, built, classify};
use crate::{AwsError, BuildInfo, BuildStatus, ErrorKind, Member, Members, ProjectSpec, api};

/// CodeBuild and IAM inside one managed account.
pub(crate) struct SdkMember {
    codebuild: aws_sdk_codebuild::Client,
    iam: aws_sdk_iam::Client,
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
        });
        clients.insert(account.to_string(), member.clone());
        Ok(member)
    }
}

const CODEBUILD_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

#[async_trait]
impl Member for SdkMember {
    async fn ensure_service_role(&self, role_name: &str) -> Result<String, AwsError> {
        let existing = self.iam.get_role().role_name(role_name).send().await.ok();
        if let Some(role) = existing.as_ref().and_then(|o| o.role()) {
            return Ok(role.arn().to_string());
        }
        let output = self
            .iam
            .create_role()
            .role_name(role_name)
            .assume_role_policy_document(CODEBUILD_TRUST)
            .description("Runs the preparation and purge builds of spa")
            .send()
            .await
            .map_err(|e| classify(api::CREATE_ROLE, e))?;
        Ok(output
            .role()
            .map(|r| r.arn().to_string())
            .unwrap_or_default())
    }

    async fn ensure_project(&self, spec: &ProjectSpec) -> Result<(), AwsError> {
        use aws_sdk_codebuild::types::*;
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
        let created = self
            .codebuild
            .create_project()
            .name(&spec.name)
            .source(source.clone())
            .artifacts(artifacts.clone())
            .environment(environment.clone())
            .service_role(&spec.service_role_arn)
            .timeout_in_minutes(spec.timeout_minutes)
            .send()
            .await;
        let error = match created {
            Ok(_) => return Ok(()),
            Err(error) => classify(api::CREATE_PROJECT, error),
        };
        if error.code != "ResourceAlreadyExistsException" {
            return Err(error);
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
            .send()
            .await;
        if updated.is_ok() {
            return Ok(());
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
        self.codebuild
            .create_project()
            .name(&spec.name)
            .source(source)
            .artifacts(artifacts)
            .environment(environment)
            .service_role(&spec.service_role_arn)
            .timeout_in_minutes(spec.timeout_minutes)
            .send()
            .await
            .map_err(|e| classify(api::CREATE_PROJECT, e))?;
        Ok(())
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
}
