//! SNS of the automation account in memory: what was published, and the subscriptions
//! confirmed.

use std::sync::Mutex;

use async_trait::async_trait;

use super::Behaviour;
use crate::{AwsError, Topics, api};

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
}
