//! Inside managed (member) accounts: CodeBuild and IAM, reached through the role assumed
//! there. Their quotas belong to each member account, so these calls are retried and
//! counted, not limited by the automation account's buckets.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{Aws, AwsError, BuildInfo, ProjectSpec, api};

/// The backend of one member account.
#[async_trait]
pub trait Member: Send + Sync {
    /// Creates the service role of the projects if missing; returns its ARN.
    async fn ensure_service_role(&self, role_name: &str) -> Result<String, AwsError>;
    /// Creates the project, or brings it to `spec` (update where the backend supports it,
    /// else delete and create again).
    async fn ensure_project(&self, spec: &ProjectSpec) -> Result<(), AwsError>;
    /// Starts one build. The same `idempotency_token` within five minutes starts no second
    /// build (CodeBuild's guarantee), so a retried call is safe.
    async fn start_build(&self, project: &str, idempotency_token: &str)
    -> Result<String, AwsError>;
    /// The status of builds, at most 100 ids per call.
    async fn builds(&self, ids: &[String]) -> Result<Vec<BuildInfo>, AwsError>;
    /// Build ids of a project, newest first (one page).
    async fn recent_builds(&self, project: &str) -> Result<Vec<String>, AwsError>;
    /// The ARN of a project, if it exists.
    async fn project_arn(&self, name: &str) -> Result<Option<String>, AwsError>;
}

/// Every member account: the backend of one, made once per account.
#[async_trait]
pub trait Members: Send + Sync {
    async fn member(&self, account: &str) -> Result<Arc<dyn Member>, AwsError>;
}

/// One member account, behind the door: every operation goes through the policy.
#[derive(Clone)]
pub struct MemberAccount {
    aws: Aws,
    account: String,
    backend: Arc<dyn Member>,
}

impl Aws {
    /// The member account `account`, through the role spa assumes there.
    pub async fn member(&self, account: &str) -> Result<MemberAccount, AwsError> {
        let backend = self.backends.members.member(account).await?;
        Ok(MemberAccount {
            aws: self.clone(),
            account: account.to_string(),
            backend,
        })
    }
}

impl MemberAccount {
    pub fn account(&self) -> &str {
        &self.account
    }

    pub async fn ensure_service_role(&self, role_name: &str) -> Result<String, AwsError> {
        self.aws
            .call(api::CREATE_ROLE, || {
                self.backend.ensure_service_role(role_name)
            })
            .await
    }

    pub async fn ensure_project(&self, spec: &ProjectSpec) -> Result<(), AwsError> {
        self.aws
            .call(api::CREATE_PROJECT, || self.backend.ensure_project(spec))
            .await
    }

    pub async fn start_build(
        &self,
        project: &str,
        idempotency_token: &str,
    ) -> Result<String, AwsError> {
        self.aws
            .call(api::START_BUILD, || {
                self.backend.start_build(project, idempotency_token)
            })
            .await
    }

    /// The status of builds, any number of ids (100 per call).
    pub async fn builds(&self, ids: &[String]) -> Result<Vec<BuildInfo>, AwsError> {
        let mut infos = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(100) {
            let found = self
                .aws
                .call(api::BATCH_GET_BUILDS, || self.backend.builds(chunk))
                .await?;
            infos.extend(found);
        }
        Ok(infos)
    }

    pub async fn recent_builds(&self, project: &str) -> Result<Vec<String>, AwsError> {
        self.aws
            .call(api::LIST_BUILDS_FOR_PROJECT, || {
                self.backend.recent_builds(project)
            })
            .await
    }

    pub async fn project_arn(&self, name: &str) -> Result<Option<String>, AwsError> {
        self.aws
            .call(api::BATCH_GET_PROJECTS, || self.backend.project_arn(name))
            .await
    }
}
