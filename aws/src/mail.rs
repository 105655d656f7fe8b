//! E-mail through SES v2 of the automation account: raw MIME messages, built above.

use async_trait::async_trait;

use crate::{Aws, AwsError, ErrorKind, api};

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
        // SES would refuse it after the upload: refused here, before any call.
        if message.len() > MAX_MESSAGE_BYTES {
            return Err(AwsError::new(
                api::SEND_EMAIL,
                ErrorKind::Terminal,
                "MessageRejected",
                format!(
                    "the message is {} bytes: SES takes at most {MAX_MESSAGE_BYTES}",
                    message.len()
                ),
            ));
        }
        let mail = &self.backends.mail;
        self.call(api::SEND_EMAIL, || mail.send_raw(from, to, message))
            .await
    }
}

#[cfg(test)]
mod tests {
    use crate::fake::Fakes;
    use crate::{ErrorKind, api};

    #[tokio::test]
    async fn a_message_past_the_limit_is_refused_before_any_call() {
        let fakes = Fakes::default();
        let message = vec![b'a'; super::MAX_MESSAGE_BYTES + 1];
        let error = fakes
            .aws()
            .send_raw_email("spa@example.com", &["finops@example.com".into()], &message)
            .await
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Terminal);
        assert!(error.to_string().contains("at most"), "{error}");
        assert_eq!(fakes.mail.behaviour.served.calls(api::SEND_EMAIL), 0);
    }
}
