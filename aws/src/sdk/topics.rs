//! SNS on the SDK.

use async_trait::async_trait;

use super::{classify, next};
use crate::{Api, AwsError, Page, Subscription, Topics, api};

pub(crate) struct SdkTopics {
    pub(crate) client: aws_sdk_sns::Client,
}

/// Every subscription of a topic, following NextToken (for the member's client, whose
/// calls are counted as one operation).
pub(crate) async fn subscriptions_of(
    client: &aws_sdk_sns::Client,
    topic_arn: &str,
    api: Api,
) -> Result<Vec<Subscription>, AwsError> {
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let page = page_of(client, topic_arn, token, api).await?;
        all.extend(page.items);
        match page.next_token {
            Some(next) => token = Some(next),
            None => return Ok(all),
        }
    }
}

async fn page_of(
    client: &aws_sdk_sns::Client,
    topic_arn: &str,
    next_token: Option<String>,
    api: Api,
) -> Result<Page<Subscription>, AwsError> {
    let output = client
        .list_subscriptions_by_topic()
        .topic_arn(topic_arn)
        .set_next_token(next_token)
        .send()
        .await
        .map_err(|e| classify(api, e))?;
    Ok(Page {
        items: output
            .subscriptions()
            .iter()
            .map(|s| Subscription {
                arn: s.subscription_arn().unwrap_or_default().to_string(),
                protocol: s.protocol().unwrap_or_default().to_string(),
                endpoint: s.endpoint().unwrap_or_default().to_string(),
            })
            .collect(),
        next_token: next(output.next_token()),
    })
}

#[async_trait]
impl Topics for SdkTopics {
    async fn publish(
        &self,
        topic_arn: &str,
        subject: &str,
        message: &str,
    ) -> Result<String, AwsError> {
        let output = self
            .client
            .publish()
            .topic_arn(topic_arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map_err(|e| classify(api::PUBLISH, e))?;
        Ok(output.message_id().unwrap_or_default().to_string())
    }

    async fn confirm_subscription(&self, topic_arn: &str, token: &str) -> Result<(), AwsError> {
        self.client
            .confirm_subscription()
            .topic_arn(topic_arn)
            .token(token)
            .send()
            .await
            .map_err(|e| classify(api::CONFIRM_SUBSCRIPTION, e))?;
        Ok(())
    }

    async fn list_subscriptions(
        &self,
        topic_arn: &str,
        next_token: Option<String>,
    ) -> Result<Page<Subscription>, AwsError> {
        page_of(
            &self.client,
            topic_arn,
            next_token,
            api::LIST_SUBSCRIPTIONS_BY_TOPIC,
        )
        .await
    }

    async fn subscribe_email(&self, topic_arn: &str, email: &str) -> Result<String, AwsError> {
        let output = self
            .client
            .subscribe()
            .topic_arn(topic_arn)
            .protocol("email")
            .endpoint(email)
            .send()
            .await
            .map_err(|e| classify(api::SUBSCRIBE, e))?;
        Ok(output
            .subscription_arn()
            .unwrap_or("PendingConfirmation")
            .to_string())
    }

    async fn unsubscribe(&self, subscription_arn: &str) -> Result<(), AwsError> {
        self.client
            .unsubscribe()
            .subscription_arn(subscription_arn)
            .send()
            .await
            .map_err(|e| classify(api::UNSUBSCRIBE, e))?;
        Ok(())
    }
}
