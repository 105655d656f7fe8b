//! Service control policies of the in-memory organization, refusing what AWS refuses and
//! the emulator lets through: a second attachment, detaching what is not attached, deleting
//! a policy still attached, a sixth SCP on a target, a document over 5,120 characters.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;

use super::organizations::{FakeOrganizations, OrgState};
use super::{PAGE, not_found, paginate};
use crate::policies::target_kind;
use crate::{Api, AwsError, ErrorKind, Page, Policies, PolicySummary, PolicyTarget, Tag, api};

/// AWS's own policy, attached to every root, OU and account from its creation.
pub const FULL_AWS_ACCESS: &str = "p-FullAWSAccess";
/// SCPs per root, OU or account (FullAWSAccess included).
const MAX_PER_TARGET: usize = 5;
/// Characters of an SCP document.
const MAX_CONTENT: usize = 5_120;

#[derive(Debug, Clone)]
pub(super) struct FakePolicy {
    summary: PolicySummary,
    content: String,
    tags: BTreeMap<String, String>,
    targets: BTreeSet<String>,
}

pub(super) fn add_full_aws_access(state: &mut OrgState) {
    let root = state.root.clone();
    state.policies.insert(
        FULL_AWS_ACCESS.to_string(),
        FakePolicy {
            summary: PolicySummary {
                id: FULL_AWS_ACCESS.to_string(),
                name: "FullAWSAccess".to_string(),
                description: "Allows access to every operation".to_string(),
                aws_managed: true,
            },
            content: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
                .to_string(),
            tags: BTreeMap::new(),
            targets: BTreeSet::from([root]),
        },
    );
}

pub(super) fn attach_full_aws_access(state: &mut OrgState, target: &str) {
    if let Some(policy) = state.policies.get_mut(FULL_AWS_ACCESS) {
        policy.targets.insert(target.to_string());
    }
}

fn refused(api: Api, code: &str, message: impl Into<String>) -> AwsError {
    AwsError::new(api, ErrorKind::Terminal, code, message)
}

fn policy<'s>(state: &'s OrgState, api: Api, id: &str) -> Result<&'s FakePolicy, AwsError> {
    state
        .policies
        .get(id)
        .ok_or_else(|| not_found(api, "PolicyNotFoundException", id))
}

fn check_content(api: Api, content: &str) -> Result<(), AwsError> {
    if serde_json::from_str::<serde_json::Value>(content).is_err() {
        return Err(refused(
            api,
            "MalformedPolicyDocumentException",
            "the policy document is not valid JSON",
        ));
    }
    if content.chars().count() > MAX_CONTENT {
        return Err(refused(
            api,
            "ConstraintViolationException",
            "POLICY_CONTENT_LIMIT_EXCEEDED: the policy document is larger than 5,120 characters",
        ));
    }
    Ok(())
}

impl FakeOrganizations {
    /// The SCPs attached to a target, by name (FullAWSAccess included).
    pub fn policies_of(&self, target: &str) -> Vec<String> {
        let state = self.state();
        let mut names: Vec<String> = state
            .policies
            .values()
            .filter(|p| p.targets.contains(target))
            .map(|p| p.summary.name.clone())
            .collect();
        names.sort();
        names
    }

    /// The id and document of the SCP named `name`.
    pub fn policy_named(&self, name: &str) -> Option<(String, String)> {
        self.state()
            .policies
            .values()
            .find(|p| p.summary.name == name)
            .map(|p| (p.summary.id.clone(), p.content.clone()))
    }

    /// A policy someone created by hand (not through spa): its id.
    pub fn create_policy_by_hand(
        &self,
        name: &str,
        content: &str,
        tags: &[(&str, &str)],
    ) -> String {
        let mut state = self.state();
        state.next_policy += 1;
        let id = format!("p-hand{:08}", state.next_policy);
        state.policies.insert(
            id.clone(),
            FakePolicy {
                summary: PolicySummary {
                    id: id.clone(),
                    name: name.to_string(),
                    description: String::new(),
                    aws_managed: false,
                },
                content: content.to_string(),
                tags: tags
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                targets: BTreeSet::new(),
            },
        );
        id
    }

    /// Attaches or detaches by hand, bypassing every check (drift).
    pub fn set_attached_by_hand(&self, policy: &str, target: &str, attached: bool) {
        if let Some(policy) = self.state().policies.get_mut(policy) {
            if attached {
                policy.targets.insert(target.to_string());
            } else {
                policy.targets.remove(target);
            }
        }
    }

    /// Replaces a policy's document by hand (drift).
    pub fn set_content_by_hand(&self, policy: &str, content: &str) {
        if let Some(policy) = self.state().policies.get_mut(policy) {
            policy.content = content.to_string();
        }
    }
}

#[async_trait]
impl Policies for FakeOrganizations {
    async fn list_policies(
        &self,
        next_token: Option<String>,
    ) -> Result<Page<PolicySummary>, AwsError> {
        self.behaviour.enter(api::LIST_POLICIES, "").await?;
        let summaries: Vec<PolicySummary> = self
            .state()
            .policies
            .values()
            .map(|p| p.summary.clone())
            .collect();
        Ok(paginate(&summaries, next_token, PAGE))
    }

    async fn describe_policy(&self, id: &str) -> Result<String, AwsError> {
        self.behaviour.enter(api::DESCRIBE_POLICY, id).await?;
        let state = self.state();
        Ok(policy(&state, api::DESCRIBE_POLICY, id)?.content.clone())
    }

    async fn list_targets_for_policy(
        &self,
        id: &str,
        next_token: Option<String>,
    ) -> Result<Page<PolicyTarget>, AwsError> {
        self.behaviour
            .enter(api::LIST_TARGETS_FOR_POLICY, id)
            .await?;
        let state = self.state();
        let targets: Vec<PolicyTarget> = policy(&state, api::LIST_TARGETS_FOR_POLICY, id)?
            .targets
            .iter()
            .map(|t| PolicyTarget {
                id: t.clone(),
                kind: target_kind(t),
            })
            .collect();
        Ok(paginate(&targets, next_token, PAGE))
    }

    async fn list_policy_tags(
        &self,
        id: &str,
        next_token: Option<String>,
    ) -> Result<Page<Tag>, AwsError> {
        self.behaviour.enter(api::LIST_POLICY_TAGS, id).await?;
        let state = self.state();
        let tags: Vec<Tag> = policy(&state, api::LIST_POLICY_TAGS, id)?
            .tags
            .iter()
            .map(|(key, value)| Tag {
                key: key.clone(),
                value: value.clone(),
            })
            .collect();
        Ok(paginate(&tags, next_token, PAGE))
    }

    async fn create_policy(
        &self,
        name: &str,
        description: &str,
        content: &str,
        tags: &[Tag],
    ) -> Result<PolicySummary, AwsError> {
        self.behaviour.enter(api::CREATE_POLICY, name).await?;
        check_content(api::CREATE_POLICY, content)?;
        let mut state = self.state();
        if state.policies.values().any(|p| p.summary.name == name) {
            return Err(refused(
                api::CREATE_POLICY,
                "DuplicatePolicyException",
                format!("a policy named {name} already exists"),
            ));
        }
        state.next_policy += 1;
        let summary = PolicySummary {
            id: format!("p-fake{:08}", state.next_policy),
            name: name.to_string(),
            description: description.to_string(),
            aws_managed: false,
        };
        state.policies.insert(
            summary.id.clone(),
            FakePolicy {
                summary: summary.clone(),
                content: content.to_string(),
                tags: tags
                    .iter()
                    .map(|t| (t.key.clone(), t.value.clone()))
                    .collect(),
                targets: BTreeSet::new(),
            },
        );
        Ok(summary)
    }

    async fn update_policy(
        &self,
        id: &str,
        description: &str,
        content: &str,
    ) -> Result<(), AwsError> {
        self.behaviour.enter(api::UPDATE_POLICY, id).await?;
        check_content(api::UPDATE_POLICY, content)?;
        let mut state = self.state();
        policy(&state, api::UPDATE_POLICY, id)?;
        let Some(policy) = state.policies.get_mut(id) else {
            return Err(not_found(api::UPDATE_POLICY, "PolicyNotFoundException", id));
        };
        if policy.summary.aws_managed {
            return Err(AwsError::new(
                api::UPDATE_POLICY,
                ErrorKind::AccessDenied,
                "AccessDeniedException",
                "AWS managed policies cannot be changed",
            ));
        }
        policy.summary.description = description.to_string();
        policy.content = content.to_string();
        Ok(())
    }

    async fn delete_policy(&self, id: &str) -> Result<(), AwsError> {
        self.behaviour.enter(api::DELETE_POLICY, id).await?;
        let mut state = self.state();
        if !policy(&state, api::DELETE_POLICY, id)?.targets.is_empty() {
            return Err(refused(
                api::DELETE_POLICY,
                "PolicyInUseException",
                "the policy is attached to one or more entities: detach it first",
            ));
        }
        state.policies.remove(id);
        Ok(())
    }

    async fn attach_policy(&self, id: &str, target: &str) -> Result<(), AwsError> {
        self.behaviour.enter(api::ATTACH_POLICY, id).await?;
        let mut state = self.state();
        if !state.has_target(target) {
            return Err(not_found(
                api::ATTACH_POLICY,
                "TargetNotFoundException",
                target,
            ));
        }
        if policy(&state, api::ATTACH_POLICY, id)?
            .targets
            .contains(target)
        {
            return Err(refused(
                api::ATTACH_POLICY,
                "DuplicatePolicyAttachmentException",
                format!("{id} is already attached to {target}"),
            ));
        }
        let attached = state
            .policies
            .values()
            .filter(|p| p.targets.contains(target))
            .count();
        if attached >= MAX_PER_TARGET {
            return Err(refused(
                api::ATTACH_POLICY,
                "ConstraintViolationException",
                format!(
                    "POLICY_NUMBER_LIMIT_EXCEEDED: {target} already has {attached} service control policies"
                ),
            ));
        }
        if let Some(policy) = state.policies.get_mut(id) {
            policy.targets.insert(target.to_string());
        }
        Ok(())
    }

    async fn detach_policy(&self, id: &str, target: &str) -> Result<(), AwsError> {
        self.behaviour.enter(api::DETACH_POLICY, id).await?;
        let mut state = self.state();
        if !state.has_target(target) {
            return Err(not_found(
                api::DETACH_POLICY,
                "TargetNotFoundException",
                target,
            ));
        }
        if !policy(&state, api::DETACH_POLICY, id)?
            .targets
            .contains(target)
        {
            return Err(refused(
                api::DETACH_POLICY,
                "PolicyNotAttachedException",
                format!("{id} is not attached to {target}"),
            ));
        }
        if let Some(policy) = state.policies.get_mut(id) {
            policy.targets.remove(target);
        }
        Ok(())
    }
}
