//! The tags of accounts as the engine knows them: read, written (all of a step in one
//! call), and the echoes of its own writes recognised when they come back as events.

use std::collections::BTreeMap;

use super::{Engine, Step, lock};
use crate::aws::{AwsError, Tag};
use crate::lifecycle::events::{Exception, exception as exception_entry};
use crate::lifecycle::machine::Event;

/// Organizations tag values: at most 256 characters of this set.
const TAG_VALUE_MAX: usize = 256;

/// How long a write of ours is recognised in the events that echo it.
const ECHO_WINDOW_MS: i64 = 600_000;

/// Organizations accepts only letters, digits, spaces and `_.:/=+-@` in tag values.
pub fn tag_value(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    cleaned.chars().take(TAG_VALUE_MAX).collect()
}

impl Engine {
    /// Is this Organizations tag event the echo of a write of ours (same keys, same values,
    /// in the last ten minutes)?
    pub fn is_echo(&self, account: &str, tags: &BTreeMap<String, String>) -> bool {
        let written = lock(&self.written);
        let Some((ours, at)) = written.get(account) else {
            return false;
        };
        let recent = self.now_ms() - at < ECHO_WINDOW_MS;
        let echo = recent && !tags.is_empty() && tags.iter().all(|(k, v)| ours.get(k) == Some(v));
        if echo {
            self.counters.echoes.inc();
        }
        echo
    }

    pub(super) fn remember_tags(&self, account: &str, tags: Option<BTreeMap<String, String>>) {
        if let Some(known) = self
            .accounts
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(account)
        {
            known.tags = tags;
        }
    }

    /// Forget the tags in memory: the next reconcile reads them (an event said they changed).
    pub fn invalidate(&self, account: &str) {
        self.remember_tags(account, None);
    }

    pub(super) async fn read_tags(
        &self,
        account: &str,
    ) -> Result<BTreeMap<String, String>, AwsError> {
        let tags = self.aws.tags(account).await?;
        let tags: BTreeMap<String, String> = tags.into_iter().map(|t| (t.key, t.value)).collect();
        self.remember_tags(account, Some(tags.clone()));
        Ok(tags)
    }

    pub(super) async fn write_tags(
        &self,
        account: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let list: Vec<Tag> = tags
            .iter()
            .map(|(key, value)| Tag {
                key: key.clone(),
                value: value.clone(),
            })
            .collect();
        self.aws.tag_resource(account, &list).await?;
        lock(&self.written).insert(account.to_string(), (tags.clone(), self.now_ms()));
        self.edit_known_tags(account, |current| current.extend(tags.clone()));
        Ok(())
    }

    pub(super) async fn untag(&self, account: &str, keys: &[String]) -> Result<(), AwsError> {
        self.aws.untag_resource(account, keys).await?;
        self.edit_known_tags(account, |current| {
            for key in keys {
                current.remove(key);
            }
        });
        Ok(())
    }

    /// Applies a write of ours to the tags in memory, when they are known.
    fn edit_known_tags(&self, account: &str, edit: impl FnOnce(&mut BTreeMap<String, String>)) {
        let mut accounts = self.accounts.write().unwrap_or_else(|p| p.into_inner());
        if let Some(current) = accounts.get_mut(account).and_then(|k| k.tags.as_mut()) {
            edit(current);
        }
    }

    /// Puts an exception on the bus, and hands it to the notifier (which never waits).
    pub async fn raise(&self, event: Event, exception: &Exception) -> Result<(), AwsError> {
        let config = self.config();
        if let Some(notifier) = &self.notifier {
            let targets = crate::notify::Targets::from_settings(
                &config.settings,
                self.options.exceptions_topic_arn.clone(),
                self.options.reports_bucket.as_deref(),
            );
            let mut account_tags = Vec::new();
            if let Some(known) = self.known(&exception.account) {
                if !known.email.is_empty() {
                    account_tags.push(("spa-account-email".to_string(), known.email.clone()));
                }
                if let Some(parent) = &known.parent {
                    account_tags.push(("spa-organizational-unit".to_string(), parent.clone()));
                }
                let cost_tag = config
                    .settings
                    .features
                    .with_cost_management_tag
                    .value
                    .clone();
                if let Some(cost) = known.tags.as_ref().and_then(|t| t.get(&cost_tag)) {
                    account_tags.push((cost_tag, cost.clone()));
                }
            }
            notifier.notify(
                &format!("{event:?}"),
                config.environment(),
                exception,
                account_tags,
                targets,
            );
        }
        self.emit(&[exception_entry(&config, event, exception)])
            .await
    }

    /// Parks `account` with a visible reason, and says so on the bus.
    pub(super) async fn park(
        &self,
        account: &str,
        reason: &str,
        event: Event,
    ) -> Result<(), AwsError> {
        let config = self.config();
        let tags = BTreeMap::from([(config.parked_tag(), tag_value(reason))]);
        self.write_tags(account, &tags).await?;
        self.counters.parked.inc();
        self.report(Step::Parked {
            account: account.to_string(),
            reason: reason.to_string(),
        });
        let state = self
            .known(account)
            .and_then(|k| k.tags)
            .and_then(|t| t.get(&config.state_tag()).cloned());
        let title = match state.as_deref() {
            Some(state) => format!("Account {account} is parked in state {state}"),
            None => format!("Account {account} is parked"),
        };
        let exception = Exception {
            account: account.to_string(),
            title,
            message: format!(
                "spa stopped moving the account: {reason}. Fix the cause, then move it on with `spa lifecycle set-state {account} STATE`."
            ),
            impact: None,
        };
        if let Err(error) = self.raise(event, &exception).await {
            tracing::warn!(account, "cannot emit the exception event: {error}");
        }
        Ok(())
    }
}
