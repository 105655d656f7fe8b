//! SQS queues of the automation account, fed by EventBridge rules and SNS topics.

use async_trait::async_trait;

use crate::{Aws, AwsError, QueueMessage, api};

/// The backend of SQS.
#[async_trait]
pub trait Queues: Send + Sync {
    /// At most `max` (1 to 10) messages, waiting up to `wait_seconds` (0 to 20) for one.
    async fn receive(
        &self,
        queue_url: &str,
        max: i32,
        wait_seconds: i32,
    ) -> Result<Vec<QueueMessage>, AwsError>;
    async fn delete(&self, queue_url: &str, receipt: &str) -> Result<(), AwsError>;
    /// The ARN of a queue.
    async fn queue_arn(&self, queue_url: &str) -> Result<String, AwsError>;
}

impl Aws {
    pub async fn receive_messages(
        &self,
        queue_url: &str,
        max: i32,
        wait_seconds: i32,
    ) -> Result<Vec<QueueMessage>, AwsError> {
        let queues = &self.backends.queues;
        let (max, wait_seconds) = (max.clamp(1, 10), wait_seconds.clamp(0, 20));
        self.call(api::RECEIVE_MESSAGE, || {
            queues.receive(queue_url, max, wait_seconds)
        })
        .await
    }

    /// The ARN of a queue (to subscribe it to topics).
    pub async fn queue_arn(&self, queue_url: &str) -> Result<String, AwsError> {
        let queues = &self.backends.queues;
        self.call(api::GET_QUEUE_ATTRIBUTES, || queues.queue_arn(queue_url))
            .await
    }

    pub async fn delete_message(&self, queue_url: &str, receipt: &str) -> Result<(), AwsError> {
        let queues = &self.backends.queues;
        self.call(api::DELETE_MESSAGE, || queues.delete(queue_url, receipt))
            .await
    }
}
