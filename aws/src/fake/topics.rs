//! SNS topics of the automation account in memory: what was published, the subscriptions,
//! and the subscriptions confirmed.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Behaviour, paginate};
use crate::{AwsError, ErrorKind, Page, Subscription, Topics, api};

/// SNS list pages hold 100 subscriptions.
const PAGE: usize = 100;

#[derive(Debug, Default)]
pub struct FakeTopics {
    state: Mutex<TopicsState>,
    pub behaviour: Behaviour,
}

#[derive(Debug, Default)]
struct TopicsState {
    /// (topic, subject, message)
    published: Vec<(String, String, String)>,
    subscriptions: BTreeMap<String, Vec<Subscription>>,
    /// (topic, token)
    confirmed: Vec<(String, String)>,
    next: u64,
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

    /// The endpoints subscribed to `topic`.
    pub fn endpoints(&self, topic: &str) -> Vec<String> {
        self.lock()
            .subscriptions
            .get(topic)
            .map(|s| s.iter().map(|s| s.endpoint.clone()).collect())
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

    async fn subscriptions(
        &self,
        topic_arn: &str,
        next_token: Option<String>,
    ) -> Result<Page<Subscription>, AwsError> {
        self.behaviour
            .enter(api::LIST_SUBSCRIPTIONS_BY_TOPIC, topic_arn)
            .await?;
        let all = self
            .lock()
            .subscriptions
            .get(topic_arn)
            .cloned()
            .unwrap_or_default();
        Ok(paginate(&all, next_token, PAGE))
    }

    async fn subscribe(
        &self,
        topic_arn: &str,
        protocol: &str,
        endpoint: &str,
    ) -> Result<(), AwsError> {
        self.behaviour.enter(api::SUBSCRIBE, topic_arn).await?;
        let mut state = self.lock();
        state.next += 1;
        let arn = format!("{topic_arn}:{:08}", state.next);
        let subscriptions = state
            .subscriptions
            .entry(topic_arn.to_string())
            .or_default();
        if !subscriptions
            .iter()
            .any(|s| s.protocol == protocol && s.endpoint == endpoint)
        {
            subscriptions.push(Subscription {
                arn,
                protocol: protocol.to_string(),
                endpoint: endpoint.to_string(),
            });
        }
        Ok(())
    }

    async fn unsubscribe(&self, subscription_arn: &str) -> Result<(), AwsError> {
        self.behaviour
            .enter(api::UNSUBSCRIBE, subscription_arn)
            .await?;
        let mut state = self.lock();
        let mut found = false;
        for subscriptions in state.subscriptions.values_mut() {
            let before = subscriptions.len();
            subscriptions.retain(|s| s.arn != subscription_arn);
            found |= subscriptions.len() != before;
        }
        if found {
            Ok(())
        } else {
            Err(AwsError::new(
                api::UNSUBSCRIBE,
                ErrorKind::NotFound,
                "NotFound",
                format!("no subscription {subscription_arn}"),
            ))
        }
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
}
