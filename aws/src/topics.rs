//! SNS of the automation account: publishing on the exceptions topic and keeping its
//! e-mail subscriptions, and confirming the subscriptions that member accounts' alert topics
//! make to the alerts queue.

use async_trait::async_trait;

use crate::{Aws, AwsError, Page, Subscription, api};

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
    async fn confirm_subscription(&self, topic_arn: &str, token: &str) -> Result<(), AwsError>;
    async fn list_subscriptions(
        &self,
        topic_arn: &str,
        next_token: Option<String>,
    ) -> Result<Page<Subscription>, AwsError>;
    /// Subscribes an e-mail address (it receives a confirmation e-mail); the subscription's
    /// ARN, or `PendingConfirmation`.
    async fn subscribe_email(&self, topic_arn: &str, email: &str) -> Result<String, AwsError>;
    async fn unsubscribe(&self, subscription_arn: &str) -> Result<(), AwsError>;
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

    pub async fn confirm_subscription(&self, topic_arn: &str, token: &str) -> Result<(), AwsError> {
        let topics = &self.backends.topics;
        self.call(api::CONFIRM_SUBSCRIPTION, || {
            topics.confirm_subscription(topic_arn, token)
        })
        .await
    }

    /// Every subscription of a topic of the automation account.
    pub async fn subscriptions(&self, topic_arn: &str) -> Result<Vec<Subscription>, AwsError> {
        let topics = &self.backends.topics;
        self.all_pages(api::LIST_SUBSCRIPTIONS_BY_TOPIC, |t| {
            topics.list_subscriptions(topic_arn, t)
        })
        .await
    }

    pub async fn subscribe_email(&self, topic_arn: &str, email: &str) -> Result<String, AwsError> {
        let topics = &self.backends.topics;
        self.call(api::SUBSCRIBE, || topics.subscribe_email(topic_arn, email))
            .await
    }

    pub async fn unsubscribe(&self, subscription_arn: &str) -> Result<(), AwsError> {
        let topics = &self.backends.topics;
        self.call(api::UNSUBSCRIBE, || topics.unsubscribe(subscription_arn))
            .await
    }
}
