//! What spa keeps inside each member account besides the two projects (docs/lifecycle.md,
//! "Inside the account"), brought to what it should be before every build: read first,
//! written only where it differs, so a second preparation writes nothing, and anything
//! half-created by an interrupted run is finished by the next one.
//!
//! - `SpaCodeBuildServiceRole`, trusted by CodeBuild of this account, with the managed
//!   policy of `worker.build_service_role_policy_arn` (and no other);
//! - `SpaRoleForEvents`, trusted by EventBridge of this account, allowed to put events on
//!   the automation account's bus;
//! - the rules `SpaForwardBuildStateChanges` and `SpaForwardConsoleSignIns`, forwarding
//!   the end of spa's builds and console sign-ins to that bus;
//! - the topic `SpaAlertTopic`, which AWS Budgets publishes to, subscribed to the alerts
//!   queue (the queue's consumer confirms the subscription).
//!
//! The policy documents are the files of `deploy/policies/`, so that what the installation
//! documents is exactly what spa creates.

use crate::aws::{AwsError, MemberAccount, Tag, Target};

pub const SERVICE_ROLE: &str = "SpaCodeBuildServiceRole";
pub const EVENTS_ROLE: &str = "SpaRoleForEvents";
pub const EVENTS_POLICY: &str = "SpaPutEventsOnAutomationBus";
pub const BUILD_RULE: &str = "SpaForwardBuildStateChanges";
pub const SIGN_IN_RULE: &str = "SpaForwardConsoleSignIns";
pub const ALERT_TOPIC: &str = "SpaAlertTopic";
const TARGET_ID: &str = "AutomationBus";

const CODEBUILD_TRUST: &str = include_str!("../../../deploy/policies/codebuild-trust.json");
const EVENTS_TRUST: &str = include_str!("../../../deploy/policies/events-role-trust.json");
const EVENTS_ROLE_POLICY: &str = include_str!("../../../deploy/policies/events-role-policy.json");
const ALERT_TOPIC_POLICY: &str = include_str!("../../../deploy/policies/alert-topic-policy.json");

/// The event pattern of each forwarding rule.
fn pattern(rule: &str) -> serde_json::Value {
    match rule {
        BUILD_RULE => serde_json::json!({
            "source": ["aws.codebuild"],
            "detail-type": ["CodeBuild Build State Change"],
            "detail": {
                "project-name": [
                    super::machine::Job::Preparation.project(),
                    super::machine::Job::Purge.project(),
                ],
                "build-status": ["SUCCEEDED", "FAILED", "STOPPED"],
            },
        }),
        _ => serde_json::json!({
            "source": ["aws.signin"],
            "detail-type": ["AWS Console Sign In via CloudTrail"],
        }),
    }
}

/// What the account should hold, from the settings and the installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub region: String,
    /// The bus events are forwarded to (the automation account's).
    pub bus_arn: String,
    pub build_policy_arn: String,
    /// The alerts queue the topic is subscribed to, when the installation has one.
    pub alerts_queue_arn: Option<String>,
    pub tags: Vec<Tag>,
}

/// What a ready account offers the builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    pub service_role_arn: String,
    pub topic_arn: String,
}

/// A step of the preparation that failed: what spa was doing, and AWS's answer (which names
/// the operation; on AWS, a denial also names the action and the resource).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what}: {error}")]
pub struct SetupError {
    pub what: String,
    pub error: AwsError,
}

fn failed(what: impl Into<String>) -> impl FnOnce(AwsError) -> SetupError {
    let what = what.into();
    move |error| SetupError { what, error }
}

fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_string(), |text, (name, value)| {
            text.replace(&format!("${{{name}}}"), value)
        })
}

/// Two JSON documents equal as JSON (AWS returns them reformatted).
fn same_json(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Creates the role if missing and brings its trust policy to `trust`; returns its ARN.
async fn ensure_role(
    member: &MemberAccount,
    name: &str,
    trust: &str,
    description: &str,
    tags: &[Tag],
) -> Result<String, SetupError> {
    let existing = member
        .get_role(name)
        .await
        .map_err(failed(format!("reading the role {name}")))?;
    match existing {
        None => member
            .create_role(name, trust, description, tags)
            .await
            .map_err(failed(format!("creating the role {name}"))),
        Some(role) => {
            if !same_json(&role.trust_policy, trust) {
                member
                    .update_assume_role_policy(name, trust)
                    .await
                    .map_err(failed(format!("updating the trust of the role {name}")))?;
            }
            Ok(role.arn)
        }
    }
}

/// Brings `member` to `desired`: reads everything, writes only what differs.
pub async fn ensure(member: &MemberAccount, desired: &Desired) -> Result<Ready, SetupError> {
    let account = member.account();
    let topic_name_arn = format!("arn:aws:sns:{}:{account}:{ALERT_TOPIC}", desired.region);
    let values = [
        ("MemberAccountId", account),
        ("AutomationBusArn", desired.bus_arn.as_str()),
        ("TopicArn", topic_name_arn.as_str()),
    ];

    let service_role_arn = ensure_role(
        member,
        SERVICE_ROLE,
        &fill(CODEBUILD_TRUST, &values),
        "Runs the preparation and purge builds of spa",
        &desired.tags,
    )
    .await?;
    let attached = member
        .attached_role_policies(SERVICE_ROLE)
        .await
        .map_err(failed(format!(
            "reading the policies of the role {SERVICE_ROLE}"
        )))?;
    if !attached.contains(&desired.build_policy_arn) {
        member
            .attach_role_policy(SERVICE_ROLE, &desired.build_policy_arn)
            .await
            .map_err(failed(format!(
                "attaching {} to the role {SERVICE_ROLE}",
                desired.build_policy_arn
            )))?;
    }
    // spa owns this role: a policy of earlier settings goes.
    for other in attached.iter().filter(|p| **p != desired.build_policy_arn) {
        member
            .detach_role_policy(SERVICE_ROLE, other)
            .await
            .map_err(failed(format!(
                "detaching {other} from the role {SERVICE_ROLE}"
            )))?;
    }

    let events_role_arn = ensure_role(
        member,
        EVENTS_ROLE,
        &fill(EVENTS_TRUST, &values),
        "Forwards spa's events of this account to the automation account",
        &desired.tags,
    )
    .await?;
    let policy = fill(EVENTS_ROLE_POLICY, &values);
    let current = member
        .get_role_policy(EVENTS_ROLE, EVENTS_POLICY)
        .await
        .map_err(failed(format!(
            "reading the policy of the role {EVENTS_ROLE}"
        )))?;
    if current.is_none_or(|c| !same_json(&c, &policy)) {
        member
            .put_role_policy(EVENTS_ROLE, EVENTS_POLICY, &policy)
            .await
            .map_err(failed(format!(
                "writing the policy of the role {EVENTS_ROLE}"
            )))?;
    }

    let target = Target {
        id: TARGET_ID.to_string(),
        arn: desired.bus_arn.clone(),
        role_arn: Some(events_role_arn),
    };
    for (rule, description) in [
        (
            BUILD_RULE,
            "The end of spa's builds, to the automation account",
        ),
        (SIGN_IN_RULE, "Console sign-ins, to the automation account"),
    ] {
        let pattern = pattern(rule).to_string();
        let current = member
            .describe_rule(rule)
            .await
            .map_err(failed(format!("reading the rule {rule}")))?;
        let exists = current.is_some();
        if current.is_none_or(|r| !same_json(&r.pattern, &pattern) || r.state != "ENABLED") {
            member
                .put_rule(rule, &pattern, description, &desired.tags)
                .await
                .map_err(failed(format!("writing the rule {rule}")))?;
        }
        let targets = if exists {
            member
                .rule_targets(rule)
                .await
                .map_err(failed(format!("reading the targets of the rule {rule}")))?
        } else {
            Vec::new()
        };
        if !targets.contains(&target) {
            member
                .put_targets(rule, std::slice::from_ref(&target))
                .await
                .map_err(failed(format!("writing the target of the rule {rule}")))?;
        }
    }

    let topic_arn = member
        .create_topic(ALERT_TOPIC, &desired.tags)
        .await
        .map_err(failed(format!("creating the topic {ALERT_TOPIC}")))?;
    let policy = fill(
        ALERT_TOPIC_POLICY,
        &[("MemberAccountId", account), ("TopicArn", &topic_arn)],
    );
    let current = member
        .topic_policy(&topic_arn)
        .await
        .map_err(failed(format!(
            "reading the policy of the topic {ALERT_TOPIC}"
        )))?;
    if current.is_none_or(|c| !same_json(&c, &policy)) {
        member
            .set_topic_policy(&topic_arn, &policy)
            .await
            .map_err(failed(format!(
                "writing the policy of the topic {ALERT_TOPIC}"
            )))?;
    }
    if let Some(queue) = &desired.alerts_queue_arn {
        let subscriptions = member
            .topic_subscriptions(&topic_arn)
            .await
            .map_err(failed(format!(
                "reading the subscriptions of {ALERT_TOPIC}"
            )))?;
        if !subscriptions
            .iter()
            .any(|s| s.protocol == "sqs" && s.endpoint == *queue)
        {
            member
                .subscribe(&topic_arn, "sqs", queue)
                .await
                .map_err(failed(format!(
                    "subscribing the alerts queue to {ALERT_TOPIC}"
                )))?;
        }
    }
    Ok(Ready {
        service_role_arn,
        topic_arn,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_documents_are_valid_json_once_filled() {
        let values = [
            ("MemberAccountId", "123456789012"),
            (
                "AutomationBusArn",
                "arn:aws:events:eu-west-1:111111111111:event-bus/default",
            ),
            (
                "TopicArn",
                "arn:aws:sns:eu-west-1:123456789012:SpaAlertTopic",
            ),
        ];
        for document in [
            CODEBUILD_TRUST,
            EVENTS_TRUST,
            EVENTS_ROLE_POLICY,
            ALERT_TOPIC_POLICY,
        ] {
            let filled = fill(document, &values);
            assert!(!filled.contains("${"), "{filled}");
            serde_json::from_str::<serde_json::Value>(&filled).unwrap();
        }
        assert!(same_json(r#"{"a": [1, 2]}"#, r#"{ "a":[1,2] }"#));
        assert!(!same_json(r#"{"a": [1, 2]}"#, r#"{"a": [2, 1]}"#));
    }
}
