//! Per-state service control policies follow the account: when a step moves an account from
//! one state to another, the policies its new state calls for are attached and those its
//! old state called for are detached, before the state is written (an `expired` account is
//! closed before its purge starts). Only what changes between the two states is written:
//! two calls per account and cycle for a policy attached while `expired`.
//!
//! The policies are spa's own (created by the settings loop, named `<env>-<name>`, tagged):
//! their ids are looked up once and kept. A policy that does not exist yet is skipped: the
//! settings loop attaches it, when it creates it, to every account whose state calls for it.
//! A policy of that name that spa did not make is never attached (the plan reports it).

use std::sync::atomic::Ordering;

use spa_schema::AccountState;

use super::error::StepError;
use super::{Engine, lock};
use crate::aws::{AwsError, ErrorKind};
use crate::lifecycle::machine::State;
use crate::observe::owned;

impl Engine {
    /// Attaches and detaches the per-state policies of `account` (in the listed OU `parent`)
    /// for its move from `from` to `to`.
    pub(super) async fn follow_policies(
        &self,
        account: &str,
        parent: Option<&str>,
        from: Option<&str>,
        to: State,
    ) -> Result<(), StepError> {
        let config = self.config();
        let from = from.and_then(AccountState::parse);
        let Some(to) = AccountState::parse(to.as_str()) else {
            return Ok(());
        };
        let policies = config
            .settings
            .service_control_policies
            .iter()
            .filter(|p| p.is_per_state() && p.targets_account(account, parent));
        for policy in policies {
            let was = from.is_some_and(|s| policy.applies_in(s));
            let now = policy.applies_in(to);
            if was == now {
                continue;
            }
            let name = &policy.full_name;
            let failed = |error: AwsError| StepError::Policy {
                policy: name.clone(),
                attach: now,
                error,
            };
            let Some(id) = self.policy_id(name).await.map_err(failed)? else {
                continue;
            };
            let result = if now {
                self.aws.attach_policy(&id, account).await
            } else {
                self.aws.detach_policy(&id, account).await
            };
            if let Err(error) = result {
                if error.kind == ErrorKind::NotFound {
                    // Deleted and made again: look the id up anew next time.
                    lock(&self.policy_ids).remove(name);
                }
                return Err(failed(error));
            }
            self.policies_written.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    /// The id of spa's policy `name`, listed once and kept; `None` when spa has not made it.
    async fn policy_id(&self, name: &str) -> Result<Option<String>, AwsError> {
        if let Some(id) = lock(&self.policy_ids).get(name) {
            return Ok(Some(id.clone()));
        }
        let environment = self.config().environment().to_string();
        let policies = self.aws.service_control_policies().await?;
        let Some(summary) = policies
            .into_iter()
            .find(|p| p.name == name && !p.aws_managed)
        else {
            tracing::debug!(
                policy = name,
                "not created yet: the settings loop attaches it"
            );
            return Ok(None);
        };
        if !owned(&self.aws.policy_tags(&summary.id).await?, &environment) {
            tracing::warn!(
                policy = name,
                "a policy of this name exists but spa did not create it: never attached"
            );
            return Ok(None);
        }
        lock(&self.policy_ids).insert(name.to_string(), summary.id.clone());
        Ok(Some(summary.id))
    }

    /// Whether the engine attached or detached a policy since the last call (the settings
    /// loop then reads the policies again).
    pub fn take_policies_written(&self) -> bool {
        self.policies_written.swap(false, Ordering::Relaxed)
    }
}
