//! The plan: a pure, deterministic, serialisable diff between the desired state and the
//! observed one. No I/O, no clock, no async: the same inputs give the same bytes.
//!
//! Destructive changes are classified and listed first: an account that would start being
//! purged (purge switching to enabled, an account moving onto a purge path, `PURGE_MODE`
//! becoming `--force`), parameter deletions, and guardrails loosened, detached or deleted
//! (`policies`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::aws::Tier;
use crate::desired::{Desired, PurgePath, ValueKind};
use crate::observe::Observation;

mod dashboard;
mod policies;
mod quota;
mod subscriptions;

pub use dashboard::DashboardChange;
pub use policies::{AttachAction, AttachmentChange, PolicyChange, loosening};
pub use quota::ParameterStoreUsage;
pub use subscriptions::{SubscriptionAction, SubscriptionChange};

/// Bumped when the JSON shape of a plan changes incompatibly (docs/plan-format.md).
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterChange {
    pub name: String,
    pub action: Action,
    pub kind: ValueKind,
    /// The observed value (update, delete).
    pub before: Option<String>,
    /// The desired value (create, update).
    pub after: Option<String>,
    pub tier: Tier,
    /// The tier moves from standard to advanced.
    pub tier_change: bool,
    pub destructive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TagAction {
    Add,
    Change,
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagChange {
    pub key: String,
    pub action: TagAction,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountChange {
    pub account: String,
    pub name: String,
    /// The listed OU the account sits in, if any.
    pub organizational_unit: Option<String>,
    pub tags: Vec<TagChange>,
    /// Why this change is destructive (empty when it is not).
    pub destructive: Vec<String>,
}

impl AccountChange {
    /// Tags to set in one TagResource call.
    pub fn to_set(&self) -> Vec<(&str, &str)> {
        self.tags
            .iter()
            .filter(|t| t.action != TagAction::Remove)
            .filter_map(|t| t.after.as_deref().map(|v| (t.key.as_str(), v)))
            .collect()
    }

    /// Tag keys to remove in one UntagResource call.
    pub fn to_remove(&self) -> Vec<&str> {
        self.tags
            .iter()
            .filter(|t| t.action == TagAction::Remove)
            .map(|t| t.key.as_str())
            .collect()
    }
}

/// One line of the "destructive" section, listed first by every rendering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destructive {
    /// An account id, a parameter name, a policy name, or a policy name and a target.
    pub target: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub remove: usize,
    pub destructive: usize,
    pub accounts: usize,
    pub parameters: usize,
    /// Policy documents and attachments that change.
    #[serde(default)]
    pub policies: usize,
}

impl Summary {
    /// Adds the e-mail subscriptions made (add) and removed (remove).
    fn count_subscriptions(&mut self, subscriptions: &[SubscriptionChange]) {
        for change in subscriptions {
            match change.action {
                SubscriptionAction::Subscribe => self.add += 1,
                SubscriptionAction::Unsubscribe => self.remove += 1,
            }
        }
    }

    /// Counts parameter, tag and policy changes (destructive lines are counted by the caller).
    fn of(
        parameters: &[ParameterChange],
        accounts: &[AccountChange],
        policies: &[PolicyChange],
        attachments: &[AttachmentChange],
        dashboard: Option<&DashboardChange>,
    ) -> Summary {
        let mut summary = Summary::default();
        match dashboard.map(|d| d.action) {
            Some(Action::Create) => summary.add += 1,
            Some(_) => summary.change += 1,
            None => {}
        }
        for change in policies {
            match change.action {
                Action::Create => summary.add += 1,
                Action::Update => summary.change += 1,
                Action::Delete => summary.remove += 1,
            }
        }
        for change in attachments {
            match change.action {
                AttachAction::Attach => summary.add += 1,
                AttachAction::Detach => summary.remove += 1,
            }
        }
        summary.policies = policies.len() + attachments.len();
        for change in parameters {
            match change.action {
                Action::Create => summary.add += 1,
                Action::Update => summary.change += 1,
                Action::Delete => summary.remove += 1,
            }
        }
        for change in accounts.iter().flat_map(|a| &a.tags) {
            match change.action {
                TagAction::Add => summary.add += 1,
                TagAction::Change => summary.change += 1,
                TagAction::Remove => summary.remove += 1,
            }
        }
        summary.accounts = accounts.iter().filter(|a| !a.tags.is_empty()).count();
        summary.parameters = parameters.len();
        summary
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub environment: String,
    /// The settings commit the plan was computed from.
    pub commit: Option<String>,
    pub desired_fingerprint: String,
    pub observed_fingerprint: String,
    /// False when some reads failed: the plan then covers only what was observed, and
    /// `skipped` says what was left out. Apply refuses an incomplete plan.
    pub complete: bool,
    pub skipped: Vec<String>,
    /// Names of the listed organizational units, by id (for readers).
    pub organizational_units: BTreeMap<String, String>,
    pub no_changes: bool,
    pub summary: Summary,
    pub destructive: Vec<Destructive>,
    pub parameters: Vec<ParameterChange>,
    pub accounts: Vec<AccountChange>,
    /// Service control policies created, updated, deleted.
    #[serde(default)]
    pub policies: Vec<PolicyChange>,
    /// Policies attached to and detached from OUs and accounts.
    #[serde(default)]
    pub attachments: Vec<AttachmentChange>,
    /// What Parameter Store will hold after the plan, against its quotas (`None` when the
    /// account's parameters could not be counted).
    #[serde(default)]
    pub parameter_store: Option<ParameterStoreUsage>,
    /// Why the plan cannot be applied at all: apply refuses it before any write.
    #[serde(default)]
    pub blockers: Vec<String>,
    /// The dashboard `<env>Cockpit-<region>`, created or repaired.
    #[serde(default)]
    pub dashboard: Option<DashboardChange>,
    /// E-mail subscriptions of the exceptions topic made and removed.
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionChange>,
}

/// Two values equal as JSON are equal: whitespace and key order never make a change.
fn same_value(kind: ValueKind, observed: &str, desired: &str) -> bool {
    match kind {
        ValueKind::Text => observed == desired,
        ValueKind::Json => match (
            serde_json::from_str::<serde_json::Value>(observed),
            serde_json::from_str::<serde_json::Value>(desired),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => observed == desired,
        },
    }
}

/// The purge path an account was on, from the parameters the previous settings published:
/// its own, else its OU's. `None` when it was not managed.
fn previous_purge(
    observed: &Observation,
    account: &str,
    parent: Option<&str>,
) -> Option<PurgePath> {
    let prefix = Observation::parameter_prefix(&observed.environment);
    let own = observed
        .parameters
        .get(&format!("{prefix}Accounts/{account}"));
    let unit = parent.and_then(|p| {
        observed
            .parameters
            .get(&format!("{prefix}OrganizationalUnits/{p}"))
    });
    purge_of(&own.or(unit)?.value)
}

/// The purge path written in a published JSON value (`purge.feature`, `PURGE_MODE`).
fn purge_of(value: &str) -> Option<PurgePath> {
    let value: serde_json::Value = serde_json::from_str(value).ok()?;
    let purge = value.get("purge")?;
    Some(PurgePath {
        enabled: purge.get("feature").and_then(|f| f.as_str()) == Some("enabled"),
        mode: purge
            .get("variables")
            .and_then(|v| v.get("PURGE_MODE"))
            .and_then(|m| m.as_str())
            .map(str::to_string),
    })
}

fn purge_reasons(before: Option<&PurgePath>, after: &PurgePath) -> Vec<String> {
    if !after.enabled {
        return Vec::new();
    }
    let mode = after.mode.as_deref().unwrap_or("--dry-run");
    let consequence = if mode == "--force" {
        "PURGE_MODE --force: resources will be deleted"
    } else {
        "PURGE_MODE --dry-run"
    };
    match before {
        None => vec![format!("enters a purge path ({consequence})")],
        Some(before) if !before.enabled => vec![format!("purge becomes enabled ({consequence})")],
        Some(before) if mode == "--force" && before.mode.as_deref() != Some("--force") => {
            vec!["PURGE_MODE becomes --force: resources will be deleted".to_string()]
        }
        Some(_) => Vec::new(),
    }
}

/// The plan from `desired` to `observed`. Pure and deterministic.
pub fn plan(desired: &Desired, observed: &Observation) -> Plan {
    let prefix = Observation::parameter_prefix(&desired.environment);
    let mut parameters = Vec::new();
    for (name, want) in &desired.parameters {
        match observed.parameters.get(name) {
            None => parameters.push(ParameterChange {
                name: name.clone(),
                action: Action::Create,
                kind: want.kind,
                before: None,
                after: Some(want.value.clone()),
                tier: want.tier,
                tier_change: false,
                destructive: false,
            }),
            Some(have) => {
                // An advanced parameter cannot go back to standard: it stays advanced.
                let was_advanced = have.tier() == Tier::Advanced;
                let tier = if was_advanced && want.tier == Tier::Standard {
                    Tier::Advanced
                } else {
                    want.tier
                };
                let tier_change = !was_advanced && want.tier == Tier::Advanced;
                if !same_value(want.kind, &have.value, &want.value) || tier_change {
                    parameters.push(ParameterChange {
                        name: name.clone(),
                        action: Action::Update,
                        kind: want.kind,
                        before: Some(have.value.clone()),
                        after: Some(want.value.clone()),
                        tier,
                        tier_change,
                        destructive: false,
                    });
                }
            }
        }
    }
    // Deletions only under /<env>/, and only when the parameter read succeeded.
    let parameters_read = !observed.errors.iter().any(|e| e.target == prefix);
    if parameters_read {
        for (name, have) in &observed.parameters {
            if name.starts_with(&prefix) && !desired.parameters.contains_key(name) {
                let kind = if have.value.trim_start().starts_with('{') {
                    ValueKind::Json
                } else {
                    ValueKind::Text
                };
                parameters.push(ParameterChange {
                    name: name.clone(),
                    action: Action::Delete,
                    kind,
                    before: Some(have.value.clone()),
                    after: None,
                    tier: have.tier(),
                    tier_change: false,
                    destructive: true,
                });
            }
        }
    }
    parameters.sort_by(|a, b| a.name.cmp(&b.name));

    let mut accounts = Vec::new();
    let mut skipped = Vec::new();
    for (id, account) in &observed.accounts {
        let (Some(have), Some(want)) = (&account.tags, desired.accounts.get(id)) else {
            skipped.push(format!("account {id}: its tags could not be read"));
            continue;
        };
        let mut tags = Vec::new();
        for (key, value) in &want.set {
            match have.get(key) {
                None => tags.push(TagChange {
                    key: key.clone(),
                    action: TagAction::Add,
                    before: None,
                    after: Some(value.clone()),
                }),
                Some(current) if current != value => tags.push(TagChange {
                    key: key.clone(),
                    action: TagAction::Change,
                    before: Some(current.clone()),
                    after: Some(value.clone()),
                }),
                Some(_) => {}
            }
        }
        for key in &want.unset {
            if let Some(current) = have.get(key) {
                tags.push(TagChange {
                    key: key.clone(),
                    action: TagAction::Remove,
                    before: Some(current.clone()),
                    after: None,
                });
            }
        }
        // An account being enrolled (no state yet) was not managed before, whatever its
        // OU's parameter says: moving an account into a purged OU puts it on a purge path.
        let enrolling = !have.contains_key(&desired.state_tag);
        let before = if enrolling {
            None
        } else {
            previous_purge(observed, id, account.parent.as_deref())
        };
        let destructive = purge_reasons(before.as_ref(), &want.purge);
        if !tags.is_empty() || !destructive.is_empty() {
            accounts.push(AccountChange {
                account: id.clone(),
                name: account.name.clone(),
                organizational_unit: account.parent.clone(),
                tags,
                destructive,
            });
        }
    }

    let mut destructive: Vec<Destructive> = accounts
        .iter()
        .flat_map(|a| {
            a.destructive.iter().map(|reason| Destructive {
                target: a.account.clone(),
                reason: format!("account {} ({}) {reason}", a.account, a.name),
            })
        })
        .collect();
    destructive.extend(
        parameters
            .iter()
            .filter(|p| p.destructive)
            .map(|p| Destructive {
                target: p.name.clone(),
                reason: format!("parameter {} is deleted", p.name),
            }),
    );

    let (parameter_store, blockers) = quota::parameter_store(desired, observed, &parameters);
    let policy_plan = policies::plan_policies(desired, observed);
    destructive.extend(policy_plan.destructive);
    skipped.extend(policy_plan.skipped);
    let (dashboard, dashboard_skipped) = dashboard::plan_dashboard(desired, observed);
    skipped.extend(dashboard_skipped);
    let (subscriptions, subscription_notes) = subscriptions::plan_subscriptions(desired, observed);
    skipped.extend(subscription_notes);
    let mut summary = Summary {
        destructive: destructive.len(),
        ..Summary::of(
            &parameters,
            &accounts,
            &policy_plan.policies,
            &policy_plan.attachments,
            dashboard.as_ref(),
        )
    };
    summary.count_subscriptions(&subscriptions);
    skipped.extend(
        observed
            .errors
            .iter()
            .filter(|e| e.target == prefix)
            .map(|e| {
                format!(
                    "parameters under {prefix}: {} (no parameter is deleted)",
                    e.message
                )
            }),
    );
    let no_changes = parameters.is_empty()
        && accounts.iter().all(|a| a.tags.is_empty())
        && policy_plan.policies.is_empty()
        && policy_plan.attachments.is_empty()
        && dashboard.is_none()
        && subscriptions.is_empty();
    Plan {
        format_version: FORMAT_VERSION,
        environment: desired.environment.clone(),
        commit: desired.commit.clone(),
        desired_fingerprint: desired.fingerprint.clone(),
        observed_fingerprint: observed.fingerprint.clone(),
        complete: observed.complete,
        skipped,
        organizational_units: observed
            .organizational_units
            .values()
            .map(|u| (u.id.clone(), u.name.clone()))
            .collect(),
        no_changes,
        summary,
        destructive,
        parameters,
        accounts,
        policies: policy_plan.policies,
        attachments: policy_plan.attachments,
        parameter_store,
        blockers,
        dashboard,
        subscriptions,
    }
}

/// How many distinct keys `items` have.
fn saved_len<T>(items: &[T], key: impl Fn(&T) -> &String) -> usize {
    items
        .iter()
        .map(key)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// Purge transitions between two desired states, read from the parameters they publish (for
/// `spa diff`, which has no observed accounts): every listed account and OU whose purge
/// becomes enabled or whose PURGE_MODE becomes --force.
pub fn purge_transitions(before: &Desired, after: &Desired) -> Vec<Destructive> {
    let mut out = Vec::new();
    for (name, parameter) in &after.parameters {
        if parameter.kind != ValueKind::Json {
            continue;
        }
        let Some(now) = purge_of(&parameter.value) else {
            continue;
        };
        let was = before.parameters.get(name).and_then(|p| purge_of(&p.value));
        for reason in purge_reasons(was.as_ref(), &now) {
            let what = name.rsplit('/').next().unwrap_or(name);
            out.push(Destructive {
                target: name.clone(),
                reason: format!("{what} {reason}"),
            });
        }
    }
    out
}

impl Plan {
    /// What differs between this plan (saved earlier) and `now` (computed now), item by item,
    /// at most `limit` lines: empty when they are the same plan. Every field counts, so that
    /// a saved plan edited by hand is never mistaken for the computed one.
    pub fn differences(&self, now: &Plan, limit: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut differ = |what: String| {
            if out.len() < limit {
                out.push(what);
            }
        };
        let header = |p: &Plan| {
            serde_json::json!({
                "format_version": p.format_version,
                "environment": p.environment,
                "commit": p.commit,
                "desired_fingerprint": p.desired_fingerprint,
                "observed_fingerprint": p.observed_fingerprint,
                "complete": p.complete,
                "skipped": p.skipped,
                "organizational_units": p.organizational_units,
                "no_changes": p.no_changes,
                "summary": p.summary,
                "destructive": p.destructive,
                "parameter_store": p.parameter_store,
                "blockers": p.blockers,
                "dashboard": p.dashboard,
                "subscriptions": p.subscriptions,
            })
        };
        if header(self) != header(now) {
            differ(
                "its header (commit, fingerprints, summary, destructive changes or blockers)"
                    .to_string(),
            );
        }
        let saved: BTreeMap<&str, &ParameterChange> = self
            .parameters
            .iter()
            .map(|p| (p.name.as_str(), p))
            .collect();
        let computed: BTreeMap<&str, &ParameterChange> = now
            .parameters
            .iter()
            .map(|p| (p.name.as_str(), p))
            .collect();
        for (name, change) in &saved {
            match computed.get(name) {
                None => differ(format!("parameter {name}: in the saved plan only")),
                Some(other) if other != change => differ(format!("parameter {name}: changed")),
                Some(_) => {}
            }
        }
        for name in computed.keys().filter(|n| !saved.contains_key(*n)) {
            differ(format!("parameter {name}: missing from the saved plan"));
        }
        let saved: BTreeMap<&str, &AccountChange> = self
            .accounts
            .iter()
            .map(|a| (a.account.as_str(), a))
            .collect();
        let computed: BTreeMap<&str, &AccountChange> = now
            .accounts
            .iter()
            .map(|a| (a.account.as_str(), a))
            .collect();
        for (id, change) in &saved {
            match computed.get(id) {
                None => differ(format!("account {id}: in the saved plan only")),
                Some(other) if other != change => differ(format!("account {id}: changed")),
                Some(_) => {}
            }
        }
        for id in computed.keys().filter(|a| !saved.contains_key(*a)) {
            differ(format!("account {id}: missing from the saved plan"));
        }
        let (saved_policies, saved_attachments) =
            policies::keyed(&self.policies, &self.attachments);
        let (computed_policies, computed_attachments) =
            policies::keyed(&now.policies, &now.attachments);
        for (name, change) in &saved_policies {
            match computed_policies.get(name) {
                None => differ(format!("policy {name}: in the saved plan only")),
                Some(other) if other != change => differ(format!("policy {name}: changed")),
                Some(_) => {}
            }
        }
        for name in computed_policies
            .keys()
            .filter(|n| !saved_policies.contains_key(*n))
        {
            differ(format!("policy {name}: missing from the saved plan"));
        }
        for ((policy, target), change) in &saved_attachments {
            let key = (policy.clone(), target.clone());
            match computed_attachments.get(&key) {
                None => differ(format!(
                    "attachment of {policy} to {target}: in the saved plan only"
                )),
                Some(other) if other != change => {
                    differ(format!("attachment of {policy} to {target}: changed"))
                }
                Some(_) => {}
            }
        }
        for (policy, target) in computed_attachments
            .keys()
            .filter(|k| !saved_attachments.contains_key(*k))
        {
            differ(format!(
                "attachment of {policy} to {target}: missing from the saved plan"
            ));
        }
        // Items listed twice in a file are not the computed plan either.
        if self.parameters.len() != saved_len(&self.parameters, |p| &p.name)
            || self.accounts.len() != saved_len(&self.accounts, |a| &a.account)
            || self.policies.len() != saved_policies.len()
            || self.attachments.len() != saved_attachments.len()
        {
            differ("an item listed twice".to_string());
        }
        out
    }

    /// The plan without its destructive changes, for a controller that may only apply the
    /// rest: parameter deletions are dropped, and so are the parameters that would put an
    /// account on a purge path (its own and its OU's), loosened or deleted policies and
    /// detached guardrails. Tag changes stay: none is destructive.
    pub fn without_destructive(&self) -> Plan {
        let prefix = Observation::parameter_prefix(&self.environment);
        let mut withheld: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        for account in self.accounts.iter().filter(|a| !a.destructive.is_empty()) {
            withheld.insert(format!("{prefix}Accounts/{}", account.account));
            if let Some(unit) = &account.organizational_unit {
                withheld.insert(format!("{prefix}OrganizationalUnits/{unit}"));
            }
        }
        let parameters: Vec<ParameterChange> = self
            .parameters
            .iter()
            .filter(|p| !p.destructive && !withheld.contains(&p.name))
            .cloned()
            .collect();
        let accounts: Vec<AccountChange> = self
            .accounts
            .iter()
            .filter(|a| !a.tags.is_empty())
            .map(|a| AccountChange {
                destructive: Vec::new(),
                ..a.clone()
            })
            .collect();
        let policies: Vec<PolicyChange> = self
            .policies
            .iter()
            .filter(|p| p.destructive.is_none())
            .cloned()
            .collect();
        let attachments: Vec<AttachmentChange> = self
            .attachments
            .iter()
            .filter(|a| a.destructive.is_none())
            .cloned()
            .collect();
        let mut summary = Summary::of(
            &parameters,
            &accounts,
            &policies,
            &attachments,
            self.dashboard.as_ref(),
        );
        summary.count_subscriptions(&self.subscriptions);
        Plan {
            no_changes: parameters.is_empty()
                && accounts.is_empty()
                && policies.is_empty()
                && attachments.is_empty()
                && self.dashboard.is_none()
                && self.subscriptions.is_empty(),
            summary,
            destructive: Vec::new(),
            parameters,
            accounts,
            policies,
            attachments,
            ..self.clone()
        }
    }

    /// Drops the per-state attachments decided on a state the account has left since it was
    /// observed (`state_now`: what the life cycle knows now). The life cycle attaches and
    /// detaches those itself when it moves an account; a plan from an older observation must
    /// not undo that.
    pub fn without_stale_states(mut self, state_now: impl Fn(&str) -> Option<String>) -> Plan {
        let before = self.attachments.len();
        self.attachments.retain(|a| {
            a.state.is_none() || a.destructive.is_some() || state_now(&a.target) == a.state
        });
        if self.attachments.len() != before {
            self.summary = Summary {
                destructive: self.summary.destructive,
                ..Summary::of(
                    &self.parameters,
                    &self.accounts,
                    &self.policies,
                    &self.attachments,
                    self.dashboard.as_ref(),
                )
            };
            self.summary.count_subscriptions(&self.subscriptions);
            self.no_changes = self.parameters.is_empty()
                && self.accounts.iter().all(|a| a.tags.is_empty())
                && self.policies.is_empty()
                && self.attachments.is_empty()
                && self.dashboard.is_none()
                && self.subscriptions.is_empty();
        }
        self
    }

    /// What [`Plan::without_destructive`] leaves out: the destructive lines and the changes
    /// they stand for (parameters that delete or put accounts on a purge path, destructive
    /// policy changes and detachments), with the accounts concerned. What an operator
    /// approves (`spa approve`).
    pub fn withheld(&self) -> Plan {
        let kept = self.without_destructive();
        let kept_parameters: std::collections::BTreeSet<&str> =
            kept.parameters.iter().map(|p| p.name.as_str()).collect();
        let parameters: Vec<ParameterChange> = self
            .parameters
            .iter()
            .filter(|p| !kept_parameters.contains(p.name.as_str()))
            .cloned()
            .collect();
        let accounts: Vec<AccountChange> = self
            .accounts
            .iter()
            .filter(|a| !a.destructive.is_empty())
            .map(|a| AccountChange {
                tags: Vec::new(),
                ..a.clone()
            })
            .collect();
        let policies: Vec<PolicyChange> = self
            .policies
            .iter()
            .filter(|p| p.destructive.is_some())
            .cloned()
            .collect();
        let attachments: Vec<AttachmentChange> = self
            .attachments
            .iter()
            .filter(|a| a.destructive.is_some())
            .cloned()
            .collect();
        Plan {
            summary: Summary {
                destructive: self.destructive.len(),
                ..Summary::of(&parameters, &accounts, &policies, &attachments, None)
            },
            no_changes: self.destructive.is_empty(),
            parameters,
            accounts,
            policies,
            attachments,
            dashboard: None,
            subscriptions: Vec::new(),
            ..self.clone()
        }
    }

    /// The fingerprint of the withheld part, `None` when nothing is destructive: the
    /// settings it comes from (commit and desired state) and every withheld change with its
    /// before and after. An approval names it; any other destructive change, or the same
    /// ones from other settings or against another AWS state, has another fingerprint.
    pub fn withheld_fingerprint(&self) -> Option<String> {
        use sha2::{Digest, Sha256};
        if self.destructive.is_empty() {
            return None;
        }
        let withheld = self.withheld();
        let content = serde_json::json!({
            "environment": withheld.environment,
            "commit": withheld.commit,
            "desired_fingerprint": withheld.desired_fingerprint,
            "destructive": withheld.destructive,
            "parameters": withheld.parameters,
            "accounts": withheld.accounts,
            "policies": withheld.policies,
            "attachments": withheld.attachments,
        });
        let digest = Sha256::digest(content.to_string().as_bytes());
        Some(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}
