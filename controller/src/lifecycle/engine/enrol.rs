//! Taking on an account from an Organizations event (`MoveAccount`, `CreateAccountResult`)
//! without waiting for the next full observation: an account created by Control Tower and
//! moved into a managed OU is enrolled, tagged and prepared in the same minute.

use std::time::Duration;

use super::{Engine, Known, lock};
use crate::aws::AwsError;

impl Engine {
    /// Reads where `account` sits; when settings manage it (listed, or directly in a listed
    /// OU), the engine knows it from now on and works it at once. Says whether it is managed.
    /// Two reads (ListParents, DescribeAccount), and nothing written here.
    pub async fn enrol_from_event(&self, account: &str) -> Result<bool, AwsError> {
        if self.is_managed(account) {
            return Ok(true);
        }
        let config = self.config();
        let settings = &config.settings;
        let parent = self
            .aws
            .parents(account)
            .await?
            .into_iter()
            .next()
            .map(|p| p.id);
        let listed = settings
            .accounts
            .iter()
            .any(|item| item.identifier.value == account);
        let in_managed_unit = parent.as_ref().is_some_and(|parent| {
            settings
                .organizational_units
                .iter()
                .any(|item| &item.identifier.value == parent)
        });
        if !listed && !in_managed_unit {
            return Ok(false);
        }
        let details = self.aws.account(account).await?;
        if details.status != "ACTIVE" {
            return Ok(false);
        }
        self.accounts
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                account.to_string(),
                Known {
                    parent,
                    email: details.email,
                    tags: None,
                },
            );
        lock(&self.from_events).insert(account.to_string());
        tracing::info!(account, "enrolled from an Organizations event");
        self.queue.push(account, Duration::ZERO, false);
        Ok(true)
    }
}
