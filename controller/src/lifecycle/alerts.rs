//! The alerts queue (`<env>Alerts`): SNS envelopes from the `SpaAlertTopic` of each managed
//! account, which AWS Budgets publishes to (docs/operations.md, "Exceptions").
//!
//! - a `SubscriptionConfirmation` from the alert topic of a managed account is confirmed (the
//!   subscription spa made at preparation, from the member account to this queue, waits for
//!   it); any other is refused;
//! - a `Notification` becomes a `BudgetAlertException` about the account that owns the topic
//!   (the 5th field of `TopicArn`);
//! - a body that is not an SNS envelope becomes a `GenericException` with the raw body
//!   (bounded), about the automation account;
//! - anything about an account settings do not manage is counted and dropped.
//!
//! Every message is deleted once handled; one that cannot be handled (the bus refuses the
//! event) is left for SQS to deliver again and, after the queue's receive count, to
//! dead-letter. A bad message never holds up the good ones behind it.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::engine::Engine;
use super::events::Exception;
use super::machine::Event;
use super::member::ALERT_TOPIC;
use crate::aws::Aws;

/// How much of an unreadable body an exception carries.
const RAW_BODY_LIMIT: usize = 2_000;

/// What a message of the alerts queue asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    /// Confirm the subscription of this topic to the queue.
    Confirm { topic_arn: String, token: String },
    /// Raise this exception.
    Raise(Event, Exception),
    /// Nothing to do, and why.
    Ignored(String),
}

/// The fields of an SNS envelope spa reads.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "TopicArn")]
    topic_arn: String,
    #[serde(rename = "Subject", default)]
    subject: Option<String>,
    #[serde(rename = "Message", default)]
    message: String,
    #[serde(rename = "Token", default)]
    token: Option<String>,
}

/// The account of an SNS topic ARN (`arn:aws:sns:<region>:<account>:<name>`) and its name.
pub fn topic_owner(topic_arn: &str) -> Option<(&str, &str)> {
    let fields: Vec<&str> = topic_arn.split(':').collect();
    match fields.as_slice() {
        ["arn", _, "sns", region, account, name]
            if !region.is_empty()
                && !name.is_empty()
                && spa_schema::check::account_id(account).is_ok() =>
        {
            Some((account, name))
        }
        _ => None,
    }
}

/// At most `limit` bytes of `text`, cut on a character boundary.
fn bounded(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

/// What to do with `body`; `managed` says whether settings manage an account, and
/// `automation_account` is who unreadable messages are reported about.
pub fn classify(body: &str, managed: impl Fn(&str) -> bool, automation_account: &str) -> Alert {
    let unreadable = |why: &str| {
        Alert::Raise(
            Event::GenericException,
            Exception {
                account: automation_account.to_string(),
                title: "An alert that spa cannot read".to_string(),
                message: format!(
                    "A message of the alerts queue {why}. Its body: {}",
                    bounded(body, RAW_BODY_LIMIT)
                ),
                impact: None,
            },
        )
    };
    let Ok(envelope) = serde_json::from_str::<Envelope>(body) else {
        return unreadable("is not an SNS envelope");
    };
    let Some((account, name)) = topic_owner(&envelope.topic_arn) else {
        return unreadable("names no SNS topic of an account");
    };
    if !managed(account) {
        return Alert::Ignored(format!("an alert from unmanaged account {account}"));
    }
    match envelope.kind.as_str() {
        "SubscriptionConfirmation" if name == ALERT_TOPIC => match envelope.token {
            Some(token) => Alert::Confirm {
                topic_arn: envelope.topic_arn,
                token,
            },
            None => unreadable("asks for a confirmation without a token"),
        },
        "SubscriptionConfirmation" => Alert::Ignored(format!(
            "a subscription of topic {name} of {account}, which spa did not make"
        )),
        "Notification" => Alert::Raise(
            Event::BudgetAlertException,
            Exception {
                account: account.to_string(),
                title: envelope
                    .subject
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or_else(|| format!("Budget alert on account {account}")),
                message: bounded(&envelope.message, 16 * 1024),
                impact: None,
            },
        ),
        other => Alert::Ignored(format!("an SNS message of type {other}")),
    }
}

/// Handles one message; true when it can be deleted.
async fn handle(engine: &Engine, aws: &Aws, body: &str) -> bool {
    let config = engine.config();
    let automation = config
        .settings
        .automation
        .account_id
        .as_ref()
        .map_or("000000000000", |a| a.value.as_str());
    match classify(body, |a| engine.is_managed(a), automation) {
        Alert::Confirm { topic_arn, token } => {
            match aws.confirm_subscription(&topic_arn, &token).await {
                Ok(()) => {
                    tracing::info!(topic_arn, "alerts: subscription confirmed");
                    true
                }
                Err(error) => {
                    tracing::warn!(
                        topic_arn,
                        "alerts: cannot confirm the subscription: {error}"
                    );
                    // A token is valid for three days; SQS delivers the message again.
                    false
                }
            }
        }
        Alert::Raise(event, exception) => {
            engine.counters.alerts.inc();
            match engine.raise(event, &exception).await {
                Ok(()) => true,
                Err(error) => {
                    tracing::warn!(
                        account = exception.account,
                        "alerts: cannot put the exception on the bus: {error}"
                    );
                    false
                }
            }
        }
        Alert::Ignored(what) => {
            engine.counters.alerts_ignored.inc();
            tracing::info!(what, "alerts: message dropped");
            true
        }
    }
}

/// Receives alerts until dropped. A queue that fails is retried with a pause.
pub async fn consume(engine: Arc<Engine>, aws: Aws, queue_url: String, wait_seconds: i32) {
    loop {
        let messages = match aws.receive_messages(&queue_url, 10, wait_seconds).await {
            Ok(messages) => messages,
            Err(error) => {
                tracing::warn!("cannot read the alerts queue: {error}");
                tokio::time::sleep(Duration::from_secs(10)).await;
                continue;
            }
        };
        for message in messages {
            if handle(&engine, &aws, &message.body).await
                && let Err(error) = aws.delete_message(&queue_url, &message.receipt).await
            {
                tracing::warn!("cannot delete an alerts message: {error}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "111111111111";
    const AUTOMATION: &str = "123456789012";

    fn classify(body: &str) -> Alert {
        super::classify(body, |a| a == A, AUTOMATION)
    }

    fn envelope(kind: &str, topic: &str, extra: serde_json::Value) -> String {
        let mut body = serde_json::json!({
            "Type": kind,
            "MessageId": "1",
            "TopicArn": topic,
            "Message": "AWS Budget Notification: 80% of 500 USD",
        });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body.to_string()
    }

    #[test]
    fn a_budget_notification_is_an_exception_about_the_topics_account() {
        let body = envelope(
            "Notification",
            &format!("arn:aws:sns:eu-west-1:{A}:SpaAlertTopic"),
            serde_json::json!({"Subject": "AWS Budgets: Monthly has exceeded"}),
        );
        assert_eq!(
            classify(&body),
            Alert::Raise(
                Event::BudgetAlertException,
                Exception {
                    account: A.into(),
                    title: "AWS Budgets: Monthly has exceeded".into(),
                    message: "AWS Budget Notification: 80% of 500 USD".into(),
                    impact: None,
                }
            )
        );
    }

    #[test]
    fn only_the_alert_topic_of_a_managed_account_is_confirmed() {
        let token = serde_json::json!({"Token": "t0k"});
        let ours = format!("arn:aws:sns:eu-west-1:{A}:SpaAlertTopic");
        assert_eq!(
            classify(&envelope("SubscriptionConfirmation", &ours, token.clone())),
            Alert::Confirm {
                topic_arn: ours,
                token: "t0k".into()
            }
        );
        let other = format!("arn:aws:sns:eu-west-1:{A}:SomethingElse");
        assert!(matches!(
            classify(&envelope("SubscriptionConfirmation", &other, token.clone())),
            Alert::Ignored(_)
        ));
        let stranger = "arn:aws:sns:eu-west-1:999999999999:SpaAlertTopic";
        assert!(matches!(
            classify(&envelope("SubscriptionConfirmation", stranger, token)),
            Alert::Ignored(_)
        ));
    }

    #[test]
    fn an_unreadable_body_is_a_bounded_generic_exception() {
        let body = "x".repeat(1_000_000);
        let Alert::Raise(event, exception) = classify(&body) else {
            panic!("not raised");
        };
        assert_eq!(event, Event::GenericException);
        assert_eq!(exception.account, AUTOMATION);
        assert!(exception.message.len() < RAW_BODY_LIMIT + 200);
        assert!(exception.message.ends_with("(1000000 bytes in all)"));
        for body in [
            "",
            "null",
            "{}",
            r#"{"Type":"Notification","TopicArn":"nope"}"#,
        ] {
            assert!(
                matches!(classify(body), Alert::Raise(Event::GenericException, _)),
                "{body}"
            );
        }
    }

    #[test]
    fn bounded_cuts_on_a_character_boundary() {
        assert_eq!(bounded("héllo", 2), "h… (6 bytes in all)");
        assert_eq!(bounded("abc", 3), "abc");
    }
}
