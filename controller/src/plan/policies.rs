//! The part of the plan about service control policies: documents created, updated (JSON
//! compared as JSON) and deleted, and attachments made and removed. Pure, like the rest of
//! the plan.
//!
//! What is destructive (it needs the same approval as a purge path): a document that
//! loosens (a statement removed or changed, or an `Allow` added), a deleted policy, and a
//! guardrail detached from a target settings still manage — except a per-state policy
//! leaving an account whose state no longer calls for it, which is the life cycle at work.
//!
//! What spa never touches: policies it did not create (a policy named like one of spa's but
//! without its tags is reported, not adopted), and, for a policy of settings, attachments
//! someone made outside the managed OUs and accounts.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Action, Destructive};
use crate::aws::TargetKind;
use crate::aws::policies::target_kind;
use crate::desired::{Desired, DesiredPolicy};
use crate::observe::{Observation, ObservedPolicy, POLICIES_TARGET};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyChange {
    /// The policy's name in Organizations: `<env>-<name>`.
    pub name: String,
    pub action: Action,
    /// The policy's id (update, delete).
    pub id: Option<String>,
    /// The description it will have (create, update) or had (delete).
    pub description: String,
    /// The document in AWS (update, delete).
    pub before: Option<String>,
    /// The document of settings, minified (create, update).
    pub after: Option<String>,
    /// Why the change needs approval, if it does.
    pub destructive: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachAction {
    Attach,
    Detach,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentChange {
    pub policy: String,
    /// `None` when the policy is created by the same plan.
    pub policy_id: Option<String>,
    pub target: String,
    pub target_kind: TargetKind,
    /// The OU's or the account's name, for readers.
    pub target_name: String,
    pub action: AttachAction,
    /// A per-state policy on an account: the state the account was observed in.
    pub state: Option<String>,
    pub destructive: Option<String>,
}

/// The policy part of a plan.
#[derive(Debug, Default)]
pub(super) struct PolicyPlan {
    pub policies: Vec<PolicyChange>,
    pub attachments: Vec<AttachmentChange>,
    pub destructive: Vec<Destructive>,
    pub skipped: Vec<String>,
}

/// The statements of a policy document: `Statement` as an array, or the one object.
fn statements(document: &str) -> Option<Vec<serde_json::Value>> {
    let value: serde_json::Value = serde_json::from_str(document).ok()?;
    match value.get("Statement")? {
        serde_json::Value::Array(items) => Some(items.clone()),
        single @ serde_json::Value::Object(_) => Some(vec![single.clone()]),
        _ => None,
    }
}

/// Why a new document loosens the guardrail, if it does: it keeps every statement of the
/// old one as it was and adds only `Deny` statements, or it loosens.
pub fn loosening(before: &str, after: &str) -> Option<String> {
    let (Some(old), Some(new)) = (statements(before), statements(after)) else {
        return Some("the document is rewritten".to_string());
    };
    let removed = old.iter().filter(|s| !new.contains(s)).count();
    let allows = new
        .iter()
        .filter(|s| !old.contains(s))
        .filter(|s| s.get("Effect").and_then(|e| e.as_str()) != Some("Deny"))
        .count();
    match (removed, allows) {
        (0, 0) => None,
        (0, n) => Some(format!("{n} statement(s) added that do not deny")),
        (n, _) => Some(format!("{n} statement(s) removed or changed")),
    }
}

fn same_document(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The readable name of a target: the OU's or the account's name, else the id.
fn target_name(observed: &Observation, target: &str) -> String {
    observed
        .organizational_units
        .get(target)
        .map(|u| u.name.clone())
        .or_else(|| observed.accounts.get(target).map(|a| a.name.clone()))
        .unwrap_or_else(|| target.to_string())
}

/// Whether settings manage the target: a listed OU that exists, or a managed account.
fn managed(observed: &Observation, target: &str) -> bool {
    observed.organizational_units.contains_key(target) || observed.accounts.contains_key(target)
}

/// Whether the account's state tag was read (a per-state attachment can be decided).
fn state_known(desired: &Desired, target: &str) -> bool {
    desired.accounts.contains_key(target)
}

pub(super) fn plan_policies(desired: &Desired, observed: &Observation) -> PolicyPlan {
    let mut out = PolicyPlan::default();
    if let Some(error) = observed.errors.iter().find(|e| e.target == POLICIES_TARGET) {
        out.skipped.push(format!(
            "service control policies: {} (no policy is changed)",
            error.message
        ));
        return out;
    }
    let owned = &observed.policies.owned;
    for (name, want) in &desired.policies {
        if observed.policies.foreign.contains(name) {
            out.skipped.push(format!(
                "policy {name}: a policy of that name exists but spa did not create it (it lacks the tags managed-by=spa and spa-environment={}); spa leaves it alone: rename or delete it for spa to create its own",
                desired.environment
            ));
            continue;
        }
        let have = owned.get(name);
        plan_document(&mut out, name, want, have);
        plan_attachments(&mut out, desired, observed, name, want, have);
    }
    for (name, have) in owned
        .iter()
        .filter(|(n, _)| !desired.policies.contains_key(*n))
    {
        out.destructive.push(Destructive {
            target: name.clone(),
            reason: format!(
                "policy {name} is removed from settings: detached from {} target(s) and deleted",
                have.targets.len()
            ),
        });
        for target in &have.targets {
            out.attachments.push(AttachmentChange {
                policy: name.clone(),
                policy_id: Some(have.id.clone()),
                target: target.id.clone(),
                target_kind: target.kind,
                target_name: target_name(observed, &target.id),
                action: AttachAction::Detach,
                state: None,
                destructive: Some("the policy is removed from settings".to_string()),
            });
        }
        out.policies.push(PolicyChange {
            name: name.clone(),
            action: Action::Delete,
            id: Some(have.id.clone()),
            description: have.description.clone(),
            before: Some(have.content.clone()),
            after: None,
            destructive: Some("removed from settings".to_string()),
        });
    }
    out.policies.sort_by(|a, b| a.name.cmp(&b.name));
    out.attachments
        .sort_by(|a, b| (&a.policy, &a.target).cmp(&(&b.policy, &b.target)));
    out
}

fn plan_document(
    out: &mut PolicyPlan,
    name: &str,
    want: &DesiredPolicy,
    have: Option<&ObservedPolicy>,
) {
    match have {
        None => out.policies.push(PolicyChange {
            name: name.to_string(),
            action: Action::Create,
            id: None,
            description: want.description.clone(),
            before: None,
            after: Some(want.content.clone()),
            destructive: None,
        }),
        Some(have)
            if !same_document(&have.content, &want.content)
                || have.description != want.description =>
        {
            let destructive = loosening(&have.content, &want.content);
            if let Some(reason) = &destructive {
                out.destructive.push(Destructive {
                    target: name.to_string(),
                    reason: format!("policy {name} is loosened: {reason}"),
                });
            }
            out.policies.push(PolicyChange {
                name: name.to_string(),
                action: Action::Update,
                id: Some(have.id.clone()),
                description: want.description.clone(),
                before: Some(have.content.clone()),
                after: Some(want.content.clone()),
                destructive,
            });
        }
        Some(_) => {}
    }
}

fn plan_attachments(
    out: &mut PolicyPlan,
    desired: &Desired,
    observed: &Observation,
    name: &str,
    want: &DesiredPolicy,
    have: Option<&ObservedPolicy>,
) {
    let attached: BTreeSet<&str> = have
        .map(|p| p.targets.iter().map(|t| t.id.as_str()).collect())
        .unwrap_or_default();
    for (target, state) in &want.targets {
        if !attached.contains(target.as_str()) {
            out.attachments.push(AttachmentChange {
                policy: name.to_string(),
                policy_id: have.map(|p| p.id.clone()),
                target: target.clone(),
                target_kind: target_kind(target),
                target_name: target_name(observed, target),
                action: AttachAction::Attach,
                state: state.clone(),
                destructive: None,
            });
        }
    }
    let Some(have) = have else {
        return;
    };
    for target in &have.targets {
        if want.targets.contains_key(&target.id) {
            continue;
        }
        let state_of = |id: &str| {
            observed
                .accounts
                .get(id)
                .and_then(|a| a.tags.as_ref())
                .and_then(|t| t.get(&desired.state_tag))
                .cloned()
        };
        let (state, destructive) = if want.per_state {
            if target.kind != TargetKind::Account {
                // spa attaches per-state policies to accounts only.
                (
                    None,
                    Some(format!(
                        "per-state policies are attached to accounts, not to {}",
                        target.id
                    )),
                )
            } else if !managed(observed, &target.id) {
                (None, Some("the account is no longer managed".to_string()))
            } else if !state_known(desired, &target.id) {
                // Its state could not be read: nothing is decided for it.
                continue;
            } else if targets_account(desired, name, observed, &target.id) {
                (state_of(&target.id), None)
            } else {
                (
                    state_of(&target.id),
                    Some("the account is no longer a target".to_string()),
                )
            }
        } else if managed(observed, &target.id) {
            (None, Some("no longer a target in settings".to_string()))
        } else {
            // Attached by someone outside what settings manage: not spa's to undo.
            continue;
        };
        if let Some(reason) = &destructive {
            out.destructive.push(Destructive {
                target: format!("{name} {}", target.id),
                reason: format!(
                    "policy {name} is detached from {} ({}): {reason}",
                    target.id,
                    target_name(observed, &target.id)
                ),
            });
        }
        out.attachments.push(AttachmentChange {
            policy: name.to_string(),
            policy_id: Some(have.id.clone()),
            target: target.id.clone(),
            target_kind: target.kind,
            target_name: target_name(observed, &target.id),
            action: AttachAction::Detach,
            state,
            destructive,
        });
    }
}

/// Whether a managed account is among a per-state policy's targets whatever its state: it
/// is when some state would attach the policy to it, i.e. settings name it or its OU. The
/// desired targets only hold accounts in a matching state, so ask the observation.
fn targets_account(desired: &Desired, name: &str, observed: &Observation, account: &str) -> bool {
    let Some(policy) = desired.policies.get(name) else {
        return false;
    };
    let parent = observed
        .accounts
        .get(account)
        .and_then(|a| a.parent.as_deref());
    policy
        .named
        .iter()
        .any(|t| t == account || Some(t.as_str()) == parent)
}

/// Policy changes by name, attachments by policy and target (for comparing plans).
pub(super) fn keyed(
    policies: &[PolicyChange],
    attachments: &[AttachmentChange],
) -> (
    BTreeMap<String, PolicyChange>,
    BTreeMap<(String, String), AttachmentChange>,
) {
    (
        policies
            .iter()
            .map(|p| (p.name.clone(), p.clone()))
            .collect(),
        attachments
            .iter()
            .map(|a| ((a.policy.clone(), a.target.clone()), a.clone()))
            .collect(),
    )
}
