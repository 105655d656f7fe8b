//! From the located YAML tree to the [`Settings`] model. Every problem becomes a diagnostic
//! and decoding goes on, so that one run reports everything.

use std::collections::{BTreeMap, HashMap};

use crate::check::{self, Check};
use crate::diag::{Diagnostic, Span, did_you_mean};
use crate::model::*;
use crate::schedule::Schedule;
use crate::yaml::{Node, Style, Value, plain_kind};

pub const TOP_KEYS: &[&str] = &[
    "environment_identifier",
    "automation",
    "metering",
    "worker",
    "defaults",
    "organizational_units",
    "accounts",
    "features",
    "reporting",
    "service_control_policies",
];
pub const AUTOMATION_KEYS: &[&str] = &[
    "account_id",
    "region",
    "cockpit_markdown_text",
    "maintenance_window_expression",
    "parameter_tier",
    "role_arn_to_manage_accounts",
    "role_name_to_manage_codebuild",
    "tags",
    "verbosity",
];
pub const METERING_KEYS: &[&str] = &[
    "activities_datastore",
    "activities_ttl_in_seconds",
    "shadows_datastore",
    "shadows_ttl_in_seconds",
    "transactions_datastore",
    "transactions_ttl_in_seconds",
];
pub const WORKER_KEYS: &[&str] = &[
    "build_service_role_policy_arn",
    "build_timeout_in_minutes",
    "preparation_buildspec_template_file",
    "purge_buildspec_template_file",
];
pub const ITEM_KEYS: &[&str] = &[
    "identifier",
    "note",
    "account_tags",
    "unset_tags",
    "preparation",
    "purge",
];
pub const FEATURE_KEYS: &[&str] = &["feature", "variables"];
pub const FEATURES_KEYS: &[&str] = &[
    "with_account_parameters",
    "with_arm_architecture",
    "with_cost_email_recipients",
    "with_cost_extra_currencies",
    "with_cost_management_tag",
    "with_csv_files",
    "with_email_subscriptions_on_alerts",
    "with_end_user_documents",
    "with_microsoft_webhook_on_alerts",
    "with_origin_email_recipient",
    "with_response_plan_arn",
    "with_slack_webhook_on_alerts",
    "with_tag_prefix",
];
pub const REPORTING_KEYS: &[&str] = &[
    "activities_prefix",
    "activities_schedule_expression",
    "activities_month_to_date_schedule_expression",
    "costs_prefix",
    "costs_daily_schedule_expression",
    "costs_early_schedule_expression",
    "costs_exchange_rates_url",
    "costs_final_schedule_expression",
    "costs_markdown_template",
    "exceptions_prefix",
    "inventories_prefix",
    "inventories_schedule_expression",
];

pub const SERVICE_CONTROL_POLICY_KEYS: &[&str] = &[
    "name",
    "description",
    "file",
    "organizational_units",
    "accounts",
    "states",
];

/// Every mapping spa reads and the keys it knows there (a test compares it with the JSON Schema).
pub const SECTIONS: &[(&str, &[&str])] = &[
    ("", TOP_KEYS),
    ("automation", AUTOMATION_KEYS),
    ("metering", METERING_KEYS),
    ("worker", WORKER_KEYS),
    ("item", ITEM_KEYS),
    ("feature", FEATURE_KEYS),
    ("features", FEATURES_KEYS),
    ("reporting", REPORTING_KEYS),
    ("service_control_policy", SERVICE_CONTROL_POLICY_KEYS),
];

/// Keys that spa accepts, and checks, but does not use yet: `(dotted path, why)`. Each one a
/// settings file sets gets a `warning[ignored-key]`. When a feature lands, removing its keys
/// from this table is the only change needed here (docs/settings.md lists the table too).
pub const IGNORED_KEYS: &[(&str, &str)] = &[(
    "automation.verbosity",
    "the controller writes JSON lines filtered by RUST_LOG",
)];

/// Why spa ignores the key at `path` (`section.key`), if it does.
pub fn ignored_key(path: &str) -> Option<&'static str> {
    IGNORED_KEYS
        .iter()
        .find(|(key, _)| *key == path)
        .map(|(_, why)| *why)
}

pub const DEFAULT_ENVIRONMENT: &str = "SpaBeta";
pub const DEFAULT_CODEBUILD_ROLE: &str = "AWSControlTowerExecution";
pub const DEFAULT_TAG_PREFIX: &str = "account-";
pub const DEFAULT_COST_TAG: &str = "cost-center";
/// CodeBuild's longest timeout: a purge of a large account takes hours.
pub const DEFAULT_BUILD_TIMEOUT_IN_MINUTES: u32 = 480;
/// CodeBuild accepts timeouts from 5 to 480 minutes.
pub const BUILD_TIMEOUT_RANGE: std::ops::RangeInclusive<u32> = 5..=480;
/// A purge must be able to delete anything.
pub const DEFAULT_BUILD_SERVICE_ROLE_POLICY_ARN: &str =
    "arn:aws:iam::aws:policy/AdministratorAccess";
/// The European Central Bank's daily reference rates (XML).
pub const DEFAULT_EXCHANGE_RATES_URL: &str =
    "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml";
/// Default schedules of `reporting`, in UTC: `(key, expression)`.
pub const DEFAULT_REPORTING_SCHEDULES: &[(&str, &str)] = &[
    ("inventories_schedule_expression", "cron(23 3 ? * SAT *)"),
    ("activities_schedule_expression", "cron(42 3 1 * ? *)"),
    (
        "activities_month_to_date_schedule_expression",
        "cron(42 3 ? * SAT *)",
    ),
    ("costs_daily_schedule_expression", "cron(42 0 * * ? *)"),
    ("costs_early_schedule_expression", "cron(0 4 6 * ? *)"),
    ("costs_final_schedule_expression", "cron(0 4 14 * ? *)"),
];

pub(crate) struct Decoder<'d> {
    pub diagnostics: &'d mut Vec<Diagnostic>,
    /// Directory of settings.yaml inside the repository; file paths are relative to it.
    pub base_dir: String,
}

/// The keys of one mapping, after unknown keys were reported.
struct Fields<'a> {
    entries: Vec<(&'a str, &'a Node<'a>, &'a Node<'a>)>,
}

impl<'a> Fields<'a> {
    /// The value of `key`, unless absent or empty ("not set").
    fn get(&self, key: &str) -> Option<&'a Node<'a>> {
        self.entries
            .iter()
            .find(|(name, _, _)| *name == key)
            .map(|(_, _, value)| *value)
            .filter(|value| !value.is_null())
    }
}

fn is_plain(node: &Node) -> bool {
    matches!(
        node.value,
        Value::Scalar {
            style: Style::Plain,
            ..
        }
    )
}

impl Decoder<'_> {
    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn problem(&mut self, code: &'static str, span: &Span, problem: check::Problem) {
        let mut diagnostic = Diagnostic::error(code, *span, problem.message);
        diagnostic.hint = problem.hint;
        self.push(diagnostic);
    }

    fn check(&mut self, span: &Span, result: Check) -> bool {
        match result {
            Ok(()) => true,
            Err(problem) => {
                self.problem("invalid-value", span, problem);
                false
            }
        }
    }

    fn wrong_type(&mut self, node: &Node, expected: &str, context: &str) {
        self.push(Diagnostic::error(
            "wrong-type",
            node.span,
            format!("{context}: expected {expected}, found {}", node.kind()),
        ));
    }

    fn fields<'a>(
        &mut self,
        node: &'a Node<'a>,
        context: &str,
        known: &[&str],
    ) -> Option<Fields<'a>> {
        if node.is_null() {
            return Some(Fields {
                entries: Vec::new(),
            });
        }
        let Value::Map(entries) = &node.value else {
            self.wrong_type(node, "a mapping", context);
            return None;
        };
        let mut fields = Vec::with_capacity(entries.len());
        for entry in entries {
            let Some(name) = entry.key.text() else {
                self.wrong_type(&entry.key, "a plain key", context);
                continue;
            };
            if known.contains(&name) {
                fields.push((name, &entry.key, &entry.value));
                continue;
            }
            let mut diagnostic = Diagnostic::error(
                "unknown-key",
                entry.key.span,
                format!("unknown key `{name}` in {context}"),
            );
            diagnostic.hint = Some(match did_you_mean(name, known) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("known keys here: {}", known.join(", ")),
            });
            self.push(diagnostic);
        }
        Some(Fields { entries: fields })
    }

    fn string(&mut self, node: &Node, context: &str) -> Option<Located<String>> {
        match &node.value {
            Value::Scalar { text, .. } => Some(Located::at(text.to_string(), &node.span)),
            _ => {
                self.wrong_type(node, "a string", context);
                None
            }
        }
    }

    /// A string that must pass `check`.
    fn checked(
        &mut self,
        node: &Node,
        context: &str,
        check: fn(&str) -> Check,
    ) -> Option<Located<String>> {
        let value = self.string(node, context)?;
        self.check(&node.span, check(&value.value)).then_some(value)
    }

    fn boolean(&mut self, node: &Node, context: &str) -> Option<Located<bool>> {
        let text = node.text().unwrap_or_default();
        if is_plain(node) {
            match text {
                "true" => return Some(Located::at(true, &node.span)),
                "false" => return Some(Located::at(false, &node.span)),
                _ => {}
            }
        }
        let hint = match text.to_ascii_lowercase().as_str() {
            "true" => "write `true`, in lower case and without quotes",
            "false" => "write `false`, in lower case and without quotes",
            "yes" | "on" | "y" | "enabled" => {
                "write `true` (YAML 1.1 words like yes/on are not booleans here)"
            }
            "no" | "off" | "n" | "disabled" => {
                "write `false` (YAML 1.1 words like no/off are not booleans here)"
            }
            _ => "write `true` or `false`, without quotes",
        };
        self.push(
            Diagnostic::error(
                "wrong-type",
                node.span,
                format!("{context}: expected `true` or `false`, found `{text}`"),
            )
            .with_hint(hint),
        );
        None
    }

    fn feature(&mut self, node: &Node) -> Option<Located<Feature>> {
        let text = node.text().unwrap_or_default();
        match (text, node.text().is_some()) {
            ("enabled", true) => return Some(Located::at(Feature::Enabled, &node.span)),
            ("disabled", true) => return Some(Located::at(Feature::Disabled, &node.span)),
            _ => {}
        }
        let hint = match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "enable" | "y" => "write `enabled`".to_string(),
            "false" | "no" | "off" | "disable" | "n" => "write `disabled`".to_string(),
            _ => "`feature` is either `enabled` or `disabled`".to_string(),
        };
        self.push(
            Diagnostic::error(
                "wrong-type",
                node.span,
                format!("expected `enabled` or `disabled`, found {}", describe(node)),
            )
            .with_hint(hint),
        );
        None
    }

    fn unsigned(&mut self, node: &Node, context: &str) -> Option<Located<u64>> {
        match node
            .text()
            .filter(|_| is_plain(node))
            .map(str::parse::<u64>)
        {
            Some(Ok(value)) if value > 0 => Some(Located::at(value, &node.span)),
            _ => {
                self.push(
                    Diagnostic::error(
                        "wrong-type",
                        node.span,
                        format!(
                            "{context}: expected a positive whole number, found {}",
                            describe(node)
                        ),
                    )
                    .with_hint("write a number of seconds without quotes, e.g. 86400"),
                );
                None
            }
        }
    }

    fn list<'a, 'y>(&mut self, node: &'a Node<'y>, context: &str) -> &'a [Node<'y>] {
        match &node.value {
            Value::Seq(items) => items,
            _ if node.is_null() => &[],
            _ => {
                self.wrong_type(node, "a list", context);
                &[]
            }
        }
    }

    fn string_list(
        &mut self,
        node: &Node,
        context: &str,
        check: fn(&str) -> Check,
    ) -> Vec<Located<String>> {
        let mut values: Vec<Located<String>> = Vec::new();
        for item in self.list(node, context) {
            let Some(value) = self.checked(item, context, check) else {
                continue;
            };
            let first = values
                .iter()
                .find(|v| v.value == value.value)
                .and_then(|v| v.span);
            if let Some(first) = first {
                self.push(
                    Diagnostic::warning(
                        "duplicate-value",
                        item.span,
                        format!("`{}` is listed twice in `{context}`", value.value),
                    )
                    .with_label(first, "first listed here")
                    .with_hint("remove the repeat: spa uses the value once"),
                );
                continue;
            }
            values.push(value);
        }
        values
    }

    fn tags(&mut self, node: &Node, context: &str) -> Map<Located<String>> {
        // Collected, then sorted once into a map (see `Map::from_iter`).
        let mut tags = Vec::new();
        let Value::Map(entries) = &node.value else {
            if !node.is_null() {
                self.wrong_type(node, "a mapping of tag keys to values", context);
            }
            return Map::new();
        };
        for entry in entries {
            let Some(key) = self.checked(&entry.key, context, check::tag_key) else {
                continue;
            };
            if entry.value.is_null() {
                self.push(
                    Diagnostic::error(
                        "missing-value",
                        entry.value.span,
                        format!("tag `{}` has no value", key.value),
                    )
                    .with_hint("write '' for an empty value, or remove the key"),
                );
                continue;
            }
            if let Some(value) = self.checked(&entry.value, context, check::tag_value) {
                tags.push((key.value, value));
            }
        }
        tags.into_iter().collect()
    }

    fn variables(&mut self, node: &Node, context: &str) -> Map<Located<Scalar>> {
        let mut variables = Vec::new();
        let Value::Map(entries) = &node.value else {
            if !node.is_null() {
                self.wrong_type(node, "a mapping of variable names to values", context);
            }
            return Map::new();
        };
        for entry in entries {
            let Some(name) = self.checked(&entry.key, context, check::variable_name) else {
                continue;
            };
            let Value::Scalar { text, style } = &entry.value.value else {
                self.wrong_type(
                    &entry.value,
                    "a single value",
                    &format!("variable `{}`", name.value),
                );
                continue;
            };
            if entry.value.is_null() {
                self.push(
                    Diagnostic::error(
                        "missing-value",
                        entry.value.span,
                        format!("variable `{}` has no value", name.value),
                    )
                    .with_hint("write '' for an empty value, or remove the variable"),
                );
                continue;
            }
            if !self.check(&entry.value.span, check::known_variable(&name.value, text)) {
                continue;
            }
            let kind = if *style == Style::Plain {
                plain_kind(text)
            } else {
                ScalarKind::String
            };
            let scalar = Scalar {
                text: text.to_string(),
                kind,
            };
            variables.push((name.value, Located::at(scalar, &entry.value.span)));
        }
        variables.into_iter().collect()
    }

    fn feature_settings(&mut self, node: Option<&Node>, context: &str) -> FeatureSettings {
        let mut settings = FeatureSettings::default();
        let Some(node) = node else {
            return settings;
        };
        let Some(fields) = self.fields(node, context, FEATURE_KEYS) else {
            return settings;
        };
        settings.feature = fields.get("feature").and_then(|n| self.feature(n));
        if let Some(n) = fields.get("variables") {
            settings.variables = self.variables(n, &format!("{context} variables"));
        }
        settings
    }

    /// `defaults`, an OU item or an account item.
    pub fn item(&mut self, node: &Node, level: Level) -> Option<Item> {
        let context = match &level {
            Level::Defaults => "defaults",
            Level::OrganizationalUnit { .. } => "an organizational unit item",
            _ => "an account item",
        };
        let known: &[&str] = if level == Level::Defaults {
            &ITEM_KEYS[1..]
        } else {
            ITEM_KEYS
        };
        let fields = self.fields(node, context, known)?;
        let identifier = match &level {
            Level::Defaults => Located::at("defaults".to_string(), &node.span),
            _ => self.identifier(&fields, node, &level)?,
        };
        let level = match level {
            Level::OrganizationalUnit { .. } => Level::OrganizationalUnit {
                identifier: identifier.value.clone(),
            },
            Level::Account { .. } => Level::Account {
                identifier: identifier.value.clone(),
            },
            other => other,
        };
        let note = fields.get("note").and_then(|n| self.string(n, "note"));
        let account_tags = fields
            .get("account_tags")
            .map(|n| self.tags(n, "account_tags"))
            .unwrap_or_default();
        let unset_tags = fields.get("unset_tags").map(|n| {
            let keys = self.string_list(n, "unset_tags", check::tag_key);
            Located::at(
                keys.into_iter().map(|k| k.value).collect::<Vec<String>>(),
                &n.span,
            )
        });
        if let Some(unset) = &unset_tags {
            for key in &unset.value {
                if let Some(set) = account_tags.get(key) {
                    self.push(
                        Diagnostic::error(
                            "tag-conflict",
                            unset.span.unwrap_or(node.span),
                            format!(
                                "tag `{key}` is both set in account_tags and removed by unset_tags"
                            ),
                        )
                        .with_label(set.span.unwrap_or(node.span), "set here")
                        .with_hint("keep it in one of the two"),
                    );
                }
            }
        }
        let preparation = self.feature_settings(fields.get("preparation"), "preparation");
        let purge = self.feature_settings(fields.get("purge"), "purge");
        Some(Item {
            level,
            identifier,
            note,
            account_tags,
            unset_tags,
            preparation,
            purge,
        })
    }

    fn identifier(
        &mut self,
        fields: &Fields<'_>,
        item: &Node,
        level: &Level,
    ) -> Option<Located<String>> {
        let Some(node) = fields.get("identifier") else {
            self.push(
                Diagnostic::error("missing-key", item.span, "this item has no `identifier`")
                    .with_hint(match level {
                        Level::OrganizationalUnit { .. } => "add `identifier: 'ou-xxxx-xxxxxxxx'`",
                        _ => "add `identifier: '123456789012'`",
                    }),
            );
            return None;
        };
        let value = self.string(node, "identifier")?;
        if value.value == "default" {
            self.push(
                Diagnostic::error(
                    "obsolete-layout",
                    node.span,
                    "an item with identifier `default` is the predecessor's layout",
                )
                .with_hint("move its attributes to the top-level `defaults:` section, which applies to every organizational unit and account"),
            );
            return None;
        }
        match level {
            Level::OrganizationalUnit { .. } => self
                .check(&node.span, check::organizational_unit_id(&value.value))
                .then_some(value),
            _ => self.account_id(node, value),
        }
    }

    /// An account id written at `node` (read as `value`): quoted, 12 digits.
    fn account_id(&mut self, node: &Node, value: Located<String>) -> Option<Located<String>> {
        if is_plain(node) && check::account_id(&value.value).is_ok() {
            self.push(
                Diagnostic::error(
                    "unquoted-account-id",
                    node.span,
                    format!(
                        "YAML reads {} as a number, not as an account id",
                        value.value
                    ),
                )
                .with_hint(format!(
                    "quote it: '{}' (a number loses leading zeros)",
                    value.value
                )),
            );
            return None;
        }
        if is_plain(node) && value.value.bytes().all(|b| b.is_ascii_digit()) {
            self.push(
                Diagnostic::error(
                    "unquoted-account-id",
                    node.span,
                    format!(
                        "YAML reads {} as a number, and it is not 12 digits",
                        value.value
                    ),
                )
                .with_hint("account ids are 12 digits in quotes, e.g. '012345678901'"),
            );
            return None;
        }
        self.check(&node.span, check::account_id(&value.value))
            .then_some(value)
    }

    /// `service_control_policies`: each item checked here, its file and targets by `load`.
    fn service_control_policies(
        &mut self,
        node: Option<&Node>,
        environment: &str,
    ) -> Vec<ServiceControlPolicy> {
        let Some(node) = node else {
            return Vec::new();
        };
        let mut policies = Vec::new();
        let mut seen: HashMap<String, Span> = HashMap::new();
        for item in self.list(node, "service_control_policies") {
            let context = "a service control policy";
            let Some(fields) = self.fields(item, context, SERVICE_CONTROL_POLICY_KEYS) else {
                continue;
            };
            let name = match fields.get("name") {
                Some(n) => self.checked(n, "name", check::policy_name),
                None => {
                    self.push(
                        Diagnostic::error(
                            "missing-key",
                            item.span,
                            "this service control policy has no `name`",
                        )
                        .with_hint("add `name: DenyLeavingTheOrganization` (1 to 100 letters, digits, _ and -)"),
                    );
                    None
                }
            };
            let file = match fields.get("file") {
                Some(n) => self.file_ref(n, "file"),
                None => {
                    self.push(
                        Diagnostic::error(
                            "missing-key",
                            item.span,
                            "this service control policy has no `file`",
                        )
                        .with_hint("add `file: policies/<name>.json`, a JSON policy document in this repository"),
                    );
                    None
                }
            };
            let description = fields
                .get("description")
                .and_then(|n| self.checked(n, "description", check::policy_description));
            let label = fields
                .get("name")
                .and_then(Node::text)
                .unwrap_or_default()
                .to_string();
            let organizational_units = fields
                .get("organizational_units")
                .map(|n| {
                    self.targets(n, &label, "organizational_units", |d, node, value| {
                        d.check(&node.span, check::organizational_unit_id(&value.value))
                            .then_some(value)
                    })
                })
                .unwrap_or_default();
            let accounts = fields
                .get("accounts")
                .map(|n| {
                    self.targets(n, &label, "accounts", |d, node, value| {
                        d.account_id(node, value)
                    })
                })
                .unwrap_or_default();
            let states = fields
                .get("states")
                .map(|n| self.states(n))
                .unwrap_or_default();
            let has_targets = ["organizational_units", "accounts"].iter().any(|key| {
                fields
                    .get(key)
                    .is_some_and(|n| !matches!(&n.value, Value::Seq(items) if items.is_empty()))
            });
            if !has_targets {
                self.push(
                    Diagnostic::error(
                        "missing-key",
                        item.span,
                        if label.is_empty() {
                            "this service control policy has no target".to_string()
                        } else {
                            format!("service control policy `{label}` has no target")
                        },
                    )
                    .with_hint("add `organizational_units: [ou-…]` or `accounts: ['123456789012']`, or both"),
                );
            }
            let (Some(name), Some(file)) = (name, file) else {
                continue;
            };
            let span = name.span.unwrap_or(item.span);
            if let Some(first) = seen.get(&name.value) {
                self.push(
                    Diagnostic::error(
                        "duplicate-identifier",
                        span,
                        format!(
                            "`{}` is the name of two service control policies",
                            name.value
                        ),
                    )
                    .with_label(*first, "first named here")
                    .with_hint("give each policy its own name, or merge the two"),
                );
                continue;
            }
            seen.insert(name.value.clone(), span);
            let full_name = format!("{environment}-{}", name.value);
            if full_name.chars().count() > 128 {
                self.push(
                    Diagnostic::error(
                        "invalid-value",
                        span,
                        format!(
                            "the policy would be named `{full_name}`, {} characters; AWS accepts at most 128",
                            full_name.chars().count()
                        ),
                    )
                    .with_hint("spa names each policy <environment_identifier>-<name>: shorten the name"),
                );
                continue;
            }
            policies.push(ServiceControlPolicy {
                name,
                full_name,
                description,
                file,
                text: String::new(),
                minified: String::new(),
                organizational_units,
                accounts,
                states,
                span: item.span,
            });
        }
        policies
    }

    /// A list of targets of the policy `policy`, each checked by `check`, none twice.
    fn targets(
        &mut self,
        node: &Node,
        policy: &str,
        context: &str,
        check: fn(&mut Self, &Node, Located<String>) -> Option<Located<String>>,
    ) -> Vec<Located<String>> {
        let mut targets: Vec<Located<String>> = Vec::new();
        for item in self.list(node, context) {
            let Some(value) = self.string(item, context) else {
                continue;
            };
            let Some(value) = check(self, item, value) else {
                continue;
            };
            if let Some(first) = targets.iter().find(|t| t.value == value.value) {
                let first = first.span.unwrap_or(item.span);
                self.push(
                    Diagnostic::error(
                        "duplicate-identifier",
                        item.span,
                        if policy.is_empty() {
                            format!("`{}` is listed twice in this policy", value.value)
                        } else {
                            format!("`{}` is listed twice in policy `{policy}`", value.value)
                        },
                    )
                    .with_label(first, "first listed here")
                    .with_hint("remove one of them"),
                );
                continue;
            }
            targets.push(value);
        }
        targets
    }

    /// `states` of a service control policy: life-cycle states, none twice.
    fn states(&mut self, node: &Node) -> Vec<Located<AccountState>> {
        let mut states: Vec<Located<AccountState>> = Vec::new();
        let names = AccountState::ALL.map(AccountState::as_str);
        for item in self.list(node, "states") {
            let text = item.text().unwrap_or_default();
            let Some(state) = AccountState::ALL
                .into_iter()
                .find(|s| s.as_str() == text && item.text().is_some())
            else {
                let hint = match did_you_mean(text, &names) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("the states are {}", names.join(", ")),
                };
                self.push(
                    Diagnostic::error(
                        "invalid-value",
                        item.span,
                        format!(
                            "{} is not a state of the account life cycle",
                            describe(item)
                        ),
                    )
                    .with_hint(hint),
                );
                continue;
            };
            if let Some(first) = states.iter().find(|s| s.value == state) {
                let first = first.span.unwrap_or(item.span);
                self.push(
                    Diagnostic::error(
                        "duplicate-identifier",
                        item.span,
                        format!("state `{text}` is listed twice"),
                    )
                    .with_label(first, "first listed here")
                    .with_hint("remove one of them"),
                );
                continue;
            }
            states.push(Located::at(state, &item.span));
        }
        states
    }

    /// An EventBridge schedule expression, parsed; an error points inside the expression
    /// when it was written on one line.
    fn schedule(&mut self, node: &Node, context: &str) -> Option<LocatedSchedule> {
        let value = self.string(node, context)?;
        match Schedule::parse(&value.value) {
            Ok(schedule) => Some(LocatedSchedule {
                expression: value,
                schedule,
            }),
            Err(error) => {
                let span = if node.span.end_line == node.span.line {
                    // The error counts bytes of the expression; spans count characters.
                    let text = &value.value;
                    let offset = text.get(..error.offset).map_or(0, |s| s.chars().count());
                    let len = text
                        .get(error.offset..error.offset.saturating_add(error.len))
                        .map_or(1, |s| s.chars().count());
                    let quote = usize::from(!is_plain(node));
                    node.span.slice(offset + quote, len)
                } else {
                    node.span
                };
                let mut d = Diagnostic::error("invalid-schedule", span, error.message);
                d.hint = error.hint;
                self.push(d);
                None
            }
        }
    }

    /// `worker.build_timeout_in_minutes`: a whole number within CodeBuild's range.
    fn build_timeout(&mut self, node: &Node) -> Option<Located<u32>> {
        let text = node.text().filter(|_| is_plain(node)).unwrap_or_default();
        let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            self.push(
                Diagnostic::error(
                    "wrong-type",
                    node.span,
                    format!(
                        "build_timeout_in_minutes: expected a whole number of minutes, found {}",
                        describe(node)
                    ),
                )
                .with_hint("write a number of minutes from 5 to 480 without quotes, e.g. 480"),
            );
            return None;
        }
        let minutes = text
            .parse::<i64>()
            .ok()
            .and_then(|m| u32::try_from(m).ok())
            .filter(|m| BUILD_TIMEOUT_RANGE.contains(m));
        match minutes {
            Some(minutes) => Some(Located::at(minutes, &node.span)),
            None => {
                self.push(
                    Diagnostic::error(
                        "invalid-value",
                        node.span,
                        format!(
                            "build_timeout_in_minutes: {text} minutes is outside CodeBuild's range of 5 to 480"
                        ),
                    )
                    .with_hint("CodeBuild stops a build after 5 minutes at the least and 480 minutes (8 hours) at the most"),
                );
                None
            }
        }
    }

    fn items(&mut self, node: Option<&Node>, level: fn() -> Level, context: &str) -> Vec<Item> {
        let Some(node) = node else {
            return Vec::new();
        };
        let mut items: Vec<Item> = Vec::new();
        let mut seen: HashMap<String, Span> = HashMap::new();
        for entry in self.list(node, context) {
            let Some(item) = self.item(entry, level()) else {
                continue;
            };
            let span = item.identifier.span.unwrap_or(entry.span);
            if let Some(first) = seen.get(&item.identifier.value) {
                self.push(
                    Diagnostic::error(
                        "duplicate-identifier",
                        span,
                        format!("`{}` is listed twice in {context}", item.identifier.value),
                    )
                    .with_label(*first, "first listed here")
                    .with_hint("merge the two items into one"),
                );
                continue;
            }
            seen.insert(item.identifier.value.clone(), span);
            items.push(item);
        }
        items
    }

    fn file_ref(&mut self, node: &Node, context: &str) -> Option<FileRef> {
        let written = self.string(node, context)?;
        match check::repository_path(&self.base_dir, &written.value) {
            Ok(path) => Some(FileRef { written, path }),
            Err(problem) => {
                self.problem("path-outside-repository", &node.span, problem);
                None
            }
        }
    }

    fn or_default(value: Option<Located<String>>, default: &str) -> Located<String> {
        value.unwrap_or_else(|| Located::default_value(default.to_string()))
    }

    /// Decodes the whole document. Returns `None` only when the root is not a mapping.
    pub fn settings(&mut self, root: &Node, settings_file: &str) -> Option<Settings> {
        let top = self.fields(root, "settings", TOP_KEYS)?;
        let environment_identifier = top
            .get("environment_identifier")
            .and_then(|n| self.checked(n, "environment_identifier", check::environment_identifier));
        let automation = self.automation(top.get("automation"));
        let metering = self.metering(top.get("metering"));
        let worker = self.worker(top.get("worker"));
        let defaults = match top.get("defaults") {
            Some(node) => self.item(node, Level::Defaults),
            None => None,
        }
        .unwrap_or_else(|| Item {
            level: Level::Defaults,
            identifier: Located::default_value("defaults".to_string()),
            note: None,
            account_tags: Map::new(),
            unset_tags: None,
            preparation: FeatureSettings::default(),
            purge: FeatureSettings::default(),
        });
        let organizational_units = self.items(
            top.get("organizational_units"),
            || Level::OrganizationalUnit {
                identifier: String::new(),
            },
            "organizational_units",
        );
        let accounts = self.items(
            top.get("accounts"),
            || Level::Account {
                identifier: String::new(),
            },
            "accounts",
        );
        let features = self.features(top.get("features"));
        let reporting = self.reporting(top.get("reporting"));
        let environment = environment_identifier
            .as_ref()
            .map_or(DEFAULT_ENVIRONMENT, |e| e.value.as_str());
        let service_control_policies =
            self.service_control_policies(top.get("service_control_policies"), environment);
        Some(Settings {
            settings_file: settings_file.to_string(),
            environment_identifier: Self::or_default(environment_identifier, DEFAULT_ENVIRONMENT),
            automation,
            metering,
            worker,
            defaults,
            organizational_units,
            accounts,
            csv_rows: Vec::new(),
            features,
            reporting,
            service_control_policies,
            preparation_buildspec: None,
            purge_buildspec: None,
            documents: BTreeMap::new(),
        })
    }

    /// The keys of a top-level section; a warning at each key spa does not use yet.
    fn section<'a>(&mut self, node: Option<&'a Node>, context: &str, known: &[&str]) -> Fields<'a> {
        let fields = node
            .and_then(|n| self.fields(n, context, known))
            .unwrap_or(Fields {
                entries: Vec::new(),
            });
        for (name, key, value) in &fields.entries {
            if value.is_null() {
                continue;
            }
            let path = format!("{context}.{name}");
            if let Some(why) = ignored_key(&path) {
                self.push(
                    Diagnostic::warning(
                        "ignored-key",
                        key.span,
                        format!("spa does not use `{path}` yet: {why}"),
                    )
                    .with_hint("the value is checked but changes nothing; see \"Keys spa accepts but does not use yet\" in docs/settings.md"),
                );
            }
        }
        fields
    }

    fn automation(&mut self, node: Option<&Node>) -> Automation {
        let f = self.section(node, "automation", AUTOMATION_KEYS);
        let verbosity = f.get("verbosity").and_then(|n| {
            let text = n.text().unwrap_or_default();
            let value = match text {
                "DEBUG" => Verbosity::Debug,
                "INFO" => Verbosity::Info,
                "WARNING" => Verbosity::Warning,
                "ERROR" => Verbosity::Error,
                "CRITICAL" => Verbosity::Critical,
                _ => {
                    let mut d = Diagnostic::error(
                        "invalid-value",
                        n.span,
                        format!("verbosity: `{text}` is not a log level"),
                    )
                    .with_hint("use one of DEBUG, INFO, WARNING, ERROR, CRITICAL");
                    if let Some(close) =
                        did_you_mean(text, &["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"])
                    {
                        d.hint = Some(format!("did you mean `{close}`?"));
                    }
                    self.push(d);
                    return None;
                }
            };
            Some(Located::at(value, &n.span))
        });
        let maintenance_window_expression = f
            .get("maintenance_window_expression")
            .and_then(|n| self.schedule(n, "maintenance_window_expression"))
            .map(|schedule| schedule.expression);
        let parameter_tier = f.get("parameter_tier").and_then(|n| {
            let text = n.text().unwrap_or_default();
            if let Some(tier) = ParameterTier::ALL.into_iter().find(|t| t.as_str() == text) {
                return Some(Located::at(tier, &n.span));
            }
            let names = ParameterTier::ALL.map(ParameterTier::as_str);
            let hint = match did_you_mean(text, &names) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("use one of {}", names.join(", ")),
            };
            self.push(
                Diagnostic::error(
                    "invalid-value",
                    n.span,
                    format!("parameter_tier: {} is not a tier strategy", describe(n)),
                )
                .with_hint(hint),
            );
            None
        });
        Automation {
            account_id: f.get("account_id").and_then(|n| {
                if is_plain(n) {
                    self.push(
                        Diagnostic::error(
                            "unquoted-account-id",
                            n.span,
                            "YAML reads this account id as a number",
                        )
                        .with_hint(format!("quote it: '{}'", n.text().unwrap_or_default())),
                    );
                    return None;
                }
                self.checked(n, "account_id", check::account_id)
            }),
            region: f
                .get("region")
                .and_then(|n| self.checked(n, "region", check::region)),
            cockpit_markdown_text: f
                .get("cockpit_markdown_text")
                .and_then(|n| self.string(n, "cockpit_markdown_text")),
            maintenance_window_expression,
            parameter_tier: parameter_tier
                .unwrap_or_else(|| Located::default_value(ParameterTier::Standard)),
            role_arn_to_manage_accounts: f
                .get("role_arn_to_manage_accounts")
                .and_then(|n| self.checked(n, "role_arn_to_manage_accounts", check::role_arn)),
            role_name_to_manage_codebuild: Self::or_default(
                f.get("role_name_to_manage_codebuild").and_then(|n| {
                    self.checked(n, "role_name_to_manage_codebuild", check::role_name)
                }),
                DEFAULT_CODEBUILD_ROLE,
            ),
            tags: f
                .get("tags")
                .map(|n| self.tags(n, "automation tags"))
                .unwrap_or_default(),
            verbosity: verbosity.unwrap_or_else(|| Located::default_value(Verbosity::Info)),
        }
    }

    fn metering(&mut self, node: Option<&Node>) -> Metering {
        let f = self.section(node, "metering", METERING_KEYS);
        let mut ttl = |key: &str, default: u64| {
            f.get(key)
                .and_then(|n| self.unsigned(n, key))
                .unwrap_or_else(|| Located::default_value(default))
        };
        let activities_ttl_in_seconds = ttl("activities_ttl_in_seconds", 31_622_400);
        let shadows_ttl_in_seconds = ttl("shadows_ttl_in_seconds", 15_811_200);
        let transactions_ttl_in_seconds = ttl("transactions_ttl_in_seconds", 10_800);
        Metering {
            activities_datastore: f
                .get("activities_datastore")
                .and_then(|n| self.checked(n, "activities_datastore", check::table_name)),
            activities_ttl_in_seconds,
            shadows_datastore: f
                .get("shadows_datastore")
                .and_then(|n| self.checked(n, "shadows_datastore", check::table_name)),
            shadows_ttl_in_seconds,
            transactions_datastore: f
                .get("transactions_datastore")
                .and_then(|n| self.checked(n, "transactions_datastore", check::table_name)),
            transactions_ttl_in_seconds,
        }
    }

    fn worker(&mut self, node: Option<&Node>) -> Worker {
        let f = self.section(node, "worker", WORKER_KEYS);
        Worker {
            build_timeout_in_minutes: f
                .get("build_timeout_in_minutes")
                .and_then(|n| self.build_timeout(n))
                .unwrap_or_else(|| Located::default_value(DEFAULT_BUILD_TIMEOUT_IN_MINUTES)),
            build_service_role_policy_arn: Self::or_default(
                f.get("build_service_role_policy_arn").and_then(|n| {
                    self.checked(
                        n,
                        "build_service_role_policy_arn",
                        check::managed_policy_arn,
                    )
                }),
                DEFAULT_BUILD_SERVICE_ROLE_POLICY_ARN,
            ),
            preparation_buildspec_template_file: f
                .get("preparation_buildspec_template_file")
                .and_then(|n| self.file_ref(n, "preparation_buildspec_template_file")),
            purge_buildspec_template_file: f
                .get("purge_buildspec_template_file")
                .and_then(|n| self.file_ref(n, "purge_buildspec_template_file")),
        }
    }

    fn features(&mut self, node: Option<&Node>) -> Features {
        let f = self.section(node, "features", FEATURES_KEYS);
        let with_csv_files = f
            .get("with_csv_files")
            .map(|n| {
                let mut files = Vec::new();
                for item in self.list(n, "with_csv_files") {
                    if let Some(file) = self.file_ref(item, "with_csv_files") {
                        files.push(file);
                    }
                }
                files
            })
            .unwrap_or_default();
        let with_end_user_documents = f
            .get("with_end_user_documents")
            .map(|n| {
                let mut documents = BTreeMap::new();
                match &n.value {
                    Value::Map(entries) => {
                        for entry in entries {
                            let Some(label) = self.checked(
                                &entry.key,
                                "with_end_user_documents",
                                check::ssm_name_part,
                            ) else {
                                continue;
                            };
                            if let Some(file) =
                                self.file_ref(&entry.value, "with_end_user_documents")
                            {
                                documents.insert(label.value, file);
                            }
                        }
                    }
                    _ => self.wrong_type(
                        n,
                        "a mapping of labels to file paths",
                        "with_end_user_documents",
                    ),
                }
                documents
            })
            .unwrap_or_default();
        let with_tag_prefix = f.get("with_tag_prefix").and_then(|n| {
            let value = self.string(n, "with_tag_prefix")?;
            let ok = self.check(&n.span, check::tag_key(&format!("{}state", value.value)));
            ok.then_some(value)
        });
        Features {
            with_account_parameters: f
                .get("with_account_parameters")
                .and_then(|n| self.boolean(n, "with_account_parameters"))
                .unwrap_or_else(|| Located::default_value(true)),
            with_arm_architecture: f
                .get("with_arm_architecture")
                .and_then(|n| self.boolean(n, "with_arm_architecture"))
                .unwrap_or_else(|| Located::default_value(false)),
            with_cost_email_recipients: f
                .get("with_cost_email_recipients")
                .map(|n| self.string_list(n, "with_cost_email_recipients", check::email))
                .unwrap_or_default(),
            with_cost_extra_currencies: f
                .get("with_cost_extra_currencies")
                .map(|n| self.string_list(n, "with_cost_extra_currencies", check::currency))
                .unwrap_or_default(),
            with_cost_management_tag: Self::or_default(
                f.get("with_cost_management_tag")
                    .and_then(|n| self.checked(n, "with_cost_management_tag", check::tag_key)),
                DEFAULT_COST_TAG,
            ),
            with_csv_files,
            with_email_subscriptions_on_alerts: f
                .get("with_email_subscriptions_on_alerts")
                .map(|n| self.string_list(n, "with_email_subscriptions_on_alerts", check::email))
                .unwrap_or_default(),
            with_end_user_documents,
            with_microsoft_webhook_on_alerts: f.get("with_microsoft_webhook_on_alerts").and_then(
                |n| {
                    self.checked(
                        n,
                        "with_microsoft_webhook_on_alerts",
                        check::https_or_local_url,
                    )
                },
            ),
            with_origin_email_recipient: f.get("with_origin_email_recipient").and_then(|n| {
                self.checked(n, "with_origin_email_recipient", check::email_with_name)
            }),
            with_response_plan_arn: f
                .get("with_response_plan_arn")
                .and_then(|n| self.checked(n, "with_response_plan_arn", check::arn)),
            with_slack_webhook_on_alerts: f.get("with_slack_webhook_on_alerts").and_then(|n| {
                self.checked(n, "with_slack_webhook_on_alerts", check::https_or_local_url)
            }),
            with_tag_prefix: Self::or_default(with_tag_prefix, DEFAULT_TAG_PREFIX),
        }
    }

    fn reporting(&mut self, node: Option<&Node>) -> Reporting {
        let f = self.section(node, "reporting", REPORTING_KEYS);
        let mut prefix = |key: &str, default: &str| {
            Self::or_default(
                f.get(key)
                    .and_then(|n| self.checked(n, key, check::key_prefix)),
                default,
            )
        };
        let activities_prefix = prefix("activities_prefix", "SpaReports/Activities");
        let costs_prefix = prefix("costs_prefix", "SpaReports/Costs");
        let exceptions_prefix = prefix("exceptions_prefix", "SpaReports/Exceptions");
        let inventories_prefix = prefix("inventories_prefix", "SpaReports/Inventories");
        let mut schedule = |key: &str| {
            f.get(key)
                .and_then(|n| self.schedule(n, key))
                .unwrap_or_else(|| default_schedule(key))
        };
        let activities_schedule_expression = schedule("activities_schedule_expression");
        let activities_month_to_date_schedule_expression =
            schedule("activities_month_to_date_schedule_expression");
        let costs_daily_schedule_expression = schedule("costs_daily_schedule_expression");
        let costs_early_schedule_expression = schedule("costs_early_schedule_expression");
        let costs_final_schedule_expression = schedule("costs_final_schedule_expression");
        let inventories_schedule_expression = schedule("inventories_schedule_expression");
        Reporting {
            activities_prefix,
            activities_schedule_expression,
            activities_month_to_date_schedule_expression,
            costs_prefix,
            costs_daily_schedule_expression,
            costs_early_schedule_expression,
            costs_exchange_rates_url: Self::or_default(
                f.get("costs_exchange_rates_url").and_then(|n| {
                    self.checked(n, "costs_exchange_rates_url", check::https_or_local_url)
                }),
                DEFAULT_EXCHANGE_RATES_URL,
            ),
            costs_final_schedule_expression,
            costs_markdown_template: f
                .get("costs_markdown_template")
                .and_then(|n| self.string(n, "costs_markdown_template")),
            exceptions_prefix,
            inventories_prefix,
            inventories_schedule_expression,
        }
    }
}

/// The built-in default of a schedule of `reporting`.
fn default_schedule(key: &str) -> LocatedSchedule {
    let expression = DEFAULT_REPORTING_SCHEDULES
        .iter()
        .find(|(k, _)| *k == key)
        .map_or("", |(_, e)| *e);
    LocatedSchedule {
        expression: Located::default_value(expression.to_string()),
        // The defaults are constants, parsed by a unit test.
        schedule: Schedule::parse(expression).expect("default schedules are valid"),
    }
}

/// How a value reads in a message: `yes`, a list, a mapping.
fn describe(node: &Node) -> String {
    match node.text() {
        Some(text) if !node.is_null() => format!("`{text}`"),
        _ => node.kind().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ignored_key_is_a_key_of_a_section_and_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for (path, why) in IGNORED_KEYS {
            assert!(seen.insert(*path), "{path} is listed twice");
            assert!(!why.is_empty(), "{path} says not why");
            let (section, key) = path.split_once('.').expect("section.key");
            let keys = SECTIONS
                .iter()
                .find(|(name, _)| *name == section)
                .map(|(_, keys)| *keys)
                .unwrap_or_else(|| panic!("{path}: no section {section}"));
            assert!(keys.contains(&key), "{path}: no key {key} in {section}");
        }
    }

    #[test]
    fn default_schedules_are_valid_and_each_names_a_reporting_key() {
        for (key, expression) in DEFAULT_REPORTING_SCHEDULES {
            assert!(REPORTING_KEYS.contains(key), "{key}");
            assert!(Schedule::parse(expression).is_ok(), "{expression}");
            assert_eq!(default_schedule(key).expression.value, *expression);
        }
    }
}
