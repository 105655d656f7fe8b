//! SES v2 in memory: raw messages kept as sent, from verified senders only.

use std::collections::BTreeSet;
use std::sync::Mutex;

use async_trait::async_trait;

use super::Behaviour;
use crate::mail::MAX_MESSAGE_BYTES;
use crate::{AwsError, ErrorKind, Mail, api};

/// A message as SES received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    pub from: String,
    pub to: Vec<String>,
    pub raw: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct FakeMail {
    verified: Mutex<BTreeSet<String>>,
    sent: Mutex<Vec<SentMail>>,
    pub behaviour: Behaviour,
}

impl FakeMail {
    /// An identity SES may send from.
    pub fn verify(&self, address: &str) {
        self.verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(address.to_lowercase());
    }

    pub fn sent(&self) -> Vec<SentMail> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The address of `"Name" <address>` or of a bare address.
fn address(from: &str) -> String {
    match (from.rfind('<'), from.rfind('>')) {
        (Some(start), Some(end)) if start < end => from[start + 1..end].to_lowercase(),
        _ => from.trim().to_lowercase(),
    }
}

#[async_trait]
impl Mail for FakeMail {
    async fn send_raw(
        &self,
        from: &str,
        to: &[String],
        message: &[u8],
    ) -> Result<String, AwsError> {
        self.behaviour.enter(api::SEND_EMAIL, from).await?;
        let sender = address(from);
        let domain = sender.rsplit('@').next().unwrap_or_default().to_string();
        let verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if !verified.contains(&sender) && !verified.contains(&domain) {
            return Err(AwsError::new(
                api::SEND_EMAIL,
                ErrorKind::Terminal,
                "MessageRejected",
                format!(
                    "Email address is not verified. The following identities failed the check in region EU-WEST-1: {sender}"
                ),
            ));
        }
        drop(verified);
        if message.len() > MAX_MESSAGE_BYTES {
            return Err(AwsError::new(
                api::SEND_EMAIL,
                ErrorKind::Terminal,
                "MessageRejected",
                "Message length is more than 40 MB",
            ));
        }
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.push(SentMail {
            from: from.to_string(),
            to: to.to_vec(),
            raw: message.to_vec(),
        });
        Ok(format!("fake-message-{}", sent.len()))
    }
}
