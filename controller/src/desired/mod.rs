//! Desired state: what the settings say AWS should hold, given the observed organization
//! (which accounts are managed, which OU each sits in). Only what spa owns: the parameters
//! under `/<env>/` and, per managed account, the tags of its effective `account_tags`, the
//! removal of its `unset_tags`, the holder tag (kept if present, else the account e-mail),
//! and enrolment (`<prefix>state=vanilla`) when it has no state yet; the service control
//! policies of settings and their attachments (`policies`). Nothing else.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use spa_schema::model::ParameterTier;
use spa_schema::{Feature, Resolver, Settings};

use crate::aws::Tier;
use crate::observe::{Observation, by_size};

mod policies;

pub use policies::{DesiredPolicy, desired_policies};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// Compared as JSON: whitespace and key order are never a change.
    Json,
    /// Compared as text (buildspecs, documents).
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredParameter {
    pub value: String,
    pub kind: ValueKind,
    /// The tier spa asks for (`automation.parameter_tier`): by size with `standard`,
    /// `intelligent-tiering` or `advanced` as the strategy says.
    pub tier: Tier,
}

/// What the purge of an account will do, for classifying destructive changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgePath {
    pub enabled: bool,
    pub mode: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredAccount {
    /// Tags spa sets, key → value.
    pub set: BTreeMap<String, String>,
    /// Tags spa removes.
    pub unset: BTreeSet<String>,
    pub purge: PurgePath,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Desired {
    pub environment: String,
    pub commit: Option<String>,
    pub parameters: BTreeMap<String, DesiredParameter>,
    pub accounts: BTreeMap<String, DesiredAccount>,
    /// `automation.parameter_tier`: `Standard` (by size), `IntelligentTiering`, `Advanced`.
    #[serde(default = "standard")]
    pub tier_strategy: Tier,
    /// Service control policies by full name (`<env>-<name>`).
    #[serde(default)]
    pub policies: BTreeMap<String, DesiredPolicy>,
    /// The dashboard: its name and body.
    #[serde(default)]
    pub dashboard: Option<(String, String)>,
    /// The exceptions topic and the e-mail addresses subscribed to it, when settings own
    /// them (`features.with_email_subscriptions_on_alerts`).
    #[serde(default)]
    pub exceptions_subscriptions: Option<(String, BTreeSet<String>)>,
    pub state_tag: String,
    pub holder_tag: String,
    /// SHA-256 of the whole desired state (every CSV row included), hex.
    pub fingerprint: String,
}

fn standard() -> Tier {
    Tier::Standard
}

/// The tier strategy of settings.
fn strategy(settings: &Settings) -> Tier {
    match settings.automation.parameter_tier.value {
        ParameterTier::Standard => Tier::Standard,
        ParameterTier::IntelligentTiering => Tier::IntelligentTiering,
        ParameterTier::Advanced => Tier::Advanced,
    }
}

fn purge_path(effective: &spa_schema::Effective<'_>) -> PurgePath {
    PurgePath {
        enabled: *effective.purge.feature.value == Feature::Enabled,
        mode: effective
            .purge
            .variables
            .get("PURGE_MODE")
            .map(|v| v.value.text.clone()),
    }
}

/// Computes the desired state. Accounts whose tags could not be observed get no tag
/// changes (their state is unknown); the plan says they were skipped.
pub fn desired(settings: &Settings, observed: &Observation, commit: Option<&str>) -> Desired {
    let environment = settings.environment_identifier.value.clone();
    let resolver = Resolver::new(settings);
    let state_tag = settings.state_tag();
    let holder_tag = settings.holder_tag();
    let tier_strategy = strategy(settings);
    let tier = |value: &str| match tier_strategy {
        Tier::Standard => by_size(value),
        other => other,
    };
    let mut parameters = BTreeMap::new();
    let mut json = |name: String, value: serde_json::Value| {
        let text = value.to_string();
        parameters.insert(
            name,
            DesiredParameter {
                tier: tier(&text),
                value: text,
                kind: ValueKind::Json,
            },
        );
    };
    for unit in &settings.organizational_units {
        let id = &unit.identifier.value;
        json(
            format!("/{environment}/OrganizationalUnits/{id}"),
            resolver.organizational_unit(id).to_published_json(),
        );
    }
    let accounts_published = settings.features.with_account_parameters.value;
    for id in settings
        .listed_accounts()
        .into_iter()
        .filter(|_| accounts_published)
    {
        let parent = observed.accounts.get(id).and_then(|a| a.parent.as_deref());
        json(
            format!("/{environment}/Accounts/{id}"),
            resolver.account(id, parent).to_published_json(),
        );
    }
    let mut text = |name: String, value: &str| {
        parameters.insert(
            name,
            DesiredParameter {
                tier: tier(value),
                value: value.to_string(),
                kind: ValueKind::Text,
            },
        );
    };
    if let Some(buildspec) = &settings.preparation_buildspec {
        text(
            format!("/{environment}/PreparationBuildspecTemplate"),
            &buildspec.text,
        );
    }
    if let Some(buildspec) = &settings.purge_buildspec {
        text(
            format!("/{environment}/PurgeBuildspecTemplate"),
            &buildspec.text,
        );
    }
    for (label, document) in &settings.documents {
        text(format!("/{environment}/Documents/{label}"), &document.text);
    }

    let mut accounts = BTreeMap::new();
    for account in observed.accounts.values() {
        let Some(tags) = &account.tags else {
            continue;
        };
        let effective = resolver.account(&account.id, account.parent.as_deref());
        let mut set: BTreeMap<String, String> = effective
            .account_tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.value.clone()))
            .collect();
        if !tags.contains_key(&holder_tag) {
            set.insert(holder_tag.clone(), account.email.clone());
        }
        if !tags.contains_key(&state_tag) {
            set.insert(state_tag.clone(), "vanilla".to_string());
        }
        // A key both set (at some level) and unset (at another) is set: the more specific
        // statement wins, and removing what we set would flap.
        let unset = effective
            .unset_tags
            .as_ref()
            .map(|u| {
                u.value
                    .iter()
                    .filter(|k| !set.contains_key(*k))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        accounts.insert(
            account.id.clone(),
            DesiredAccount {
                set,
                unset,
                purge: purge_path(&effective),
            },
        );
    }
    let policies = desired_policies(settings, observed, &state_tag);
    let mut desired = Desired {
        environment,
        commit: commit.map(str::to_string),
        parameters,
        accounts,
        tier_strategy,
        policies,
        dashboard: Some({
            let region = crate::monitoring::dashboard::region(settings);
            (
                crate::monitoring::dashboard::name(settings, &region),
                crate::monitoring::dashboard::body(settings, &region),
            )
        }),
        exceptions_subscriptions: (!settings
            .features
            .with_email_subscriptions_on_alerts
            .is_empty())
        .then(|| crate::observe::exceptions_topic_arn(settings))
        .flatten()
        .map(|topic| {
            (
                topic,
                settings
                    .features
                    .with_email_subscriptions_on_alerts
                    .iter()
                    .map(|e| e.value.to_lowercase())
                    .collect(),
            )
        }),
        state_tag,
        holder_tag,
        fingerprint: String::new(),
    };
    // The fingerprint covers the content, not the commit it came from: two commits that
    // resolve to the same state have the same fingerprint.
    let content = serde_json::json!({
        "environment": desired.environment,
        "parameters": desired.parameters,
        "accounts": desired.accounts,
        "tier_strategy": desired.tier_strategy,
        "policies": desired.policies,
        "dashboard": desired.dashboard,
        "exceptions_subscriptions": desired.exceptions_subscriptions,
    });
    let digest = Sha256::digest(content.to_string().as_bytes());
    desired.fingerprint = digest.iter().map(|b| format!("{b:02x}")).collect();
    desired
}
