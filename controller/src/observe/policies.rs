//! The service control policies spa owns: named `<env>-…` and tagged `managed-by=spa`,
//! `spa-environment=<env>` (both are needed: a name alone proves nothing). Their documents
//! and targets are read; every other policy of the organization is only listed.
//!
//! Calls: ⌈P/20⌉ ListPolicies pages for the P SCPs of the organization; per policy named
//! like spa's, one ListTagsForResource; per owned policy, one DescribePolicy and
//! ⌈t/20⌉ ListTargetsForPolicy pages for its t targets.

use std::collections::BTreeMap;

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::aws::{Aws, AwsError, PolicyTarget, Tag};

/// The tag that says spa made a resource, and the one that says for which environment.
pub const MANAGED_BY: (&str, &str) = ("managed-by", "spa");
pub const ENVIRONMENT_TAG: &str = "spa-environment";

/// What a policy's name starts with when spa made it for `environment`.
pub fn name_prefix(environment: &str) -> String {
    format!("{environment}-")
}

/// The two tags of spa's policies: ownership is decided on them.
pub fn ownership_tags(environment: &str) -> Vec<Tag> {
    vec![
        Tag {
            key: MANAGED_BY.0.to_string(),
            value: MANAGED_BY.1.to_string(),
        },
        Tag {
            key: ENVIRONMENT_TAG.to_string(),
            value: environment.to_string(),
        },
    ]
}

/// Whether tags read on a policy say that spa made it for `environment`.
pub fn owned(tags: &[Tag], environment: &str) -> bool {
    let has = |key: &str, value: &str| tags.iter().any(|t| t.key == key && t.value == value);
    has(MANAGED_BY.0, MANAGED_BY.1) && has(ENVIRONMENT_TAG, environment)
}

/// A service control policy spa made, as AWS holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedPolicy {
    pub id: String,
    pub name: String,
    pub description: String,
    /// The document as AWS returns it.
    pub content: String,
    /// Roots, OUs and accounts it is attached to, sorted.
    pub targets: Vec<PolicyTarget>,
}

/// spa's policies by name, and the names of policies that look like spa's but are not
/// (no ownership tags): spa never touches those.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedPolicies {
    pub owned: BTreeMap<String, ObservedPolicy>,
    pub foreign: Vec<String>,
}

/// Reads spa's policies for `environment`.
pub async fn observe_policies(aws: &Aws, environment: &str) -> Result<ObservedPolicies, AwsError> {
    let prefix = name_prefix(environment);
    let candidates: Vec<_> = aws
        .service_control_policies()
        .await?
        .into_iter()
        .filter(|p| !p.aws_managed && p.name.starts_with(&prefix))
        .collect();
    let read: Vec<(String, Result<Option<ObservedPolicy>, AwsError>)> =
        futures::stream::iter(candidates)
            .map(|summary| async move {
                let name = summary.name.clone();
                (name, read_policy(aws, environment, summary).await)
            })
            .buffered(2)
            .collect()
            .await;
    let mut observed = ObservedPolicies::default();
    for (name, result) in read {
        match result? {
            Some(policy) => {
                observed.owned.insert(name, policy);
            }
            None => observed.foreign.push(name),
        }
    }
    Ok(observed)
}

/// The document and targets of a policy, if its tags say spa made it.
async fn read_policy(
    aws: &Aws,
    environment: &str,
    summary: crate::aws::PolicySummary,
) -> Result<Option<ObservedPolicy>, AwsError> {
    let tags = aws.policy_tags(&summary.id).await?;
    if !owned(&tags, environment) {
        return Ok(None);
    }
    let (content, targets) = tokio::join!(
        aws.policy_document(&summary.id),
        aws.policy_targets(&summary.id)
    );
    let mut targets = targets?;
    targets.sort();
    Ok(Some(ObservedPolicy {
        id: summary.id,
        name: summary.name,
        description: summary.description,
        content: content?,
        targets,
    }))
}
