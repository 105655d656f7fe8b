//! SES v2 on the SDK.

use async_trait::async_trait;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};

use super::{classify, text};
use crate::{AwsError, ErrorKind, Mail, api};

pub(crate) struct SdkMail {
    pub(crate) client: aws_sdk_sesv2::Client,
}

#[async_trait]
impl Mail for SdkMail {
    async fn send_raw(
        &self,
        from: &str,
        to: &[String],
        message: &[u8],
    ) -> Result<String, AwsError> {
        let raw = RawMessage::builder()
            .data(Blob::new(message))
            .build()
            .map_err(|e| {
                AwsError::new(api::SEND_EMAIL, ErrorKind::Terminal, "Build", e.to_string())
            })?;
        let output = self
            .client
            .send_email()
            .from_email_address(from)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(to.to_vec()))
                    .build(),
            )
            .content(EmailContent::builder().raw(raw).build())
            .send()
            .await
            .map_err(|e| classify(api::SEND_EMAIL, e))?;
        Ok(text(output.message_id()))
    }
}
