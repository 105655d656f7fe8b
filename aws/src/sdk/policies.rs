//! Service control policies on the SDK: the Organizations client, in us-east-1.

use async_trait::async_trait;
use aws_sdk_organizations::types::{PolicyType, TargetType};

use super::organizations::SdkOrganizations;
use super::{classify, next, text};
use crate::{
    AwsError, ErrorKind, Page, Policies, PolicySummary, PolicyTarget, Tag, TargetKind, api,
};

fn summary(policy: &aws_sdk_organizations::types::PolicySummary) -> PolicySummary {
    PolicySummary {
        id: text(policy.id()),
        name: text(policy.name()),
        description: text(policy.description()),
        aws_managed: policy.aws_managed(),
    }
}

#[async_trait]
impl Policies for SdkOrganizations {
    async fn list_policies(
        &self,
        next_token: Option<String>,
    ) -> Result<Page<PolicySummary>, AwsError> {
        let output = self
            .client
            .list_policies()
            .filter(PolicyType::ServiceControlPolicy)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| classify(api::LIST_POLICIES, e))?;
        Ok(Page {
            items: output.policies().iter().map(summary).collect(),
            next_token: next(output.next_token()),
        })
    }

    async fn describe_policy(&self, id: &str) -> Result<String, AwsError> {
        let output = self
            .client
            .describe_policy()
            .policy_id(id)
            .send()
            .await
            .map_err(|e| classify(api::DESCRIBE_POLICY, e))?;
        Ok(text(output.policy().and_then(|p| p.content())))
    }

    async fn list_targets_for_policy(
        &self,
        id: &str,
        next_token: Option<String>,
    ) -> Result<Page<PolicyTarget>, AwsError> {
        let output = self
            .client
            .list_targets_for_policy()
            .policy_id(id)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| classify(api::LIST_TARGETS_FOR_POLICY, e))?;
        Ok(Page {
            items: output
                .targets()
                .iter()
                .map(|t| PolicyTarget {
                    id: text(t.target_id()),
                    kind: match t.r#type() {
                        Some(TargetType::Root) => TargetKind::Root,
                        Some(TargetType::OrganizationalUnit) => TargetKind::OrganizationalUnit,
                        _ => TargetKind::Account,
                    },
                })
                .collect(),
            next_token: next(output.next_token()),
        })
    }

    async fn list_policy_tags(
        &self,
        id: &str,
        next_token: Option<String>,
    ) -> Result<Page<Tag>, AwsError> {
        let output = self
            .client
            .list_tags_for_resource()
            .resource_id(id)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| classify(api::LIST_POLICY_TAGS, e))?;
        Ok(Page {
            items: output
                .tags()
                .iter()
                .map(|t| Tag {
                    key: t.key().to_string(),
                    value: t.value().to_string(),
                })
                .collect(),
            next_token: next(output.next_token()),
        })
    }

    async fn create_policy(
        &self,
        name: &str,
        description: &str,
        content: &str,
        tags: &[Tag],
    ) -> Result<PolicySummary, AwsError> {
        let mut request = self
            .client
            .create_policy()
            .name(name)
            .description(description)
            .content(content)
            .r#type(PolicyType::ServiceControlPolicy);
        for tag in tags {
            let tag = aws_sdk_organizations::types::Tag::builder()
                .key(&tag.key)
                .value(&tag.value)
                .build()
                .map_err(|e| {
                    AwsError::new(api::CREATE_POLICY, ErrorKind::Terminal, "", e.to_string())
                })?;
            request = request.tags(tag);
        }
        let output = request
            .send()
            .await
            .map_err(|e| classify(api::CREATE_POLICY, e))?;
        output
            .policy()
            .and_then(|p| p.policy_summary())
            .map(summary)
            .ok_or_else(|| {
                AwsError::new(
                    api::CREATE_POLICY,
                    ErrorKind::Terminal,
                    "",
                    format!("no policy in the answer to creating {name}"),
                )
            })
    }

    async fn update_policy(
        &self,
        id: &str,
        description: &str,
        content: &str,
    ) -> Result<(), AwsError> {
        self.client
            .update_policy()
            .policy_id(id)
            .description(description)
            .content(content)
            .send()
            .await
            .map_err(|e| classify(api::UPDATE_POLICY, e))?;
        Ok(())
    }

    async fn delete_policy(&self, id: &str) -> Result<(), AwsError> {
        self.client
            .delete_policy()
            .policy_id(id)
            .send()
            .await
            .map_err(|e| classify(api::DELETE_POLICY, e))?;
        Ok(())
    }

    async fn attach_policy(&self, id: &str, target: &str) -> Result<(), AwsError> {
        self.client
            .attach_policy()
            .policy_id(id)
            .target_id(target)
            .send()
            .await
            .map_err(|e| classify(api::ATTACH_POLICY, e))?;
        Ok(())
    }

    async fn detach_policy(&self, id: &str, target: &str) -> Result<(), AwsError> {
        self.client
            .detach_policy()
            .policy_id(id)
            .target_id(target)
            .send()
            .await
            .map_err(|e| classify(api::DETACH_POLICY, e))?;
        Ok(())
    }
}
