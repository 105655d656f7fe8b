//! The validated settings model: what `settings.yaml` and the CSV files say, each value with
//! the place it was written. Built by `decode` (YAML) and `csv` (CSV rows); resolved into
//! effective settings by `resolve`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diag::Span;
use crate::schedule::Schedule;

/// A value and where it was written; `span` is `None` for a built-in default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Located<T> {
    pub value: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
}

impl<T> Located<T> {
    pub fn at(value: T, span: &Span) -> Located<T> {
        Located {
            value,
            span: Some(*span),
        }
    }

    pub fn default_value(value: T) -> Located<T> {
        Located { value, span: None }
    }
}

/// A small map kept as a vector sorted by key. Items carry one to three tiny maps each; a
/// `BTreeMap` allocates a node for eleven entries even for one, which for 20,000 items
/// (accounts and CSV rows) was most of the memory of validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Map<V> {
    entries: Vec<(String, V)>,
}

impl<V> Default for Map<V> {
    fn default() -> Self {
        Map {
            entries: Vec::new(),
        }
    }
}

impl<V> Map<V> {
    pub fn new() -> Map<V> {
        Map::default()
    }

    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, key: String, value: V) -> Option<V> {
        match self.entries.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(index) => Some(std::mem::replace(&mut self.entries[index].1, value)),
            Err(index) => {
                self.entries.insert(index, (key, value));
                None
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.entries
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|index| &self.entries[index].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<V> FromIterator<(String, V)> for Map<V> {
    /// Sorts once. Inserting entries one by one moves every entry after each new one: for
    /// keys in reverse order (a CSV header of 200,000 tag columns) that was quadratic. A key
    /// that appears twice keeps its last value, as with `insert`.
    fn from_iter<I: IntoIterator<Item = (String, V)>>(entries: I) -> Map<V> {
        let mut sorted: Vec<(String, V)> = entries.into_iter().collect();
        // Stable: equal keys stay in their order, so the last one is the last written.
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut entries: Vec<(String, V)> = Vec::with_capacity(sorted.len());
        for entry in sorted {
            match entries.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => entries.push(entry),
            }
        }
        Map { entries }
    }
}

impl<V> std::ops::Index<&str> for Map<V> {
    type Output = V;

    fn index(&self, key: &str) -> &V {
        self.get(key)
            .unwrap_or_else(|| panic!("no key `{key}` in map"))
    }
}

impl<'m, V> IntoIterator for &'m Map<V> {
    type Item = (&'m String, &'m V);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'m, (String, V)>,
        fn(&'m (String, V)) -> (&'m String, &'m V),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl<V: Serialize> Serialize for Map<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.entries.iter().map(|(k, v)| (k, v)))
    }
}

/// How YAML would type a scalar written without quotes. Variables are passed to CodeBuild
/// as text, exactly as written (`500.0` stays `500.0`), but the JSON published to SSM keeps
/// numbers as numbers, as the predecessor tool did, so its parameters plan as "no change".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScalarKind {
    String,
    Integer,
    Float,
    Boolean,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scalar {
    pub text: String,
    pub kind: ScalarKind,
}

impl Scalar {
    pub fn string(text: impl Into<String>) -> Scalar {
        Scalar {
            text: text.into(),
            kind: ScalarKind::String,
        }
    }

    /// The JSON value published to SSM.
    pub fn to_json(&self) -> serde_json::Value {
        match self.kind {
            ScalarKind::String => serde_json::Value::String(self.text.clone()),
            ScalarKind::Boolean => serde_json::Value::Bool(self.text.eq_ignore_ascii_case("true")),
            ScalarKind::Integer | ScalarKind::Float => serde_json::from_str(&self.text)
                .unwrap_or_else(|_| serde_json::Value::String(self.text.clone())),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Feature {
    Enabled,
    Disabled,
}

impl Feature {
    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Enabled => "enabled",
            Feature::Disabled => "disabled",
        }
    }
}

/// `preparation:` or `purge:` of one item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FeatureSettings {
    pub feature: Option<Located<Feature>>,
    pub variables: Map<Located<Scalar>>,
}

/// Which level of the cascade an item belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Level {
    Defaults,
    OrganizationalUnit { identifier: String },
    Account { identifier: String },
    Csv { file: String, line: u32 },
}

/// One level of the resolution cascade: `defaults`, an OU item, an account item, or a CSV row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub level: Level,
    pub identifier: Located<String>,
    pub note: Option<Located<String>>,
    pub account_tags: Map<Located<String>>,
    pub unset_tags: Option<Located<Vec<String>>>,
    pub preparation: FeatureSettings,
    pub purge: FeatureSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verbosity {
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

/// How spa places its parameters in the tiers of SSM Parameter Store
/// (`automation.parameter_tier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParameterTier {
    /// Every parameter in the standard tier (4 KB, 10,000 per account and region).
    Standard,
    /// The standard tier, and the advanced one where a parameter or the count needs it.
    IntelligentTiering,
    /// Every parameter in the advanced tier (8 KB, paid per parameter and month).
    Advanced,
}

impl ParameterTier {
    pub const ALL: [ParameterTier; 3] = [
        ParameterTier::Standard,
        ParameterTier::IntelligentTiering,
        ParameterTier::Advanced,
    ];

    /// As written in settings.
    pub fn as_str(self) -> &'static str {
        match self {
            ParameterTier::Standard => "standard",
            ParameterTier::IntelligentTiering => "intelligent-tiering",
            ParameterTier::Advanced => "advanced",
        }
    }
}

/// A schedule expression as written (or the built-in default), and the schedule it means:
/// parsed once, when settings are read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocatedSchedule {
    pub expression: Located<String>,
    #[serde(skip)]
    pub schedule: Schedule,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Automation {
    pub account_id: Option<Located<String>>,
    pub region: Option<Located<String>>,
    pub cockpit_markdown_text: Option<Located<String>>,
    pub maintenance_window_expression: Option<Located<String>>,
    pub parameter_tier: Located<ParameterTier>,
    pub role_arn_to_manage_accounts: Option<Located<String>>,
    pub role_name_to_manage_codebuild: Located<String>,
    pub tags: Map<Located<String>>,
    pub verbosity: Located<Verbosity>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Metering {
    pub activities_datastore: Option<Located<String>>,
    pub activities_ttl_in_seconds: Located<u64>,
    pub shadows_datastore: Option<Located<String>>,
    pub shadows_ttl_in_seconds: Located<u64>,
    pub transactions_datastore: Option<Located<String>>,
    pub transactions_ttl_in_seconds: Located<u64>,
}

/// A file named in settings: the path as written, and the normalised path in the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRef {
    pub written: Located<String>,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Worker {
    /// Timeout of both CodeBuild projects, 5 to 480 minutes.
    pub build_timeout_in_minutes: Located<u32>,
    /// The managed policy attached to the CodeBuild service role in each member account.
    pub build_service_role_policy_arn: Located<String>,
    pub preparation_buildspec_template_file: Option<FileRef>,
    pub purge_buildspec_template_file: Option<FileRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Features {
    /// Whether `/<env>/Accounts/<id>` is published for every listed account.
    pub with_account_parameters: Located<bool>,
    pub with_arm_architecture: Located<bool>,
    pub with_cost_email_recipients: Vec<Located<String>>,
    pub with_cost_extra_currencies: Vec<Located<String>>,
    pub with_cost_management_tag: Located<String>,
    pub with_csv_files: Vec<FileRef>,
    pub with_email_subscriptions_on_alerts: Vec<Located<String>>,
    pub with_end_user_documents: BTreeMap<String, FileRef>,
    pub with_microsoft_webhook_on_alerts: Option<Located<String>>,
    pub with_origin_email_recipient: Option<Located<String>>,
    pub with_response_plan_arn: Option<Located<String>>,
    pub with_slack_webhook_on_alerts: Option<Located<String>>,
    pub with_tag_prefix: Located<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reporting {
    pub activities_prefix: Located<String>,
    /// Activities of the past month.
    pub activities_schedule_expression: LocatedSchedule,
    /// Activities of the month so far.
    pub activities_month_to_date_schedule_expression: LocatedSchedule,
    pub costs_prefix: Located<String>,
    /// The daily cost metric.
    pub costs_daily_schedule_expression: LocatedSchedule,
    /// The early monthly cost report.
    pub costs_early_schedule_expression: LocatedSchedule,
    /// Where the rates of `features.with_cost_extra_currencies` come from.
    pub costs_exchange_rates_url: Located<String>,
    /// The final monthly cost report, with the e-mail.
    pub costs_final_schedule_expression: LocatedSchedule,
    pub costs_markdown_template: Option<Located<String>>,
    pub exceptions_prefix: Located<String>,
    pub inventories_prefix: Located<String>,
    /// The weekly inventory.
    pub inventories_schedule_expression: LocatedSchedule,
}

/// A state of the account life cycle (the `<prefix>state` tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountState {
    Vanilla,
    Assigned,
    Released,
    Expired,
}

impl AccountState {
    pub const ALL: [AccountState; 4] = [
        AccountState::Vanilla,
        AccountState::Assigned,
        AccountState::Released,
        AccountState::Expired,
    ];

    /// As written in settings and in the state tag.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountState::Vanilla => "vanilla",
            AccountState::Assigned => "assigned",
            AccountState::Released => "released",
            AccountState::Expired => "expired",
        }
    }

    /// The state a tag value names, if any.
    pub fn parse(text: &str) -> Option<AccountState> {
        AccountState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A service control policy that spa creates (named `<environment_identifier>-<name>`,
/// tagged) and attaches.
///
/// Without `states`, it is attached to each target: the OUs and the accounts. With `states`,
/// it is attached to each managed account of the targets (every direct child account of the
/// OUs, and the accounts) while the account's life-cycle state is one of `states`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceControlPolicy {
    /// As written: 1 to 100 of `[A-Za-z0-9_-]`, unique in settings.
    pub name: Located<String>,
    /// The name of the policy in AWS Organizations: `<environment_identifier>-<name>`.
    pub full_name: String,
    pub description: Option<Located<String>>,
    /// The JSON policy document in the repository.
    pub file: FileRef,
    /// The document as committed. Empty when the file could not be read (the settings then
    /// have errors).
    pub text: String,
    /// The document minified and canonical (`serde_json`'s serialisation, keys in their
    /// order): what spa sends, and what its size is checked on. Empty when the file could not
    /// be read or is not JSON (the settings then have errors).
    pub minified: String,
    /// OU ids, each listed in `organizational_units`.
    pub organizational_units: Vec<Located<String>>,
    /// Account ids, each listed in `accounts` or a CSV file.
    pub accounts: Vec<Located<String>>,
    /// Empty: attached to the targets for good. Otherwise: attached to the accounts of the
    /// targets while they are in one of these states.
    pub states: Vec<Located<AccountState>>,
    /// The item in `service_control_policies`.
    pub span: Span,
}

impl ServiceControlPolicy {
    /// Whether the policy follows the life cycle (it has `states`).
    pub fn is_per_state(&self) -> bool {
        !self.states.is_empty()
    }

    /// Whether an account of the targets gets the policy while in `state`: always for a
    /// policy without `states`.
    pub fn applies_in(&self, state: AccountState) -> bool {
        self.states.is_empty() || self.states.iter().any(|s| s.value == state)
    }

    /// Whether an account (in the listed OU `parent`, if any) is among the targets: listed
    /// by the policy, or a direct child of one of its OUs.
    pub fn targets_account(&self, account: &str, parent: Option<&str>) -> bool {
        self.accounts.iter().any(|a| a.value == account)
            || parent.is_some_and(|p| self.organizational_units.iter().any(|u| u.value == p))
    }
}

/// The text of a file published to SSM (buildspec or document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Published {
    pub path: String,
    pub text: String,
}

/// Everything a settings repository says, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// The file the settings were read from, relative to the repository root.
    pub settings_file: String,
    pub environment_identifier: Located<String>,
    pub automation: Automation,
    pub metering: Metering,
    pub worker: Worker,
    pub defaults: Item,
    pub organizational_units: Vec<Item>,
    pub accounts: Vec<Item>,
    /// Rows of the CSV files, file by file, row by row, each as an item.
    pub csv_rows: Vec<Item>,
    pub features: Features,
    pub reporting: Reporting,
    /// `service_control_policies`, in the order of settings.
    pub service_control_policies: Vec<ServiceControlPolicy>,
    pub preparation_buildspec: Option<Published>,
    pub purge_buildspec: Option<Published>,
    pub documents: BTreeMap<String, Published>,
}

impl Settings {
    /// Tag key of the lifecycle state (`<prefix>state`).
    pub fn state_tag(&self) -> String {
        format!("{}state", self.features.with_tag_prefix.value)
    }

    /// Tag key of the person an account belongs to (`<prefix>holder`).
    pub fn holder_tag(&self) -> String {
        format!("{}holder", self.features.with_tag_prefix.value)
    }

    /// Tag keys of the life cycle: state, holder, when the state was entered, why parked.
    pub fn lifecycle_tags(&self) -> [String; 4] {
        let prefix = &self.features.with_tag_prefix.value;
        [
            self.state_tag(),
            self.holder_tag(),
            format!("{prefix}since"),
            format!("{prefix}parked"),
        ]
    }

    pub fn organizational_unit(&self, identifier: &str) -> Option<&Item> {
        self.organizational_units
            .iter()
            .find(|item| item.identifier.value == identifier)
    }

    pub fn account(&self, identifier: &str) -> Option<&Item> {
        self.accounts
            .iter()
            .find(|item| item.identifier.value == identifier)
    }

    /// Every account listed by identifier, in `accounts` or in a CSV file, sorted.
    pub fn listed_accounts(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .accounts
            .iter()
            .chain(&self.csv_rows)
            .map(|item| item.identifier.value.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_collected_is_sorted_and_keeps_the_last_value_of_a_key() {
        let map: Map<u32> = [("b", 1), ("a", 2), ("b", 3), ("c", 4), ("a", 5)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let entries: Vec<(&String, &u32)> = map.iter().collect();
        let expected = [("a", 5), ("b", 3), ("c", 4)];
        assert_eq!(entries.len(), expected.len());
        for ((key, value), (k, v)) in entries.into_iter().zip(expected) {
            assert_eq!((key.as_str(), *value), (k, v));
        }
    }
}
