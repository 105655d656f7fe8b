//! The part of the plan about the e-mail subscriptions of the exceptions topic, which
//! settings own when `features.with_email_subscriptions_on_alerts` lists addresses: the
//! addresses listed are subscribed (each receives a confirmation e-mail), the e-mail
//! subscriptions not listed are removed. Other protocols (a queue, a function, a chat
//! bridge) are not spa's and never touched; a subscription still waiting for its
//! confirmation cannot be removed (AWS lets it lapse after 48 hours).

use serde::{Deserialize, Serialize};

use crate::desired::Desired;
use crate::observe::{Observation, TOPIC_TARGET};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionAction {
    Subscribe,
    Unsubscribe,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionChange {
    pub topic: String,
    pub email: String,
    pub action: SubscriptionAction,
    /// The subscription's ARN (unsubscribe).
    pub arn: Option<String>,
}

/// The changes, and what could not be planned.
pub(super) fn plan_subscriptions(
    desired: &Desired,
    observed: &Observation,
) -> (Vec<SubscriptionChange>, Vec<String>) {
    let mut notes = Vec::new();
    let Some((topic, emails)) = &desired.exceptions_subscriptions else {
        return (Vec::new(), notes);
    };
    if let Some(error) = observed.errors.iter().find(|e| e.target == TOPIC_TARGET) {
        notes.push(format!(
            "e-mail subscriptions of {topic}: {} (none is changed)",
            error.message
        ));
        return (Vec::new(), notes);
    }
    let Some(have) = observed
        .exceptions_topic
        .as_ref()
        .filter(|t| t.arn == *topic)
    else {
        return (Vec::new(), notes);
    };
    if !have.exists {
        notes.push(format!(
            "e-mail subscriptions of {topic}: the topic does not exist; the automation stack creates it (docs/install.md)"
        ));
        return (Vec::new(), notes);
    }
    let mut changes: Vec<SubscriptionChange> = emails
        .iter()
        .filter(|email| !have.emails.contains_key(*email))
        .map(|email| SubscriptionChange {
            topic: topic.clone(),
            email: email.clone(),
            action: SubscriptionAction::Subscribe,
            arn: None,
        })
        .collect();
    for (email, arn) in &have.emails {
        if emails.contains(email) {
            continue;
        }
        if arn == "PendingConfirmation" {
            notes.push(format!(
                "e-mail subscription of {email} to {topic}: not removed, it waits for its confirmation (AWS drops it after 48 hours)"
            ));
            continue;
        }
        changes.push(SubscriptionChange {
            topic: topic.clone(),
            email: email.clone(),
            action: SubscriptionAction::Unsubscribe,
            arn: Some(arn.clone()),
        });
    }
    changes.sort_by(|a, b| (&a.email, a.action).cmp(&(&b.email, b.action)));
    (changes, notes)
}
