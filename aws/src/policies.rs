//! Service control policies of AWS Organizations (management account): the policies spa
//! creates, their documents and where they are attached. spa reads every SCP's name, and
//! writes only the policies it created (the caller checks ownership through their tags).

use async_trait::async_trait;

use crate::{Attachment, Aws, AwsError, Page, PolicySummary, PolicyTarget, Tag, TargetKind, api};

/// The backend of service control policies.
#[async_trait]
pub trait Policies: Send + Sync {
    /// SCPs only (`SERVICE_CONTROL_POLICY`).
    async fn list_policies(
        &self,
        next_token: Option<String>,
    ) -> Result<Page<PolicySummary>, AwsError>;
    /// The policy document (JSON text).
    async fn describe_policy(&self, id: &str) -> Result<String, AwsError>;
    async fn list_targets_for_policy(
        &self,
        id: &str,
        next_token: Option<String>,
    ) -> Result<Page<PolicyTarget>, AwsError>;
    async fn list_policy_tags(
        &self,
        id: &str,
        next_token: Option<String>,
    ) -> Result<Page<Tag>, AwsError>;
    async fn create_policy(
        &self,
        name: &str,
        description: &str,
        content: &str,
        tags: &[Tag],
    ) -> Result<PolicySummary, AwsError>;
    async fn update_policy(
        &self,
        id: &str,
        description: &str,
        content: &str,
    ) -> Result<(), AwsError>;
    async fn delete_policy(&self, id: &str) -> Result<(), AwsError>;
    async fn attach_policy(&self, id: &str, target: &str) -> Result<(), AwsError>;
    async fn detach_policy(&self, id: &str, target: &str) -> Result<(), AwsError>;
}

/// The kind of a target from its id, as Organizations spells ids.
pub fn target_kind(id: &str) -> TargetKind {
    if id.starts_with("r-") {
        TargetKind::Root
    } else if id.starts_with("ou-") {
        TargetKind::OrganizationalUnit
    } else {
        TargetKind::Account
    }
}

impl Aws {
    /// Every SCP of the organization (names and ids; AWS's own included).
    pub async fn service_control_policies(&self) -> Result<Vec<PolicySummary>, AwsError> {
        let policies = &self.backends.policies;
        self.all_pages(api::LIST_POLICIES, |t| policies.list_policies(t))
            .await
    }

    pub async fn policy_document(&self, id: &str) -> Result<String, AwsError> {
        let policies = &self.backends.policies;
        self.call(api::DESCRIBE_POLICY, || policies.describe_policy(id))
            .await
    }

    pub async fn policy_targets(&self, id: &str) -> Result<Vec<PolicyTarget>, AwsError> {
        let policies = &self.backends.policies;
        self.all_pages(api::LIST_TARGETS_FOR_POLICY, |t| {
            policies.list_targets_for_policy(id, t)
        })
        .await
    }

    pub async fn policy_tags(&self, id: &str) -> Result<Vec<Tag>, AwsError> {
        let policies = &self.backends.policies;
        self.all_pages(api::LIST_POLICY_TAGS, |t| policies.list_policy_tags(id, t))
            .await
    }

    /// Creates an SCP with its tags in one call.
    pub async fn create_policy(
        &self,
        name: &str,
        description: &str,
        content: &str,
        tags: &[Tag],
    ) -> Result<PolicySummary, AwsError> {
        let policies = &self.backends.policies;
        self.call(api::CREATE_POLICY, || {
            policies.create_policy(name, description, content, tags)
        })
        .await
    }

    pub async fn update_policy(
        &self,
        id: &str,
        description: &str,
        content: &str,
    ) -> Result<(), AwsError> {
        let policies = &self.backends.policies;
        self.call(api::UPDATE_POLICY, || {
            policies.update_policy(id, description, content)
        })
        .await
    }

    pub async fn delete_policy(&self, id: &str) -> Result<(), AwsError> {
        let policies = &self.backends.policies;
        self.call(api::DELETE_POLICY, || policies.delete_policy(id))
            .await
    }

    /// Attaches a policy; an attachment that already exists is not an error.
    pub async fn attach_policy(&self, id: &str, target: &str) -> Result<Attachment, AwsError> {
        let policies = &self.backends.policies;
        match self
            .call(api::ATTACH_POLICY, || policies.attach_policy(id, target))
            .await
        {
            Ok(()) => Ok(Attachment::Changed),
            Err(e) if e.code == "DuplicatePolicyAttachmentException" => Ok(Attachment::AlreadySo),
            Err(mut e) if e.code == "ConstraintViolationException" => {
                e.message.push_str(
                    " — AWS attaches at most 5 SCPs to a root, OU or account, FullAWSAccess included: detach one there, or combine policies",
                );
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Detaches a policy; detaching what is not attached is not an error.
    pub async fn detach_policy(&self, id: &str, target: &str) -> Result<Attachment, AwsError> {
        let policies = &self.backends.policies;
        match self
            .call(api::DETACH_POLICY, || policies.detach_policy(id, target))
            .await
        {
            Ok(()) => Ok(Attachment::Changed),
            Err(e) if e.code == "PolicyNotAttachedException" => Ok(Attachment::AlreadySo),
            Err(e) => Err(e),
        }
    }
}
