//! SNS of the automation account: publishing on the exceptions topic, and confirming the
//! subscriptions that member accounts' alert topics make to the alerts queue.

use async_trait::async_trait;

use crate::{Aws, AwsError, api};

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
}
