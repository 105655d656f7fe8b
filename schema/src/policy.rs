//! Service control policies (`service_control_policies` in settings): the policy documents,
//! checked against the basic rules of the SCP grammar before AWS sees them, their size, the
//! number of policies per target, and whether a policy would lock spa out of the accounts it
//! manages.
//!
//! A document is read twice. `serde_json` decides whether the text is JSON (strict JSON, as
//! AWS reads it) and gives the canonical, minified text. JSON is YAML, so the project's own
//! located YAML tree of the same text then gives every key and value its line and column,
//! and the grammar is checked on that tree.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use crate::diag::{self, Diagnostic, FileName, Span, did_you_mean, thousands};
use crate::model::{ServiceControlPolicy, Settings};
use crate::yaml::{self, Entry, Node, Style, Value};

/// AWS refuses an SCP larger than this many characters (once whitespace outside strings is
/// removed: spa sends the minified text).
pub const MAX_POLICY_CHARACTERS: usize = 5_120;
/// AWS attaches at most this many SCPs to a root, an OU or an account, `FullAWSAccess`
/// included.
pub const MAX_POLICIES_PER_TARGET: usize = 5;
/// The name of the CodeBuild service role spa creates in each member account.
pub const SERVICE_ROLE: &str = "SpaCodeBuildServiceRole";
/// The only policy language version of SCPs.
pub const VERSION: &str = "2012-10-17";

/// What spa itself does inside member accounts, through the role
/// `automation.role_name_to_manage_codebuild`: a `Deny` of any of these that does not spare
/// that role locks spa out.
pub const SPA_ACTIONS: &[&str] = &[
    "sts:AssumeRole",
    "iam:CreateRole",
    "iam:PassRole",
    "iam:AttachRolePolicy",
    "iam:PutRolePolicy",
    "codebuild:CreateProject",
    "codebuild:StartBuild",
    "codebuild:BatchGetBuilds",
    "events:PutRule",
    "events:PutTargets",
    "sns:CreateTopic",
    "sns:SetTopicAttributes",
];

const TOP_KEYS: &[&str] = &["Version", "Statement"];
const STATEMENT_KEYS: &[&str] = &[
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];
const CONDITION_OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

/// What checking a policy document needs to know besides its text.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The policy's `name` in settings.
    pub name: &'a str,
    /// Where settings name the file (the `file:` value), for problems of the whole file.
    pub written: Span,
    /// Where settings name the policy, for labels.
    pub named: Span,
    /// `automation.role_name_to_manage_codebuild`.
    pub member_role: &'a str,
}

/// Checks the text of a policy document. Returns the minified, canonical JSON text when the
/// text is JSON (the caller keeps it even when the grammar has errors: the settings are
/// invalid then anyway). Every problem goes to `diagnostics`, located in the policy file.
pub fn check_document(
    file: FileName,
    text: &str,
    context: &Context,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<String> {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(error) => {
            diagnostics.push(syntax_error(file, text, context, &error));
            return None;
        }
    };
    // `Value`'s own serialisation: no whitespace, keys in their order, strings escaped only
    // where JSON requires it. It cannot fail for a `Value` with string keys.
    let minified = serde_json::to_string(&value).unwrap_or_default();
    let size = minified.chars().count();
    if size > MAX_POLICY_CHARACTERS {
        diagnostics.push(
            Diagnostic::error(
                "policy-too-large",
                context.written,
                format!(
                    "policy `{}` takes {} characters once minified (whitespace outside strings removed); AWS accepts at most {} for a service control policy",
                    context.name,
                    thousands(size),
                    thousands(MAX_POLICY_CHARACTERS)
                ),
            )
            .with_hint("split it into two policies, or shorten it: wildcards such as `ec2:Purchase*`, fewer statements, shorter `Sid`s"),
        );
    }
    // JSON forbids raw tabs inside strings, so every tab is whitespace, which YAML refuses in
    // indentation: a space in its place keeps every offset.
    let yaml_text: Cow<str> = if text.contains('\t') {
        Cow::Owned(text.replace('\t', " "))
    } else {
        Cow::Borrowed(text)
    };
    let mut yaml_diagnostics = Vec::new();
    let tree = yaml::parse(file, &yaml_text, &mut yaml_diagnostics);
    let mut walker = Walker {
        context,
        diagnostics,
        sids: HashMap::new(),
    };
    match tree {
        Some(root) => {
            for mut duplicate in yaml_diagnostics
                .into_iter()
                .filter(|d| d.code == "duplicate-key")
            {
                duplicate.hint = Some(
                    "JSON readers keep only one of them, not always the same; remove or merge the duplicate"
                        .to_string(),
                );
                walker.diagnostics.push(duplicate);
            }
            walker.document(&root);
        }
        // JSON that the YAML reader does not take (nesting deeper than it allows, escapes it
        // reads differently): the same checks, each at the top of the file.
        None => walker.document(&from_json(&value, Span::file(file))),
    }
    Some(minified)
}

/// The located error of a text `serde_json` refuses.
fn syntax_error(
    file: FileName,
    text: &str,
    context: &Context,
    error: &serde_json::Error,
) -> Diagnostic {
    let full = error.to_string();
    let message = full
        .rsplit_once(" at line ")
        .map_or(full.as_str(), |(message, _)| message);
    // serde_json counts lines from 1 and columns in bytes, the column being where it stopped.
    let line = error.line().max(1);
    let line_text = text.lines().nth(line - 1).unwrap_or_default();
    let byte = error.column().saturating_sub(1).min(line_text.len());
    let column = line_text
        .char_indices()
        .take_while(|(at, _)| *at < byte)
        .count();
    let at = Span::point(file, diag::number(line), diag::one_based(column));
    Diagnostic::error(
        "policy-syntax",
        at.slice(0, 1),
        format!("policy `{}` is not JSON: {message}", context.name),
    )
    .with_label(context.written, "named here")
    .with_hint(
        "a service control policy is a JSON document; check the quotes, commas and brackets around this place",
    )
}

/// A located tree of a JSON value, every node at `span`.
fn from_json(value: &serde_json::Value, span: Span) -> Node<'static> {
    let scalar = |text: String, style: Style| Value::Scalar {
        text: Cow::Owned(text),
        style,
    };
    let value = match value {
        serde_json::Value::Null => scalar("null".to_string(), Style::Plain),
        serde_json::Value::Bool(b) => scalar(b.to_string(), Style::Plain),
        serde_json::Value::Number(n) => scalar(n.to_string(), Style::Plain),
        serde_json::Value::String(s) => scalar(s.clone(), Style::Quoted),
        serde_json::Value::Array(items) => {
            Value::Seq(items.iter().map(|item| from_json(item, span)).collect())
        }
        serde_json::Value::Object(entries) => Value::Map(
            entries
                .iter()
                .map(|(key, value)| Entry {
                    key: Node {
                        value: scalar(key.clone(), Style::Quoted),
                        span,
                    },
                    value: from_json(value, span),
                })
                .collect(),
        ),
    };
    Node { value, span }
}

/// What a JSON value is, for messages.
fn kind(node: &Node) -> &'static str {
    match &node.value {
        Value::Scalar {
            style: Style::Plain,
            text,
        } => match text.as_ref() {
            "null" => "null",
            "true" | "false" => "a boolean",
            _ => "a number",
        },
        Value::Scalar { .. } => "a string",
        Value::Seq(_) => "a list",
        Value::Map(_) => "an object",
    }
}

/// The text of a JSON string.
fn string<'n>(node: &'n Node) -> Option<&'n str> {
    match &node.value {
        Value::Scalar {
            text,
            style: Style::Quoted,
        } => Some(text.as_ref()),
        _ => None,
    }
}

/// One statement's effect, as far as the lock-out check needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

struct Walker<'w, 'c> {
    context: &'w Context<'c>,
    diagnostics: &'w mut Vec<Diagnostic>,
    sids: HashMap<String, Span>,
}

impl Walker<'_, '_> {
    fn error(&mut self, span: Span, message: impl Into<String>, hint: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::error("invalid-policy", span, message).with_hint(hint));
    }

    /// The keys of an object, each checked against `known`.
    fn entries<'n, 'y>(
        &mut self,
        node: &'n Node<'y>,
        known: &[&str],
        what: &str,
    ) -> Vec<(&'n str, &'n Entry<'y>)> {
        let Value::Map(entries) = &node.value else {
            return Vec::new();
        };
        let mut found = Vec::with_capacity(entries.len());
        for entry in entries {
            let Some(key) = string(&entry.key) else {
                continue;
            };
            if known.contains(&key) {
                found.push((key, entry));
                continue;
            }
            if what == "a statement" && matches!(key, "Principal" | "NotPrincipal") {
                self.error(
                    entry.key.span,
                    format!("service control policies take no `{key}`"),
                    "an SCP applies to every principal of the accounts it is attached to; to spare some, add a condition such as \"ArnNotLike\": {\"aws:PrincipalArn\": [\"arn:aws:iam::*:role/RoleName\"]}",
                );
                continue;
            }
            let hint = match did_you_mean(key, known) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("known keys here: {}", known.join(", ")),
            };
            self.error(
                entry.key.span,
                format!("unknown key `{key}` in {what}"),
                hint,
            );
        }
        found
    }

    fn document(&mut self, root: &Node) {
        if !matches!(root.value, Value::Map(_)) {
            self.error(
                root.span,
                format!(
                    "a policy is a JSON object with `Version` and `Statement`, not {}",
                    kind(root)
                ),
                format!("write {{\"Version\": \"{VERSION}\", \"Statement\": [...]}}"),
            );
            return;
        }
        let entries = self.entries(root, TOP_KEYS, "the policy");
        let get = |key: &str| entries.iter().find(|(k, _)| *k == key).map(|(_, e)| *e);
        match get("Version") {
            None => self.error(
                root.span,
                "the policy has no `Version`",
                format!("add \"Version\": \"{VERSION}\""),
            ),
            Some(entry) if string(&entry.value) == Some(VERSION) => {}
            Some(entry) => {
                let found = string(&entry.value)
                    .map(|v| format!("`{v}`"))
                    .unwrap_or_else(|| kind(&entry.value).to_string());
                self.error(
                    entry.value.span,
                    format!("`Version` is {found}; service control policies use \"{VERSION}\""),
                    format!("write \"Version\": \"{VERSION}\""),
                );
            }
        }
        let Some(statement) = get("Statement") else {
            self.error(
                root.span,
                "the policy has no `Statement`",
                "add \"Statement\": [{\"Effect\": \"Deny\", \"Action\": [...], \"Resource\": \"*\"}]",
            );
            return;
        };
        match &statement.value.value {
            Value::Map(_) => self.statement(&statement.value),
            Value::Seq(items) if items.is_empty() => self.error(
                statement.value.span,
                "`Statement` is an empty list",
                "write at least one statement",
            ),
            Value::Seq(items) => {
                for item in items {
                    self.statement(item);
                }
            }
            _ => self.error(
                statement.value.span,
                format!(
                    "`Statement` must be an object or a list of objects, not {}",
                    kind(&statement.value)
                ),
                "write \"Statement\": [{\"Effect\": \"Deny\", \"Action\": [...], \"Resource\": \"*\"}]",
            ),
        }
    }

    fn statement(&mut self, node: &Node) {
        if !matches!(node.value, Value::Map(_)) {
            self.error(
                node.span,
                format!("a statement is a JSON object, not {}", kind(node)),
                "write {\"Effect\": \"Deny\", \"Action\": [...], \"Resource\": \"*\"}",
            );
            return;
        }
        let entries = self.entries(node, STATEMENT_KEYS, "a statement");
        let get = |key: &str| entries.iter().find(|(k, _)| *k == key).map(|(_, e)| *e);
        if let Some(sid) = get("Sid") {
            self.sid(sid);
        }
        let effect = match get("Effect") {
            None => {
                self.error(
                    node.span,
                    "this statement has no `Effect`",
                    "add \"Effect\": \"Deny\" (or \"Allow\")",
                );
                None
            }
            Some(entry) => match string(&entry.value) {
                Some("Allow") => Some(Effect::Allow),
                Some("Deny") => Some(Effect::Deny),
                other => {
                    let found = other
                        .map(|v| format!("`{v}`"))
                        .unwrap_or_else(|| kind(&entry.value).to_string());
                    let hint = match other.and_then(|v| did_you_mean(v, &["Allow", "Deny"])) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => "write \"Deny\" or \"Allow\"".to_string(),
                    };
                    self.error(
                        entry.value.span,
                        format!("`Effect` is {found}: only `Allow` and `Deny` exist"),
                        hint,
                    );
                    None
                }
            },
        };
        let action = match (get("Action"), get("NotAction")) {
            (Some(action), Some(not_action)) => {
                self.actions(action);
                self.actions(not_action);
                self.diagnostics.push(
                    Diagnostic::error(
                        "invalid-policy",
                        not_action.key.span,
                        "a statement has either `Action` or `NotAction`, not both",
                    )
                    .with_label(action.key.span, "`Action` is here")
                    .with_hint("keep one: `Action` lists what the statement covers, `NotAction` what it does not"),
                );
                None
            }
            (Some(action), None) => self.actions(action).map(|a| (false, a, action)),
            (None, Some(not_action)) => self.actions(not_action).map(|a| (true, a, not_action)),
            (None, None) => {
                self.error(
                    node.span,
                    "this statement has neither `Action` nor `NotAction`",
                    "add \"Action\": [\"service:Action\", ...] (or `NotAction`)",
                );
                None
            }
        };
        match (get("Resource"), get("NotResource")) {
            (Some(resource), Some(not_resource)) => self.diagnostics.push(
                Diagnostic::error(
                    "invalid-policy",
                    not_resource.key.span,
                    "a statement has either `Resource` or `NotResource`, not both",
                )
                .with_label(resource.key.span, "`Resource` is here"),
            ),
            (Some(resource), None) => self.resources(resource),
            (None, Some(not_resource)) => {
                if effect == Some(Effect::Allow) {
                    self.error(
                        not_resource.key.span,
                        "`NotResource` is allowed only in `Deny` statements of a service control policy",
                        "use `Resource` in an `Allow` statement",
                    );
                }
                self.resources(not_resource);
            }
            (None, None) => {}
        }
        let condition = get("Condition");
        let conditions_ok = condition.is_none_or(|c| self.condition(c));
        if let (Some(Effect::Deny), Some((negated, patterns, entry)), true) =
            (effect, action, conditions_ok)
        {
            self.lock_out(negated, &patterns, entry, condition);
        }
    }

    fn sid(&mut self, entry: &Entry) {
        let Some(sid) = string(&entry.value) else {
            self.error(
                entry.value.span,
                format!("`Sid` must be a string, not {}", kind(&entry.value)),
                "write letters and digits, e.g. \"DenyLeavingTheOrganization\"",
            );
            return;
        };
        if sid.is_empty() || !sid.chars().all(|c| c.is_ascii_alphanumeric()) {
            self.error(
                entry.value.span,
                format!("`Sid` `{sid}` is not alphanumeric"),
                "a `Sid` has letters and digits only, e.g. \"DenyLeavingTheOrganization\"",
            );
            return;
        }
        if let Some(first) = self.sids.get(sid) {
            self.diagnostics.push(
                Diagnostic::error(
                    "invalid-policy",
                    entry.value.span,
                    format!("`Sid` `{sid}` is used twice in this policy"),
                )
                .with_label(*first, "first used here")
                .with_hint("give each statement its own `Sid`"),
            );
            return;
        }
        self.sids.insert(sid.to_string(), entry.value.span);
    }

    /// A string or a non-empty list of strings; each item must pass `valid`.
    fn strings<'n>(
        &mut self,
        entry: &'n Entry,
        valid: fn(&str) -> bool,
        hint: &str,
        what: &str,
    ) -> Option<Vec<(&'n str, Span)>> {
        let key = string(&entry.key).unwrap_or_default();
        let items: Vec<&Node> = match &entry.value.value {
            Value::Seq(items) if items.is_empty() => {
                self.error(
                    entry.value.span,
                    format!("`{key}` is an empty list"),
                    "list at least one value",
                );
                return None;
            }
            Value::Seq(items) => items.iter().collect(),
            _ => vec![&entry.value],
        };
        let mut values = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            match string(item) {
                Some(text) if valid(text) => values.push((text, item.span)),
                Some(text) => {
                    ok = false;
                    self.error(item.span, format!("`{text}` is not {what}"), hint);
                }
                None => {
                    ok = false;
                    self.error(
                        item.span,
                        format!(
                            "`{key}` must be a string or a list of strings; this is {}",
                            kind(item)
                        ),
                        hint,
                    );
                }
            }
        }
        ok.then_some(values)
    }

    fn actions<'n>(&mut self, entry: &'n Entry) -> Option<Vec<(&'n str, Span)>> {
        self.strings(
            entry,
            is_action,
            "write `service:Action`, e.g. `ec2:RunInstances`, with `*` or `?` as wildcards, or `*` for every action",
            "an action",
        )
    }

    fn resources(&mut self, entry: &Entry) {
        let _ = self.strings(
            entry,
            |text| text == "*" || text.starts_with("arn:"),
            "write `*` or an ARN such as `arn:aws:s3:::bucket/*`",
            "a resource",
        );
    }

    /// `Condition`: operator → key → value(s). True when it is well formed.
    fn condition(&mut self, entry: &Entry) -> bool {
        let Value::Map(operators) = &entry.value.value else {
            self.error(
                entry.value.span,
                format!(
                    "`Condition` must be an object of operators, not {}",
                    kind(&entry.value)
                ),
                "write \"Condition\": {\"StringNotEquals\": {\"aws:RequestedRegion\": [\"eu-west-1\"]}}",
            );
            return false;
        };
        let mut ok = true;
        for operator in operators {
            let name = string(&operator.key).unwrap_or_default();
            if !is_condition_operator(name) {
                ok = false;
                let base = base_operator(name);
                let hint = match did_you_mean(base, CONDITION_OPERATORS) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => "operators are StringEquals, StringLike, ArnNotLike, Bool, … with an optional `IfExists` suffix and `ForAnyValue:` or `ForAllValues:` prefix".to_string(),
                };
                self.error(
                    operator.key.span,
                    format!("`{name}` is not a condition operator"),
                    hint,
                );
                continue;
            }
            let Value::Map(keys) = &operator.value.value else {
                ok = false;
                self.error(
                    operator.value.span,
                    format!(
                        "`{name}` must be an object of condition keys, not {}",
                        kind(&operator.value)
                    ),
                    format!("write \"{name}\": {{\"aws:PrincipalArn\": [\"...\"]}}"),
                );
                continue;
            };
            if keys.is_empty() {
                ok = false;
                self.error(
                    operator.value.span,
                    format!("`{name}` has no condition key"),
                    "add a key and its values, or remove the operator",
                );
            }
            for key in keys {
                if string(&key.key).is_none_or(str::is_empty) {
                    ok = false;
                    self.error(
                        key.key.span,
                        "a condition key is empty",
                        "write a key such as `aws:PrincipalArn`",
                    );
                }
                ok &= self.condition_values(&key.value);
            }
        }
        ok
    }

    fn condition_values(&mut self, node: &Node) -> bool {
        let scalar = |n: &Node| matches!(n.value, Value::Scalar { .. }) && !n.is_null();
        match &node.value {
            Value::Seq(items) if items.is_empty() => {
                self.error(
                    node.span,
                    "a condition key has an empty list of values",
                    "list at least one value",
                );
                false
            }
            Value::Seq(items) => {
                let mut ok = true;
                for item in items.iter().filter(|item| !scalar(item)) {
                    ok = false;
                    self.error(
                        item.span,
                        format!(
                            "a condition value is a string, a number or a boolean, not {}",
                            kind(item)
                        ),
                        "write the values as a list of strings",
                    );
                }
                ok
            }
            _ if scalar(node) => true,
            _ => {
                self.error(
                    node.span,
                    format!(
                        "a condition value is a string, a number, a boolean or a list of them, not {}",
                        kind(node)
                    ),
                    "write the values as a list of strings",
                );
                false
            }
        }
    }

    /// Warns when a `Deny` statement covers an action of [`SPA_ACTIONS`] and its conditions
    /// do not spare spa's member role.
    fn lock_out(
        &mut self,
        negated: bool,
        patterns: &[(&str, Span)],
        entry: &Entry,
        condition: Option<&Entry>,
    ) {
        let member_role = self.context.member_role;
        if condition.is_some_and(|c| spares(&c.value, member_role)) {
            return;
        }
        let (span, covered) = if negated {
            let Some(action) = SPA_ACTIONS
                .iter()
                .find(|action| !patterns.iter().any(|(p, _)| action_matches(p, action)))
            else {
                return;
            };
            (
                entry.key.span,
                format!("denies every action but those of `NotAction`, `{action}` included"),
            )
        } else {
            let Some((pattern, span, action)) = patterns.iter().find_map(|(pattern, span)| {
                SPA_ACTIONS
                    .iter()
                    .find(|action| action_matches(pattern, action))
                    .map(|action| (*pattern, *span, *action))
            }) else {
                return;
            };
            (
                span,
                if pattern == action {
                    format!("denies `{action}`")
                } else {
                    format!("denies `{action}` (through `{pattern}`)")
                },
            )
        };
        self.diagnostics.push(
            Diagnostic::warning(
                "policy-lockout",
                span,
                format!(
                    "spa would lock itself out of the accounts this policy applies to: this statement {covered}, which spa does in member accounts"
                ),
            )
            .with_label(self.context.named, "the policy is named here")
            .with_hint(format!(
                "exempt spa's member role (`automation.role_name_to_manage_codebuild`, here `{member_role}`) and `{SERVICE_ROLE}` for the builds: \"Condition\": {{\"ArnNotLike\": {{\"aws:PrincipalArn\": [\"arn:aws:iam::*:role/{member_role}\", \"arn:aws:iam::*:role/{SERVICE_ROLE}\"]}}}}"
            )),
        );
    }
}

/// The name of an action: `*`, or `service:Action` with `*` and `?` as wildcards.
fn is_action(text: &str) -> bool {
    let part = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"*?-_".contains(&b))
    };
    text == "*"
        || text
            .split_once(':')
            .is_some_and(|(service, action)| part(service) && part(action))
}

/// `StringLike`, `ArnNotLikeIfExists`, `ForAnyValue:StringEquals`, …
fn is_condition_operator(name: &str) -> bool {
    let name = name
        .strip_prefix("ForAnyValue:")
        .or_else(|| name.strip_prefix("ForAllValues:"))
        .unwrap_or(name);
    CONDITION_OPERATORS.contains(&name)
        || name
            .strip_suffix("IfExists")
            .is_some_and(|base| base != "Null" && CONDITION_OPERATORS.contains(&base))
}

/// An operator without its set prefix and `IfExists` suffix.
fn base_operator(name: &str) -> &str {
    let name = name
        .strip_prefix("ForAnyValue:")
        .or_else(|| name.strip_prefix("ForAllValues:"))
        .unwrap_or(name);
    name.strip_suffix("IfExists").unwrap_or(name)
}

/// Whether an action pattern of a policy covers `action` (IAM compares actions without regard
/// to case).
fn action_matches(pattern: &str, action: &str) -> bool {
    glob(
        pattern.to_ascii_lowercase().as_bytes(),
        action.to_ascii_lowercase().as_bytes(),
    )
}

/// `*` matches any run of characters, `?` one character. Linear in practice: the greedy
/// algorithm backtracks only to the last `*`.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

/// Whether a statement's conditions leave the member role out: a negated condition on
/// `aws:PrincipalArn` that names it, or a positive one that cannot match it (the root user's
/// ARN, say). Conditions are ANDed, so one such condition is enough.
fn spares(condition: &Node, member_role: &str) -> bool {
    let Value::Map(operators) = &condition.value else {
        return false;
    };
    operators.iter().any(|operator| {
        let name = string(&operator.key).unwrap_or_default();
        if name.contains(':') {
            // ForAnyValue/ForAllValues: for multivalued keys, which aws:PrincipalArn is not.
            return false;
        }
        let base = base_operator(name);
        let (negated, wildcards) = match base {
            "ArnNotLike" | "ArnNotEquals" => (true, true),
            "StringNotLike" => (true, true),
            "StringNotEquals" => (true, false),
            "ArnLike" | "ArnEquals" | "StringLike" => (false, true),
            "StringEquals" => (false, false),
            _ => return false,
        };
        let Value::Map(keys) = &operator.value.value else {
            return false;
        };
        keys.iter()
            .filter(|key| {
                string(&key.key).is_some_and(|k| k.eq_ignore_ascii_case("aws:PrincipalArn"))
            })
            .any(|key| {
                let values: Vec<&str> = match &key.value.value {
                    Value::Seq(items) => items.iter().filter_map(|i| i.text()).collect(),
                    _ => key.value.text().into_iter().collect(),
                };
                let names_role = values
                    .iter()
                    .any(|value| could_match_role(value, member_role, wildcards));
                if negated { names_role } else { !names_role }
            })
    })
}

/// Whether an ARN condition value can match the role `role` in some account (the account is
/// not known here). `literal`: the operator takes no wildcards (`StringEquals`).
fn could_match_role(value: &str, role: &str, wildcards: bool) -> bool {
    let resource = format!("role/{role}");
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    if parts.len() < 6 {
        return wildcards
            && glob(
                value.as_bytes(),
                format!("arn:aws:iam::123456789012:{resource}").as_bytes(),
            );
    }
    if !wildcards {
        return parts[0] == "arn"
            && parts[2] == "iam"
            && parts[4].len() == 12
            && parts[4].bytes().all(|b| b.is_ascii_digit())
            && parts[5] == resource;
    }
    glob(parts[0].as_bytes(), b"arn")
        && glob(parts[2].as_bytes(), b"iam")
        && glob(parts[5].as_bytes(), resource.as_bytes())
}

/// Cross-checks of the policies with the rest of the settings: each target is managed, and
/// no target gets more policies than AWS attaches.
pub fn check_targets(settings: &Settings, diagnostics: &mut Vec<Diagnostic>) {
    let listed = settings.listed_accounts();
    for policy in &settings.service_control_policies {
        for ou in &policy.organizational_units {
            if settings.organizational_unit(&ou.value).is_none() {
                diagnostics.push(
                    Diagnostic::error(
                        "unmanaged-target",
                        ou.span.unwrap_or(policy.span),
                        format!(
                            "policy `{}` targets `{}`, an organizational unit that spa does not manage",
                            policy.name.value, ou.value
                        ),
                    )
                    .with_hint("list it in `organizational_units`, or remove it here: spa attaches policies only to what it manages"),
                );
            }
        }
        for account in &policy.accounts {
            if listed.binary_search(&account.value.as_str()).is_err() {
                diagnostics.push(
                    Diagnostic::error(
                        "unmanaged-target",
                        account.span.unwrap_or(policy.span),
                        format!(
                            "policy `{}` targets `{}`, an account that is not listed in `accounts` or a CSV file",
                            policy.name.value, account.value
                        ),
                    )
                    .with_hint("list it in `accounts` or a CSV file, or target its organizational unit"),
                );
            }
        }
    }
    check_counts(settings, diagnostics);
}

/// A target and the policies that count against its quota, in the order of settings.
type Counts<'s> = BTreeMap<(u8, &'s str), Vec<(&'s ServiceControlPolicy, Span)>>;

/// At most [`MAX_POLICIES_PER_TARGET`] policies per target, `FullAWSAccess` included:
/// - an OU: the policies without `states` that target it;
/// - the accounts of an OU: the policies with `states` that target the OU (a per-state policy
///   is attached to each account, not to the OU);
/// - a listed account: the policies that target it directly, with or without `states`.
///
/// Per-state policies count whatever their states: an account goes through every state.
/// Settings do not say which OU holds a listed account, so its own policies and its OU's
/// per-state policies are counted apart; AWS refuses an attachment beyond its quota.
fn check_counts(settings: &Settings, diagnostics: &mut Vec<Diagnostic>) {
    const OU: u8 = 0;
    const OU_ACCOUNTS: u8 = 1;
    const ACCOUNT: u8 = 2;
    let mut counts: Counts = BTreeMap::new();
    for policy in &settings.service_control_policies {
        let per_state = !policy.states.is_empty();
        for ou in &policy.organizational_units {
            let kind = if per_state { OU_ACCOUNTS } else { OU };
            let span = ou.span.unwrap_or(policy.span);
            counts
                .entry((kind, &ou.value))
                .or_default()
                .push((policy, span));
        }
        for account in &policy.accounts {
            let span = account.span.unwrap_or(policy.span);
            counts
                .entry((ACCOUNT, &account.value))
                .or_default()
                .push((policy, span));
        }
    }
    for ((kind, target), policies) in &counts {
        if policies.len() < MAX_POLICIES_PER_TARGET {
            continue;
        }
        let who = match *kind {
            OU => format!("organizational unit `{target}`"),
            OU_ACCOUNTS => format!("each account of `{target}`"),
            _ => format!("account `{target}`"),
        };
        let full_access = "AWS counts `FullAWSAccess` too, so it refuses a 5th policy of spa's while `FullAWSAccess` is attached";
        let diagnostic = if policies.len() > MAX_POLICIES_PER_TARGET {
            let (policy, span) = policies[MAX_POLICIES_PER_TARGET];
            Diagnostic::error(
                "too-many-policies",
                span,
                format!(
                    "{who} would get {} service control policies from spa; AWS attaches at most {MAX_POLICIES_PER_TARGET} to a target (`{}` is the {}th)",
                    policies.len(),
                    policy.name.value,
                    MAX_POLICIES_PER_TARGET + 1
                ),
            )
            .with_hint(format!("merge some of them into one policy; {full_access}"))
        } else {
            let (_, span) = policies[MAX_POLICIES_PER_TARGET - 1];
            Diagnostic::warning(
                "too-many-policies",
                span,
                format!(
                    "{who} would get {MAX_POLICIES_PER_TARGET} service control policies from spa, AWS's limit for a target"
                ),
            )
            .with_hint(format!("{full_access}; detach `FullAWSAccess` only where another policy allows what is needed, or merge two of spa's policies"))
        };
        let shown = policies.len().min(MAX_POLICIES_PER_TARGET + 1) - 1;
        let diagnostic = policies[..shown]
            .iter()
            .fold(diagnostic, |d, (policy, span)| {
                d.with_label(*span, format!("`{}`", policy.name.value))
            });
        diagnostics.push(diagnostic);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> (Option<String>, Vec<Diagnostic>) {
        let file = diag::intern("p.json");
        let settings = diag::intern("settings.yaml");
        let context = Context {
            name: "P",
            written: Span::point(settings, 1, 1),
            named: Span::point(settings, 1, 1),
            member_role: "AWSControlTowerExecution",
        };
        let mut diagnostics = Vec::new();
        let minified = check_document(file, text, &context, &mut diagnostics);
        (minified, diagnostics)
    }

    #[test]
    fn json_errors_are_located_in_characters() {
        let (minified, diagnostics) = check("{\n  \"Sid\": \"é\" ]\n}");
        assert!(minified.is_none());
        assert_eq!(diagnostics[0].code, "policy-syntax");
        assert_eq!(
            (diagnostics[0].span.line, diagnostics[0].span.column),
            (2, 14)
        );
        let (_, diagnostics) = check("");
        assert_eq!(diagnostics[0].code, "policy-syntax");
        let (_, diagnostics) = check("{\"Version\": \"2012-10-17\",");
        assert_eq!(diagnostics[0].code, "policy-syntax");
    }

    #[test]
    fn what_yaml_refuses_is_checked_all_the_same() {
        // 100 levels: JSON, but deeper than the YAML reader goes.
        let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        let text = format!(
            "{{\"Version\": \"2012-10-17\", \"Statement\": {{\"Effect\": \"Deny\", \"Action\": \"s3:*\", \"Condition\": {{\"Bool\": {{\"k\": {deep}}}}}}}}}"
        );
        let (minified, diagnostics) = check(&text);
        assert!(minified.is_some());
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        assert_eq!(diagnostics[0].code, "invalid-policy");
        assert_eq!(
            (diagnostics[0].span.line, diagnostics[0].span.column),
            (1, 1)
        );
    }

    #[test]
    fn the_size_limit_counts_characters_of_the_minified_text() {
        let document = |sid_length: usize| {
            format!(
                "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": {{\"Sid\": \"{}\", \"Effect\": \"Deny\", \"Action\": \"s3:*\"}}\n}}",
                "A".repeat(sid_length)
            )
        };
        let overhead = check(&document(0)).0.unwrap().chars().count();
        let (minified, diagnostics) = check(&document(MAX_POLICY_CHARACTERS - overhead));
        assert_eq!(minified.unwrap().chars().count(), MAX_POLICY_CHARACTERS);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let (_, diagnostics) = check(&document(MAX_POLICY_CHARACTERS - overhead + 1));
        assert_eq!(diagnostics[0].code, "policy-too-large");
        assert!(diagnostics[0].message.contains("5,121 characters"));
    }

    #[test]
    fn spa_is_locked_out_only_when_its_role_is_not_spared() {
        let statement = |action: &str, condition: &str| {
            format!(
                "{{\"Version\": \"2012-10-17\", \"Statement\": {{\"Effect\": \"Deny\", {action}, \"Resource\": \"*\"{condition}}}}}"
            )
        };
        let locked = |action: &str, condition: &str| {
            let (_, diagnostics) = check(&statement(action, condition));
            assert!(
                diagnostics.iter().all(|d| d.code == "policy-lockout"),
                "{diagnostics:?}"
            );
            !diagnostics.is_empty()
        };
        let spared = r#", "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/AWSControlTowerExecution"}}"#;
        assert!(locked(r#""Action": "*""#, ""));
        assert!(locked(r#""Action": "sts:Assume*""#, ""));
        assert!(locked(r#""Action": "CodeBuild:StartBuild""#, ""));
        assert!(!locked(r#""Action": "*""#, spared));
        assert!(!locked(r#""Action": "s3:*""#, ""));
        assert!(locked(r#""NotAction": ["iam:*", "sts:*"]"#, ""));
        assert!(!locked(
            r#""NotAction": ["iam:*", "sts:*", "codebuild:*", "events:*", "sns:*"]"#,
            ""
        ));
        let root_only =
            r#", "Condition": {"StringLike": {"aws:principalarn": ["arn:aws:iam::*:root"]}}"#;
        assert!(!locked(r#""Action": "*""#, root_only));
        let everyone = r#", "Condition": {"ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::*:*"]}}"#;
        assert!(locked(r#""Action": "*""#, everyone));
        let if_exists = r#", "Condition": {"ArnNotLikeIfExists": {"aws:PrincipalArn": ["arn:aws:iam::*:role/AWSControlTower*"]}}"#;
        assert!(!locked(r#""Action": "*""#, if_exists));
    }

    #[test]
    fn globs() {
        assert!(glob(b"*", b"anything"));
        assert!(glob(b"iam:*", b"iam:createrole"));
        assert!(glob(b"*:create*", b"iam:createrole"));
        assert!(glob(b"iam:?reaterole", b"iam:createrole"));
        assert!(!glob(b"iam:get*", b"iam:createrole"));
        assert!(!glob(b"", b"x"));
        assert!(glob(b"", b""));
        assert!(glob(b"a*b*c", b"aXbYbc"));
        assert!(!glob(b"a*b*c", b"aXbYb"));
    }

    #[test]
    fn actions_and_operators() {
        assert!(is_action("*"));
        assert!(is_action("ec2:Purchase*"));
        assert!(is_action("aws-marketplace:Subscribe"));
        assert!(!is_action("ec2"));
        assert!(!is_action("ec2:"));
        assert!(!is_action("ec2:Run Instances"));
        assert!(is_condition_operator("ArnNotLike"));
        assert!(is_condition_operator("StringNotEqualsIfExists"));
        assert!(is_condition_operator("ForAnyValue:StringLike"));
        assert!(is_condition_operator("Null"));
        assert!(!is_condition_operator("NullIfExists"));
        assert!(!is_condition_operator("StringNotEqual"));
        assert!(!is_condition_operator("IfExists"));
        assert!(action_matches("IAM:Create*", "iam:CreateRole"));
    }

    #[test]
    fn role_arns_that_could_name_the_member_role() {
        let role = "AWSControlTowerExecution";
        assert!(could_match_role(
            "arn:aws:iam::*:role/AWSControlTowerExecution",
            role,
            true
        ));
        assert!(could_match_role(
            "arn:*:iam::*:role/AWSControl*",
            role,
            true
        ));
        assert!(could_match_role("*", role, true));
        assert!(!could_match_role("arn:aws:iam::*:root", role, true));
        assert!(!could_match_role(
            "arn:aws:iam::*:role/AWSControlTowerExecution",
            role,
            false
        ));
        assert!(could_match_role(
            "arn:aws:iam::123456789012:role/AWSControlTowerExecution",
            role,
            false
        ));
    }
}
