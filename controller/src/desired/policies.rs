//! The service control policies settings declare, and where each should be attached now:
//! a policy without `states` on its OUs and accounts for good; a per-state policy on each
//! managed account of its targets whose state tag is one of its `states`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use spa_schema::{AccountState, Settings};

use crate::observe::Observation;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredPolicy {
    pub description: String,
    /// The document, minified: what spa sends.
    pub content: String,
    /// Follows the life cycle (has `states`).
    pub per_state: bool,
    /// The OUs and accounts settings name as its targets.
    pub named: Vec<String>,
    /// Where it should be attached now: target id → for a per-state policy, the state the
    /// account was observed in (the reason it is attached).
    pub targets: BTreeMap<String, Option<String>>,
}

/// What AWS keeps when no description is given.
fn description(settings: &Settings, policy: &spa_schema::ServiceControlPolicy) -> String {
    policy.description.as_ref().map_or_else(
        || {
            format!(
                "Managed by spa for {} ({})",
                settings.environment_identifier.value, policy.file.path
            )
        },
        |d| d.value.clone(),
    )
}

/// Desired policies by full name (`<env>-<name>`).
pub fn desired_policies(
    settings: &Settings,
    observed: &Observation,
    state_tag: &str,
) -> BTreeMap<String, DesiredPolicy> {
    let mut out = BTreeMap::new();
    for policy in &settings.service_control_policies {
        let mut targets = BTreeMap::new();
        if policy.is_per_state() {
            for account in observed.accounts.values() {
                if !policy.targets_account(&account.id, account.parent.as_deref()) {
                    continue;
                }
                let state = account
                    .tags
                    .as_ref()
                    .and_then(|t| t.get(state_tag))
                    .and_then(|s| AccountState::parse(s));
                if let Some(state) = state
                    && policy.applies_in(state)
                {
                    targets.insert(account.id.clone(), Some(state.as_str().to_string()));
                }
            }
        } else {
            for unit in &policy.organizational_units {
                if observed.organizational_units.contains_key(&unit.value) {
                    targets.insert(unit.value.clone(), None);
                }
            }
            for account in &policy.accounts {
                if observed.accounts.contains_key(&account.value) {
                    targets.insert(account.value.clone(), None);
                }
            }
        }
        out.insert(
            policy.full_name.clone(),
            DesiredPolicy {
                description: description(settings, policy),
                content: policy.minified.clone(),
                per_state: policy.is_per_state(),
                named: policy
                    .organizational_units
                    .iter()
                    .chain(&policy.accounts)
                    .map(|t| t.value.clone())
                    .collect(),
                targets,
            },
        );
    }
    out
}
