//! Observation: a read-only snapshot of what spa owns in AWS — the listed organizational
//! units and their direct child accounts, the listed accounts, the tags of every managed
//! account, the parameters under `/<env>/` and the service control policies spa made — with
//! a fingerprint.
//!
//! Calls are the minimum the quotas allow: ListRoots once; per listed OU one
//! DescribeOrganizationalUnit and ⌈n/20⌉ ListAccountsForParent pages (never ListParents per
//! account); DescribeAccount only for listed accounts found under no listed OU; one
//! ListTagsForResource per managed account (bounded concurrency, started as soon as the
//! account is known); ⌈P/10⌉ GetParametersByPath pages and ⌈A/50⌉ DescribeParameters pages
//! for the A parameters of the account; the policies as `policies` says; one GetDashboard.
//! Accounts outside the managed scope
//! are never read beyond the listing that proves they are out of scope.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use spa_schema::Settings;

use crate::aws::{Account, Aws, AwsError, ErrorKind};

mod parameters;
mod policies;
mod subscriptions;

pub use subscriptions::{ObservedTopic, exceptions_topic_arn, observe_topic};
/// The target of observation errors about the exceptions topic.
pub const TOPIC_TARGET: &str = "exceptions topic";
pub use parameters::{ObservedParameter, ParameterUsage, by_size, observe_parameters};
pub use policies::{
    ENVIRONMENT_TAG, MANAGED_BY, ObservedPolicies, ObservedPolicy, name_prefix, observe_policies,
    owned, ownership_tags,
};

/// The target of observation errors about service control policies.
pub const POLICIES_TARGET: &str = "service control policies";
/// The target of observation errors about the dashboard.
pub const DASHBOARD_TARGET: &str = "dashboard";

/// The dashboard `<env>Cockpit-<region>` as CloudWatch has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedDashboard {
    pub name: String,
    /// Its body; `None` when it does not exist.
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedUnit {
    pub id: String,
    pub name: String,
    /// Direct child accounts, sorted.
    pub accounts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedAccount {
    pub id: String,
    pub name: String,
    pub email: String,
    pub status: String,
    /// The listed OU the account sits in; `None` for a listed account outside listed OUs.
    pub parent: Option<String>,
    /// Listed by identifier in `accounts` or a CSV file.
    pub listed: bool,
    /// `None` when the tags could not be read (see `errors`).
    pub tags: Option<BTreeMap<String, String>>,
}

/// A read that failed; the observation is then incomplete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObserveError {
    /// What was being read: an account id, an OU id, a parameter path, `organization`.
    pub target: String,
    pub api: String,
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    pub environment: String,
    pub root_id: Option<String>,
    pub organizational_units: BTreeMap<String, ObservedUnit>,
    /// Managed accounts only.
    pub accounts: BTreeMap<String, ObservedAccount>,
    /// Parameters under `/<env>/`.
    pub parameters: BTreeMap<String, ObservedParameter>,
    /// What the account and region hold beside them (`None`: not read).
    #[serde(default)]
    pub parameter_usage: Option<ParameterUsage>,
    /// The service control policies spa made for this environment.
    #[serde(default)]
    pub policies: ObservedPolicies,
    /// The dashboard (`None`: not read, as in `spa diff`).
    #[serde(default)]
    pub dashboard: Option<ObservedDashboard>,
    /// The exceptions topic and its e-mail subscriptions (`None`: settings own none).
    #[serde(default)]
    pub exceptions_topic: Option<ObservedTopic>,
    /// Listed in settings, absent from the organization.
    #[serde(default)]
    pub missing_organizational_units: Vec<String>,
    #[serde(default)]
    pub missing_accounts: Vec<String>,
    #[serde(default)]
    pub errors: Vec<ObserveError>,
    /// True only when every read succeeded. A partial observation must never be planned
    /// against as if it were the whole truth.
    pub complete: bool,
    /// SHA-256 of everything observed (not of errors), hex.
    #[serde(default)]
    pub fingerprint: String,
}

impl Observation {
    pub fn parameter_prefix(environment: &str) -> String {
        format!("/{environment}/")
    }

    /// Managed accounts counted per value of the state tag (`(none)` when absent).
    pub fn counts_by_state(&self, state_tag: &str) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for account in self.accounts.values() {
            let state = account
                .tags
                .as_ref()
                .and_then(|t| t.get(state_tag).cloned())
                .unwrap_or_else(|| "(none)".to_string());
            *counts.entry(state).or_default() += 1;
        }
        counts
    }

    /// Sets the fingerprint from the content (for observations built by hand, in tests).
    pub fn fingerprinted(mut self) -> Observation {
        self.fingerprint = self.compute_fingerprint();
        self
    }

    fn compute_fingerprint(&self) -> String {
        let content = serde_json::json!({
            "environment": self.environment,
            "root_id": self.root_id,
            "organizational_units": self.organizational_units,
            "accounts": self.accounts,
            "parameters": self.parameters,
            "parameter_usage": self.parameter_usage,
            "policies": self.policies,
            "dashboard": self.dashboard,
            "exceptions_topic": self.exceptions_topic,
            "missing_organizational_units": self.missing_organizational_units,
            "missing_accounts": self.missing_accounts,
        });
        let digest = Sha256::digest(content.to_string().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn error(target: &str, e: &AwsError) -> ObserveError {
    ObserveError {
        target: target.to_string(),
        api: e.api.to_string(),
        kind: e.kind,
        message: e.to_string(),
    }
}

/// What a previous observation lets the next one skip: between full resyncs, the
/// controller re-reads only what changed, what it wrote, and what events point at.
#[derive(Debug, Clone)]
pub struct Reuse<'a> {
    pub previous: &'a Observation,
    /// Accounts whose tags must be read again (spa wrote them, an event named them).
    pub dirty_accounts: BTreeSet<String>,
    /// Read the parameters again (spa wrote some).
    pub parameters: bool,
    /// Read the service control policies again (spa wrote some, or attached or detached one).
    pub policies: bool,
    /// Read the dashboard again (spa wrote it).
    pub dashboard: bool,
    /// Read the exceptions topic's subscriptions again (spa changed them).
    pub subscriptions: bool,
}

/// How far an observation is, for people waiting on it: accounts found by the listings,
/// and accounts whose tags are read (ListTagsForResource runs at 10 a second: 10,000
/// accounts take about 17 minutes).
#[derive(Debug, Default)]
pub struct Progress {
    pub accounts_found: std::sync::atomic::AtomicUsize,
    pub tags_read: std::sync::atomic::AtomicUsize,
    /// Every listing is done: `accounts_found` is final.
    pub listed: std::sync::atomic::AtomicBool,
}

/// Observes what `settings` manage. Never writes. Failures are recorded, never hidden: the
/// result says whether it is complete.
pub async fn observe(aws: &Aws, settings: &Settings) -> Observation {
    observe_with(aws, settings, None, &Progress::default()).await
}

/// [`observe`], counting how far it is in `progress`.
pub async fn observe_reporting(aws: &Aws, settings: &Settings, progress: &Progress) -> Observation {
    observe_with(aws, settings, None, progress).await
}

/// Observes again, reusing what `reuse.previous` knows: OU memberships and the tags of
/// accounts that are not dirty. OUs and accounts the previous observation did not cover
/// (new in settings, or unreadable then) are read in full.
pub async fn observe_incremental(aws: &Aws, settings: &Settings, reuse: &Reuse<'_>) -> Observation {
    observe_with(aws, settings, Some(reuse), &Progress::default()).await
}

async fn observe_with(
    aws: &Aws,
    settings: &Settings,
    reuse: Option<&Reuse<'_>>,
    progress: &Progress,
) -> Observation {
    use std::sync::atomic::Ordering::Relaxed;
    let previous = reuse.map(|r| r.previous);
    let environment = settings.environment_identifier.value.clone();
    let listed_units: Vec<String> = settings
        .organizational_units
        .iter()
        .map(|u| u.identifier.value.clone())
        .collect();
    let listed_accounts: BTreeSet<String> = settings
        .listed_accounts()
        .into_iter()
        .map(str::to_string)
        .collect();

    let mut errors = Vec::new();
    let root_id = match previous.and_then(|p| p.root_id.clone()) {
        Some(root) => Some(root),
        None => match aws.roots().await {
            Ok(roots) => roots.first().map(|r| r.id.clone()),
            Err(e) => {
                errors.push(error("organization", &e));
                None
            }
        },
    };
    // Cached tags travel with the account: `Some` means "no need to read them again".
    let cached_tags = |id: &str| -> Option<BTreeMap<String, String>> {
        let reuse = reuse?;
        if reuse.dirty_accounts.contains(id) {
            return None;
        }
        reuse.previous.accounts.get(id)?.tags.clone()
    };
    let cached_account = |id: &str| -> Option<Account> {
        let account = previous?.accounts.get(id)?;
        Some(Account {
            id: account.id.clone(),
            name: account.name.clone(),
            email: account.email.clone(),
            status: account.status.clone(),
        })
    };

    // Accounts flow from the listings to the tag readers as soon as they are known, so that
    // the slow ListTagsForResource bucket is busy from the start.
    type Known = (Account, Option<String>, Option<BTreeMap<String, String>>);
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel::<Known>();

    let listings = async {
        let mut units = BTreeMap::new();
        let mut missing_units = Vec::new();
        let mut missing_accounts = Vec::new();
        let mut errors = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        // OUs the previous observation listed are not listed again.
        let (cached_units, fresh_units): (Vec<&String>, Vec<&String>) = listed_units
            .iter()
            .partition(|id| previous.is_some_and(|p| p.organizational_units.contains_key(*id)));
        for id in cached_units {
            let Some(unit) = previous.and_then(|p| p.organizational_units.get(id)) else {
                continue;
            };
            for account in &unit.accounts {
                if let Some(known) = cached_account(account) {
                    seen.insert(account.clone());
                    progress.accounts_found.fetch_add(1, Relaxed);
                    let _ = sender.send((known, Some(id.clone()), cached_tags(account)));
                }
            }
            units.insert(id.clone(), unit.clone());
        }
        let mut listings = futures::stream::iter(fresh_units)
            .map(|id| async move {
                let unit = aws.organizational_unit(id).await;
                match unit {
                    Ok(unit) => (id, Ok(unit), aws.accounts_for_parent(id).await),
                    Err(e) => (id, Err(e), Ok(Vec::new())),
                }
            })
            .buffer_unordered(2);
        // Each OU's accounts go to the tag readers as soon as the OU is listed.
        while let Some((id, unit, accounts)) = listings.next().await {
            match (unit, accounts) {
                (Err(e), _) if e.kind == ErrorKind::NotFound => missing_units.push(id.clone()),
                (Err(e), _) => errors.push(error(id, &e)),
                (Ok(_), Err(e)) => errors.push(error(id, &e)),
                (Ok(unit), Ok(accounts)) => {
                    let mut ids: Vec<String> = accounts.iter().map(|a| a.id.clone()).collect();
                    ids.sort();
                    for account in accounts {
                        seen.insert(account.id.clone());
                        let tags = cached_tags(&account.id);
                        progress.accounts_found.fetch_add(1, Relaxed);
                        let _ = sender.send((account, Some(id.clone()), tags));
                    }
                    units.insert(
                        id.clone(),
                        ObservedUnit {
                            id: id.clone(),
                            name: unit.name,
                            accounts: ids,
                        },
                    );
                }
            }
        }
        // Listed accounts outside every listed OU: one DescribeAccount each proves they exist.
        let outside: Vec<&String> = listed_accounts
            .iter()
            .filter(|a| !seen.contains(*a))
            .collect();
        let described: Vec<_> = futures::stream::iter(outside)
            .map(|id| async move { (id, aws.account(id).await) })
            .buffer_unordered(4)
            .collect()
            .await;
        for (id, result) in described {
            match result {
                Ok(account) => {
                    let tags = cached_tags(&account.id);
                    progress.accounts_found.fetch_add(1, Relaxed);
                    let _ = sender.send((account, None, tags));
                }
                Err(e) if e.kind == ErrorKind::NotFound => missing_accounts.push(id.clone()),
                Err(e) => errors.push(error(id, &e)),
            }
        }
        drop(sender);
        progress.listed.store(true, Relaxed);
        missing_units.sort();
        missing_accounts.sort();
        (units, missing_units, missing_accounts, errors)
    };

    let tag_reads = async {
        let accounts = futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|item| (item, receiver))
        });
        accounts
            .map(|(account, parent, cached)| async move {
                let tags = match cached {
                    Some(tags) => Ok(tags
                        .into_iter()
                        .map(|(key, value)| crate::aws::Tag { key, value })
                        .collect()),
                    None => aws.tags(&account.id).await,
                };
                progress.tags_read.fetch_add(1, Relaxed);
                (account, parent, tags)
            })
            .buffer_unordered(aws.tag_read_concurrency())
            .collect::<Vec<_>>()
            .await
    };

    let prefix = Observation::parameter_prefix(&environment);
    let reread_parameters = reuse.is_none_or(|r| r.parameters)
        || previous.is_some_and(|p| p.errors.iter().any(|e| e.target == prefix));
    let parameter_read = async {
        match previous.filter(|_| !reread_parameters) {
            Some(previous) => Ok((
                previous.parameters.clone(),
                previous.parameter_usage.unwrap_or_default(),
            )),
            None => observe_parameters(aws, &prefix).await,
        }
    };

    let reread_policies = reuse.is_none_or(|r| r.policies)
        || previous.is_some_and(|p| p.errors.iter().any(|e| e.target == POLICIES_TARGET));
    let policy_read = async {
        match previous.filter(|_| !reread_policies) {
            Some(previous) => Ok(previous.policies.clone()),
            None => observe_policies(aws, &environment).await,
        }
    };

    let dashboard_name = crate::monitoring::dashboard::name(
        settings,
        &crate::monitoring::dashboard::region(settings),
    );
    let reread_dashboard = reuse.is_none_or(|r| r.dashboard)
        || previous.is_some_and(|p| {
            p.dashboard
                .as_ref()
                .is_none_or(|d| d.name != dashboard_name)
                || p.errors.iter().any(|e| e.target == DASHBOARD_TARGET)
        });
    let dashboard_read = async {
        match previous.filter(|_| !reread_dashboard) {
            Some(previous) => Ok(previous.dashboard.clone()),
            None => aws.dashboard(&dashboard_name).await.map(|body| {
                Some(ObservedDashboard {
                    name: dashboard_name.clone(),
                    body,
                })
            }),
        }
    };

    // The topic is read only when settings own its e-mail subscriptions.
    let topic = (!settings
        .features
        .with_email_subscriptions_on_alerts
        .is_empty())
    .then(|| exceptions_topic_arn(settings))
    .flatten();
    let reread_topic = reuse.is_none_or(|r| r.subscriptions)
        || previous.is_some_and(|p| {
            p.exceptions_topic.as_ref().map(|t| &t.arn) != topic.as_ref()
                || p.errors.iter().any(|e| e.target == TOPIC_TARGET)
        });
    let topic_read = async {
        match (&topic, previous.filter(|_| !reread_topic)) {
            (None, _) => Ok(None),
            (Some(_), Some(previous)) => Ok(previous.exceptions_topic.clone()),
            (Some(topic), None) => observe_topic(aws, topic).await.map(Some),
        }
    };

    let (
        (units, missing_units, missing_accounts, listing_errors),
        tagged,
        parameters,
        policies,
        (dashboard, exceptions_topic),
    ) = tokio::join!(listings, tag_reads, parameter_read, policy_read, async {
        tokio::join!(dashboard_read, topic_read)
    });
    let exceptions_topic = exceptions_topic.unwrap_or_else(|e| {
        errors.push(error(TOPIC_TARGET, &e));
        None
    });
    let dashboard = dashboard.unwrap_or_else(|e| {
        errors.push(error(DASHBOARD_TARGET, &e));
        None
    });
    errors.extend(listing_errors);
    let policies = policies.unwrap_or_else(|e| {
        errors.push(error(POLICIES_TARGET, &e));
        ObservedPolicies::default()
    });

    let mut accounts = BTreeMap::new();
    for (account, parent, tags) in tagged {
        let tags = match tags {
            Ok(tags) => Some(tags.into_iter().map(|t| (t.key, t.value)).collect()),
            Err(e) => {
                errors.push(error(&account.id, &e));
                None
            }
        };
        let listed = listed_accounts.contains(&account.id);
        accounts.insert(
            account.id.clone(),
            ObservedAccount {
                id: account.id,
                name: account.name,
                email: account.email,
                status: account.status,
                parent,
                listed,
                tags,
            },
        );
    }
    let (parameters, parameter_usage) = match parameters {
        Ok((parameters, usage)) => (parameters, Some(usage)),
        Err(e) => {
            errors.push(error(&prefix, &e));
            (BTreeMap::new(), None)
        }
    };
    errors.sort_by(|a, b| a.target.cmp(&b.target));
    let mut observation = Observation {
        environment,
        root_id,
        organizational_units: units,
        accounts,
        parameters,
        parameter_usage,
        policies,
        dashboard,
        exceptions_topic,
        missing_organizational_units: missing_units,
        missing_accounts,
        complete: errors.is_empty(),
        errors,
        fingerprint: String::new(),
    };
    observation.fingerprint = observation.compute_fingerprint();
    observation
}
