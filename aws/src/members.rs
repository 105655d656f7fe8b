//! Inside managed (member) accounts: CodeBuild, IAM, EventBridge and SNS, reached through
//! the role chain (automation identity → management role → member role). Their quotas
//! belong to each member account, so these calls are retried and counted, not limited by
//! the automation account's buckets.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{
    Aws, AwsError, BuildInfo, ProjectChange, ProjectSpec, Role, Rule, Subscription, Tag, Target,
    api,
};

/// The backend of one member account.
#[async_trait]
pub trait Member: Send + Sync {
    /// Creates the project, or brings it to `spec` (update where the backend supports it,
    /// else delete and create again); nothing when it already matches.
    async fn ensure_project(&self, spec: &ProjectSpec) -> Result<ProjectChange, AwsError>;
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

    async fn get_role(&self, name: &str) -> Result<Option<Role>, AwsError>;
    /// Creates a role; returns its ARN.
    async fn create_role(
        &self,
        name: &str,
        trust_policy: &str,
        description: &str,
        tags: &[Tag],
    ) -> Result<String, AwsError>;
    async fn update_assume_role_policy(
        &self,
        name: &str,
        trust_policy: &str,
    ) -> Result<(), AwsError>;
    /// The ARNs of the managed policies attached to a role.
    async fn attached_role_policies(&self, name: &str) -> Result<Vec<String>, AwsError>;
    async fn attach_role_policy(&self, name: &str, policy_arn: &str) -> Result<(), AwsError>;
    async fn detach_role_policy(&self, name: &str, policy_arn: &str) -> Result<(), AwsError>;
    /// An inline policy of a role (JSON), if it exists.
    async fn get_role_policy(&self, role: &str, policy: &str) -> Result<Option<String>, AwsError>;
    async fn put_role_policy(
        &self,
        role: &str,
        policy: &str,
        document: &str,
    ) -> Result<(), AwsError>;

    /// A rule of the default bus, if it exists.
    async fn describe_rule(&self, name: &str) -> Result<Option<Rule>, AwsError>;
    /// Creates or updates an enabled rule of the default bus; returns its ARN.
    async fn put_rule(
        &self,
        name: &str,
        pattern: &str,
        description: &str,
        tags: &[Tag],
    ) -> Result<String, AwsError>;
    async fn rule_targets(&self, rule: &str) -> Result<Vec<Target>, AwsError>;
    async fn put_targets(&self, rule: &str, targets: &[Target]) -> Result<(), AwsError>;

    /// Creates a topic, or finds it (CreateTopic is idempotent); returns its ARN.
    async fn create_topic(&self, name: &str, tags: &[Tag]) -> Result<String, AwsError>;
    /// The access policy of a topic (JSON), if it has one.
    async fn topic_policy(&self, topic_arn: &str) -> Result<Option<String>, AwsError>;
    async fn set_topic_policy(&self, topic_arn: &str, policy: &str) -> Result<(), AwsError>;
    async fn topic_subscriptions(&self, topic_arn: &str) -> Result<Vec<Subscription>, AwsError>;
    /// Subscribes `endpoint` to the topic; an endpoint of another account confirms it.
    async fn subscribe(
        &self,
        topic_arn: &str,
        protocol: &str,
        endpoint: &str,
    ) -> Result<(), AwsError>;
}

/// Every member account: the backend of one, made once per account.
#[async_trait]
pub trait Members: Send + Sync {
    async fn member(&self, account: &str) -> Result<Arc<dyn Member>, AwsError>;
    /// The name of the role assumed in member accounts (for messages).
    fn role_name(&self) -> String;
}

/// One member account, behind the door: every operation goes through the policy.
#[derive(Clone)]
pub struct MemberAccount {
    aws: Aws,
    account: String,
    role_name: String,
    backend: Arc<dyn Member>,
}

impl Aws {
    /// The member account `account`, through the role spa assumes there.
    pub async fn member(&self, account: &str) -> Result<MemberAccount, AwsError> {
        let members = &self.backends.members;
        let backend = members.member(account).await?;
        Ok(MemberAccount {
            aws: self.clone(),
            account: account.to_string(),
            role_name: members.role_name(),
            backend,
        })
    }
}

impl MemberAccount {
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The role spa assumed in the account.
    pub fn role_name(&self) -> &str {
        &self.role_name
    }

    pub async fn ensure_project(&self, spec: &ProjectSpec) -> Result<ProjectChange, AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::CREATE_PROJECT, || backend.ensure_project(spec))
            .await
    }

    pub async fn start_build(
        &self,
        project: &str,
        idempotency_token: &str,
    ) -> Result<String, AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::START_BUILD, || {
                backend.start_build(project, idempotency_token)
            })
            .await
    }

    /// The status of builds, any number of ids (100 per call).
    pub async fn builds(&self, ids: &[String]) -> Result<Vec<BuildInfo>, AwsError> {
        let mut infos = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(100) {
            let backend = &self.backend;
            let found = self
                .aws
                .call(api::BATCH_GET_BUILDS, || backend.builds(chunk))
                .await?;
            infos.extend(found);
        }
        Ok(infos)
    }

    pub async fn recent_builds(&self, project: &str) -> Result<Vec<String>, AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::LIST_BUILDS_FOR_PROJECT, || {
                backend.recent_builds(project)
            })
            .await
    }

    pub async fn project_arn(&self, name: &str) -> Result<Option<String>, AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::BATCH_GET_PROJECTS, || backend.project_arn(name))
            .await
    }

    pub async fn get_role(&self, name: &str) -> Result<Option<Role>, AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::GET_ROLE, || backend.get_role(name))
            .await
    }

    pub async fn create_role(
        &self,
        name: &str,
        trust_policy: &str,
        description: &str,
        tags: &[Tag],
    ) -> Result<String, AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::CREATE_ROLE, || {
                backend.create_role(name, trust_policy, description, tags)
            })
            .await
    }

    pub async fn update_assume_role_policy(
        &self,
        name: &str,
        trust_policy: &str,
    ) -> Result<(), AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::UPDATE_ASSUME_ROLE_POLICY, || {
                backend.update_assume_role_policy(name, trust_policy)
            })
            .await
    }

    pub async fn attached_role_policies(&self, name: &str) -> Result<Vec<String>, AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::LIST_ATTACHED_ROLE_POLICIES, || {
                backend.attached_role_policies(name)
            })
            .await
    }

    pub async fn attach_role_policy(&self, name: &str, policy_arn: &str) -> Result<(), AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::ATTACH_ROLE_POLICY, || {
                backend.attach_role_policy(name, policy_arn)
            })
            .await
    }

    pub async fn detach_role_policy(&self, name: &str, policy_arn: &str) -> Result<(), AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::DETACH_ROLE_POLICY, || {
                backend.detach_role_policy(name, policy_arn)
            })
            .await
    }

    pub async fn get_role_policy(
        &self,
        role: &str,
        policy: &str,
    ) -> Result<Option<String>, AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::GET_ROLE_POLICY, || {
                backend.get_role_policy(role, policy)
            })
            .await
    }

    pub async fn put_role_policy(
        &self,
        role: &str,
        policy: &str,
        document: &str,
    ) -> Result<(), AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::PUT_ROLE_POLICY, || {
                backend.put_role_policy(role, policy, document)
            })
            .await
    }

    pub async fn describe_rule(&self, name: &str) -> Result<Option<Rule>, AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::DESCRIBE_RULE, || backend.describe_rule(name))
            .await
    }

    pub async fn put_rule(
        &self,
        name: &str,
        pattern: &str,
        description: &str,
        tags: &[Tag],
    ) -> Result<String, AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::PUT_RULE, || {
                backend.put_rule(name, pattern, description, tags)
            })
            .await
    }

    pub async fn rule_targets(&self, rule: &str) -> Result<Vec<Target>, AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::LIST_TARGETS_BY_RULE, || backend.rule_targets(rule))
            .await
    }

    pub async fn put_targets(&self, rule: &str, targets: &[Target]) -> Result<(), AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::PUT_TARGETS, || backend.put_targets(rule, targets))
            .await
    }

    pub async fn create_topic(&self, name: &str, tags: &[Tag]) -> Result<String, AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::CREATE_TOPIC, || backend.create_topic(name, tags))
            .await
    }

    pub async fn topic_policy(&self, topic_arn: &str) -> Result<Option<String>, AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::GET_TOPIC_ATTRIBUTES, || {
                backend.topic_policy(topic_arn)
            })
            .await
    }

    pub async fn set_topic_policy(&self, topic_arn: &str, policy: &str) -> Result<(), AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::SET_TOPIC_ATTRIBUTES, || {
                backend.set_topic_policy(topic_arn, policy)
            })
            .await
    }

    pub async fn topic_subscriptions(
        &self,
        topic_arn: &str,
    ) -> Result<Vec<Subscription>, AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::MEMBER_LIST_SUBSCRIPTIONS_BY_TOPIC, || {
                backend.topic_subscriptions(topic_arn)
            })
            .await
    }

    pub async fn subscribe(
        &self,
        topic_arn: &str,
        protocol: &str,
        endpoint: &str,
    ) -> Result<(), AwsError> {
        let backend = &self.backend;
        self.aws
            .call(api::MEMBER_SUBSCRIBE, || {
                backend.subscribe(topic_arn, protocol, endpoint)
            })
            .await
    }
}
