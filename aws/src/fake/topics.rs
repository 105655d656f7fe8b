//! SNS of the automation account in memory: what was published, and the subscriptions
//! confirmed.

use std::sync::Mutex;

use async_trait::async_trait;

use super::{Behaviour, PAGE, not_found, paginate};
use crate::{AwsError, Page, Subscription, Topics, api};

#[derive(Debug, Default)]
pub struct FakeTopics {
    state: Mutex<TopicsState>,
    pub behaviour: Behaviour,
}

#[derive(Debug, Default)]
struct TopicsState {
    /// (topic, subject, message)
    published: Vec<(String, String, String)>,
    /// (topic, token)
    confirmed: Vec<(String, String)>,
    next: u64,
    /// Subscriptions by topic.
    subscriptions: std::collections::BTreeMap<String, Vec<Subscription>>,
}

impl FakeTopics {
    fn lock(&self) -> std::sync::MutexGuard<'_, TopicsState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Messages published, in order: (topic, subject, message).
    pub fn published(&self) -> Vec<(String, String, String)> {
        self.lock().published.clone()
    }

    pub fn confirmed(&self) -> Vec<(String, String)> {
        self.lock().confirmed.clone()
    }

    /// A topic that exists (with no subscription).
    pub fn create_topic(&self, topic_arn: &str) {
        self.lock()
            .subscriptions
            .entry(topic_arn.to_string())
            .or_default();
    }

    /// A subscription made by someone else (a person, another tool), confirmed.
    pub fn add_subscription(&self, topic_arn: &str, protocol: &str, endpoint: &str) {
        let mut state = self.lock();
        state.next += 1;
        let arn = format!("{topic_arn}:sub-{}", state.next);
        state
            .subscriptions
            .entry(topic_arn.to_string())
            .or_default()
            .push(Subscription {
                arn,
                protocol: protocol.to_string(),
                endpoint: endpoint.to_string(),
            });
    }

    /// The subscriptions of a topic.
    pub fn subscriptions_of(&self, topic_arn: &str) -> Vec<Subscription> {
        self.lock()
            .subscriptions
            .get(topic_arn)
            .cloned()
            .unwrap_or_default()
    }
}

#[async_trait]
impl Topics for FakeTopics {
    async fn publish(
        &self,
        topic_arn: &str,
        subject: &str,
        message: &str,
    ) -> Result<String, AwsError> {
        self.behaviour.enter(api::PUBLISH, topic_arn).await?;
        let mut state = self.lock();
        state.published.push((
            topic_arn.to_string(),
            subject.to_string(),
            message.to_string(),
        ));
        state.next += 1;
        Ok(format!("message-{}", state.next))
    }

    async fn confirm_subscription(&self, topic_arn: &str, token: &str) -> Result<(), AwsError> {
        self.behaviour
            .enter(api::CONFIRM_SUBSCRIPTION, topic_arn)
            .await?;
        self.lock()
            .confirmed
            .push((topic_arn.to_string(), token.to_string()));
        Ok(())
    }

    async fn list_subscriptions(
        &self,
        topic_arn: &str,
        next_token: Option<String>,
    ) -> Result<Page<Subscription>, AwsError> {
        self.behaviour
            .enter(api::LIST_SUBSCRIPTIONS_BY_TOPIC, topic_arn)
            .await?;
        let state = self.lock();
        let subscriptions = state
            .subscriptions
            .get(topic_arn)
            .ok_or_else(|| not_found(api::LIST_SUBSCRIPTIONS_BY_TOPIC, "NotFound", topic_arn))?;
        Ok(paginate(subscriptions, next_token, PAGE * 5))
    }

    /// An e-mail subscription waits for its confirmation, as on AWS.
    async fn subscribe_email(&self, topic_arn: &str, email: &str) -> Result<String, AwsError> {
        self.behaviour.enter(api::SUBSCRIBE, topic_arn).await?;
        let mut state = self.lock();
        let subscriptions = state
            .subscriptions
            .get_mut(topic_arn)
            .ok_or_else(|| not_found(api::SUBSCRIBE, "NotFound", topic_arn))?;
        if !subscriptions
            .iter()
            .any(|s| s.protocol == "email" && s.endpoint == email)
        {
            subscriptions.push(Subscription {
                arn: "PendingConfirmation".to_string(),
                protocol: "email".to_string(),
                endpoint: email.to_string(),
            });
        }
        Ok("PendingConfirmation".to_string())
    }

    async fn unsubscribe(&self, subscription_arn: &str) -> Result<(), AwsError> {
        self.behaviour
            .enter(api::UNSUBSCRIBE, subscription_arn)
            .await?;
        if subscription_arn == "PendingConfirmation" {
            return Err(AwsError::new(
                api::UNSUBSCRIBE,
                crate::ErrorKind::Terminal,
                "InvalidParameter",
                "a subscription pending confirmation cannot be removed",
            ));
        }
        let mut state = self.lock();
        for subscriptions in state.subscriptions.values_mut() {
            subscriptions.retain(|s| s.arn != subscription_arn);
        }
        Ok(())
    }
}
