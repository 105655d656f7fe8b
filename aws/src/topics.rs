//! SNS of the automation account: the exceptions topic and its e-mail subscriptions, and
//! confirming the subscriptions that member accounts' alert topics make to the alerts queue.

use async_trait::async_trait;

use crate::{Aws, AwsError, Subscription, api};

/// The backend of SNS.
#[async_trait]
pub trait Topics: Send + Sync {
    /// Publishes a message; returns its id.
    async fn publish(
        &self,
        topic_arn: &str,
        subject: &str,
        message: &str,
    ) -> Result<String, AwsError>;
    /// One page of the subscriptions of a topic.
    async fn subscriptions(
        &self,
        topic_arn: &str,
        next_token: Option<String>,
    ) -> Result<crate::Page<Subscription>, AwsError>;
    async fn subscribe(
        &self,
        topic_arn: &str,
        protocol: &str,
        endpoint: &str,
    ) -> Result<(), AwsError>;
    async fn unsubscribe(&self, subscription_arn: &str) -> Result<(), AwsError>;
    async fn confirm_subscription(&self, topic_arn: &str, token: &str) -> Result<(), AwsError>;
}

impl Aws {
    pub async fn publish(
        &self,
        topic_arn: &str,
        subject: &str,
        message: &str,
    ) -> Result<String, AwsError> {
        let topics = &self.backends.topics;
        self.call(api::PUBLISH, || topics.publish(topic_arn, subject, message))
            .await
    }

    /// Every subscription of a topic.
    pub async fn subscriptions(&self, topic_arn: &str) -> Result<Vec<Subscription>, AwsError> {
        let topics = &self.backends.topics;
        self.all_pages(api::LIST_SUBSCRIPTIONS_BY_TOPIC, |t| {
            topics.subscriptions(topic_arn, t)
        })
        .await
    }

    pub async fn subscribe(
        &self,
        topic_arn: &str,
        protocol: &str,
        endpoint: &str,
    ) -> Result<(), AwsError> {
        let topics = &self.backends.topics;
        self.call(api::SUBSCRIBE, || {
            topics.subscribe(topic_arn, protocol, endpoint)
        })
        .await
    }

    pub async fn unsubscribe(&self, subscription_arn: &str) -> Result<(), AwsError> {
        let topics = &self.backends.topics;
        self.call(api::UNSUBSCRIBE, || topics.unsubscribe(subscription_arn))
            .await
    }

    pub async fn confirm_subscription(&self, topic_arn: &str, token: &str) -> Result<(), AwsError> {
        let topics = &self.backends.topics;
        self.call(api::CONFIRM_SUBSCRIPTION, || {
            topics.confirm_subscription(topic_arn, token)
        })
        .await
    }
}
