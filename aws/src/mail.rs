//! E-mail through SES v2 of the automation account: raw MIME messages, built above.

use async_trait::async_trait;

use crate::{Aws, AwsError, api};

/// SES refuses a message above 40 MB (after encoding).
pub const MAX_MESSAGE_BYTES: usize = 40 * 1024 * 1024;

/// The backend of SES v2.
#[async_trait]
pub trait Mail: Send + Sync {
    /// Sends a raw MIME message; the message id SES gives it.
    async fn send_raw(&self, from: &str, to: &[String], message: &[u8])
    -> Result<String, AwsError>;
}

impl Aws {
    /// Sends a raw MIME message from `from` to `to`; SES's message id.
    pub async fn send_raw_email(
        &self,
        from: &str,
        to: &[String],
        message: &[u8],
    ) -> Result<String, AwsError> {
        let mail = &self.backends.mail;
        self.call(api::SEND_EMAIL, || mail.send_raw(from, to, message))
            .await
    }
}
