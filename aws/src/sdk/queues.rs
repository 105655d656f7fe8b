//! SQS on the SDK.

use async_trait::async_trait;

use super::classify;
use crate::{AwsError, QueueMessage, Queues, api};

pub(crate) struct SdkQueues {
    pub(crate) client: aws_sdk_sqs::Client,
}

#[async_trait]
impl Queues for SdkQueues {
    async fn receive(
        &self,
        queue_url: &str,
        max: i32,
        wait_seconds: i32,
    ) -> Result<Vec<QueueMessage>, AwsError> {
        let output = self
            .client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(max)
            .wait_time_seconds(wait_seconds)
            .send()
            .await
            .map_err(|e| classify(api::RECEIVE_MESSAGE, e))?;
        Ok(output
            .messages()
            .iter()
            .map(|m| QueueMessage {
                receipt: m.receipt_handle().unwrap_or_default().to_string(),
                body: m.body().unwrap_or_default().to_string(),
            })
            .collect())
    }

    async fn delete(&self, queue_url: &str, receipt: &str) -> Result<(), AwsError> {
        self.client
            .delete_message()
            .queue_url(queue_url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| classify(api::DELETE_MESSAGE, e))?;
        Ok(())
    }

    async fn queue_arn(&self, queue_url: &str) -> Result<String, AwsError> {
        use aws_sdk_sqs::types::QueueAttributeName;
        let output = self
            .client
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| classify(api::GET_QUEUE_ATTRIBUTES, e))?;
        output
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .ok_or_else(|| {
                AwsError::new(
                    api::GET_QUEUE_ATTRIBUTES,
                    crate::ErrorKind::NotFound,
                    "",
                    format!("no ARN for the queue {queue_url}"),
                )
            })
    }
}
