//! Loading a settings repository: `settings.yaml`, then the CSV files, buildspecs and
//! documents it names, all through a [`FileProvider`]. Never stops at the first problem.

use std::collections::HashMap;
use std::sync::Arc;

use crate::check;
use crate::decode::Decoder;
use crate::diag::{self, Diagnostic, Severity, Sources, Span};
use crate::files::{FileError, FileProvider};
use crate::model::{FileRef, Item, Published, Settings};
use crate::resolve::Resolver;

/// SSM Parameter Store limits: standard tier up to 4 KB, advanced up to 8 KB.
pub const SSM_STANDARD_LIMIT: usize = 4096;
pub const SSM_ADVANCED_LIMIT: usize = 8192;
/// AWS Organizations accepts at most 50 tags on an account.
pub const MAX_TAGS_PER_ACCOUNT: usize = 50;
/// Parameters an account and region hold: standard (not adjustable), advanced.
pub const SSM_STANDARD_QUOTA: usize = 10_000;
pub const SSM_ADVANCED_QUOTA: usize = 100_000;

/// What loading found: the model (when settings.yaml could be read as a mapping, even with
/// errors elsewhere) and every diagnostic. Only a result without errors may be applied.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub settings: Option<Settings>,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: Sources,
}

impl Loaded {
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }

    /// The settings, if there is no error at all.
    pub fn valid(&self) -> Option<&Settings> {
        self.settings.as_ref().filter(|_| self.error_count() == 0)
    }

    /// The diagnostics as text: the first [`diag::DEFAULT_LIMIT`] in full, then a count of
    /// the others per code (see [`diag::render_limited`]).
    pub fn render(&self, style: diag::Style) -> String {
        self.render_limited(style, diag::DEFAULT_LIMIT)
    }

    /// The first `limit` diagnostics in full, then a count of the others per code.
    pub fn render_limited(&self, style: diag::Style, limit: usize) -> String {
        diag::render_limited(&self.diagnostics, &self.sources, style, limit)
    }

    /// Every diagnostic in full, however many there are.
    pub fn render_all(&self, style: diag::Style) -> String {
        diag::render(&self.diagnostics, &self.sources, style)
    }

    /// The totals, a count per code and the first `limit` diagnostics: a bounded value to
    /// embed in a JSON report or a status page.
    pub fn summary(&self, limit: usize) -> diag::Summary {
        diag::Summary::new(&self.diagnostics, limit)
    }
}

/// Reads a file as UTF-8 text (a byte-order mark is dropped), recording it in `sources`.
fn read_text(
    files: &dyn FileProvider,
    path: &str,
    written: Option<&Span>,
    what: &str,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Arc<str>> {
    let file = diag::intern(path);
    let at = written.cloned().unwrap_or_else(|| Span::file(file));
    let bytes = match files.read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            let (code, hint) = match &error {
                FileError::NotFound => (
                    "missing-file",
                    Some("paths are relative to the directory of settings.yaml and must be committed at the same revision".to_string()),
                ),
                FileError::EscapesRepository { .. } => (
                    "path-outside-repository",
                    Some("settings may only name files inside the settings repository".to_string()),
                ),
                FileError::TooLarge { .. } => (
                    "file-too-large",
                    Some("settings files are small; was a data file committed by mistake?".to_string()),
                ),
                _ => ("unreadable-file", None),
            };
            let mut d =
                Diagnostic::error(code, at, format!("cannot read {what} `{path}`: {error}"));
            d.hint = hint;
            diagnostics.push(d);
            return None;
        }
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            // One copy, shared by the caller and the diagnostics renderer.
            let text: Arc<str> = Arc::from(text);
            sources.insert_shared(file, text.clone());
            Some(text)
        }
        Err(error) => {
            let valid = String::from_utf8_lossy(&bytes[..error.valid_up_to()]);
            let line = diag::one_based(valid.matches('\n').count());
            let column =
                diag::one_based(valid.rsplit('\n').next().map_or(0, |l| l.chars().count()));
            sources.insert(file, &String::from_utf8_lossy(bytes));
            diagnostics.push(
                Diagnostic::error(
                    "invalid-utf8",
                    Span::point(file, line, column),
                    format!("{what} `{path}` is not valid UTF-8"),
                )
                .with_hint("save the file as UTF-8 (spreadsheets: \"CSV UTF-8\")"),
            );
            None
        }
    }
}

/// Loads and validates the settings repository whose `settings.yaml` is at `settings_path`.
pub fn load(files: &dyn FileProvider, settings_path: &str) -> Loaded {
    let mut diagnostics = Vec::new();
    let mut sources = Sources::default();
    let settings = load_inner(files, settings_path, &mut sources, &mut diagnostics);
    diagnostics.sort_by(|a, b| {
        (a.severity, &a.span.file, a.span.line, a.span.column).cmp(&(
            b.severity,
            &b.span.file,
            b.span.line,
            b.span.column,
        ))
    });
    for diagnostic in &mut diagnostics {
        diagnostic.clip_texts();
    }
    Loaded {
        settings,
        diagnostics,
        sources,
    }
}

fn load_inner(
    files: &dyn FileProvider,
    settings_path: &str,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Settings> {
    let path = match check::repository_path("", settings_path) {
        Ok(path) => path,
        Err(problem) => {
            let file = diag::intern(settings_path);
            let mut d =
                Diagnostic::error("path-outside-repository", Span::file(file), problem.message);
            d.hint = problem.hint;
            diagnostics.push(d);
            return None;
        }
    };
    let text = read_text(files, &path, None, "settings", sources, diagnostics)?;
    let file = diag::intern(path.as_str());
    let before = diagnostics.len();
    let root = crate::yaml::parse(file, &text, diagnostics);
    let Some(root) = root else {
        if diagnostics.len() == before {
            diagnostics.push(
                Diagnostic::error("empty-settings", Span::file(file), "settings file is empty")
                    .with_hint("start from example-config-repo/settings.yaml"),
            );
        }
        return None;
    };
    let base_dir = path.rsplit_once('/').map_or("", |(dir, _)| dir).to_string();
    let mut decoder = Decoder {
        diagnostics,
        base_dir,
    };
    let settings = decoder.settings(&root, &path);
    // The tree is as large as the model: free it before reading the other files.
    drop(root);
    let mut settings = settings?;

    for csv_file in settings.features.with_csv_files.clone() {
        let Some(text) = read_text(
            files,
            &csv_file.path,
            csv_file.written.span.as_ref(),
            "CSV file",
            sources,
            diagnostics,
        ) else {
            continue;
        };
        let file = diag::intern(csv_file.path.as_str());
        settings
            .csv_rows
            .extend(crate::csv::parse(file, &text, diagnostics));
    }
    settings.preparation_buildspec = settings
        .worker
        .preparation_buildspec_template_file
        .clone()
        .and_then(|f| published(files, &f, "buildspec", true, sources, diagnostics));
    settings.purge_buildspec = settings
        .worker
        .purge_buildspec_template_file
        .clone()
        .and_then(|f| published(files, &f, "buildspec", true, sources, diagnostics));
    for (label, document) in settings.features.with_end_user_documents.clone() {
        if let Some(p) = published(files, &document, "document", false, sources, diagnostics) {
            settings.documents.insert(label, p);
        }
    }
    read_policies(files, &mut settings, sources, diagnostics);
    crate::policy::check_targets(&settings, diagnostics);
    check_reserved_tags(&settings, diagnostics);
    check_published_sizes(&settings, diagnostics);
    check_parameter_quota(&settings, diagnostics);
    check_subscriptions_topic(&settings, diagnostics);
    check_costs(&settings, diagnostics);
    Some(settings)
}

/// Costs are on when `features.with_cost_management_tag` is set: the other cost keys do
/// nothing without it, and the e-mail needs both a sender and recipients.
fn check_costs(settings: &Settings, diagnostics: &mut Vec<Diagnostic>) {
    let features = &settings.features;
    let reporting = &settings.reporting;
    // The exceptions prefix holds the costs linked from incidents: nothing without incidents.
    if features.with_response_plan_arn.is_none()
        && let Some(span) = reporting.exceptions_prefix.span
    {
        diagnostics.push(
            Diagnostic::warning(
                "ignored-key",
                span,
                "`reporting.exceptions_prefix` is ignored: it holds the costs linked from Incident Manager incidents, and settings start none",
            )
            .with_hint("set `features.with_response_plan_arn` to start an incident per exception, or remove this key"),
        );
    }
    let first = |list: &[crate::Located<String>]| list.first().and_then(|v| v.span);
    let set: [(&str, Option<Span>); 9] = [
        (
            "features.with_cost_email_recipients",
            first(&features.with_cost_email_recipients),
        ),
        (
            "features.with_cost_extra_currencies",
            first(&features.with_cost_extra_currencies),
        ),
        (
            "features.with_origin_email_recipient",
            features
                .with_origin_email_recipient
                .as_ref()
                .and_then(|v| v.span),
        ),
        ("reporting.costs_prefix", reporting.costs_prefix.span),
        (
            "reporting.costs_daily_schedule_expression",
            reporting.costs_daily_schedule_expression.expression.span,
        ),
        (
            "reporting.costs_early_schedule_expression",
            reporting.costs_early_schedule_expression.expression.span,
        ),
        (
            "reporting.costs_final_schedule_expression",
            reporting.costs_final_schedule_expression.expression.span,
        ),
        (
            "reporting.costs_exchange_rates_url",
            reporting.costs_exchange_rates_url.span,
        ),
        (
            "reporting.costs_markdown_template",
            reporting
                .costs_markdown_template
                .as_ref()
                .and_then(|v| v.span),
        ),
    ];
    if features.with_cost_management_tag.span.is_none() {
        for (path, span) in set {
            if let Some(span) = span {
                diagnostics.push(
                    Diagnostic::warning(
                        "ignored-key",
                        span,
                        format!("`{path}` is ignored: costs are off until `features.with_cost_management_tag` is set"),
                    )
                    .with_hint("set `features.with_cost_management_tag` (the account tag whose value is the cost center, `cost-center` in most organizations) to turn cost reports on"),
                );
            }
        }
        return;
    }
    // SES takes at most 50 recipients in one message.
    if let Some(extra) = features.with_cost_email_recipients.get(50)
        && let Some(span) = extra.span
    {
        diagnostics.push(
            Diagnostic::error(
                "too-many-recipients",
                span,
                format!(
                    "{} cost e-mail recipients: SES sends one message to at most 50 (this is the 51st)",
                    features.with_cost_email_recipients.len()
                ),
            )
            .with_hint("send it to a distribution list instead"),
        );
    }
    let recipients = first(&features.with_cost_email_recipients);
    let origin = features
        .with_origin_email_recipient
        .as_ref()
        .and_then(|v| v.span);
    match (recipients, origin) {
        (Some(span), None) => diagnostics.push(
            Diagnostic::warning(
                "ignored-key",
                span,
                "`features.with_cost_email_recipients` is ignored without `features.with_origin_email_recipient`: the monthly e-mail needs a sender",
            )
            .with_hint("set `features.with_origin_email_recipient` to an address (or domain) verified in SES"),
        ),
        (None, Some(span)) => diagnostics.push(
            Diagnostic::warning(
                "ignored-key",
                span,
                "`features.with_origin_email_recipient` is ignored without `features.with_cost_email_recipients`: nobody receives the monthly e-mail",
            )
            .with_hint("list the FinOps addresses in `features.with_cost_email_recipients`"),
        ),
        _ => {}
    }
    for currency in &features.with_cost_extra_currencies {
        if let (true, Some(span)) = (currency.value == "USD", currency.span) {
            diagnostics.push(
                Diagnostic::warning(
                    "ignored-key",
                    span,
                    "`USD` in `features.with_cost_extra_currencies` is ignored: every report is in USD already",
                )
                .with_hint("remove it; list only the other currencies wanted"),
            );
        }
    }
}

/// The e-mail subscriptions are those of the topic `<env>Exceptions` of the automation
/// account: without its id, spa cannot name the topic and the addresses would do nothing.
fn check_subscriptions_topic(settings: &Settings, diagnostics: &mut Vec<Diagnostic>) {
    let emails = &settings.features.with_email_subscriptions_on_alerts;
    let Some(span) = emails.first().and_then(|e| e.span.as_ref()) else {
        return;
    };
    if settings.automation.account_id.is_some() {
        return;
    }
    diagnostics.push(
        Diagnostic::warning(
            "ignored-key",
            *span,
            "`features.with_email_subscriptions_on_alerts` is ignored without `automation.account_id`: the addresses are subscribed to the topic `<environment_identifier>Exceptions` of the automation account, which spa names from that id",
        )
        .with_hint("set `automation.account_id` to the account of the automation stack"),
    );
}

/// The parameters settings publish must fit in the tier quota of one account and region,
/// before anything else there counts: an error at the listed account that passes it (the
/// plan also counts what the account already holds).
fn check_parameter_quota(settings: &Settings, diagnostics: &mut Vec<Diagnostic>) {
    use crate::model::ParameterTier;
    let quota = match settings.automation.parameter_tier.value {
        ParameterTier::Standard => SSM_STANDARD_QUOTA,
        ParameterTier::Advanced => SSM_ADVANCED_QUOTA,
        // Past the standard quota, AWS makes parameters advanced.
        ParameterTier::IntelligentTiering => SSM_STANDARD_QUOTA + SSM_ADVANCED_QUOTA,
    };
    let shared = settings.organizational_units.len()
        + usize::from(settings.preparation_buildspec.is_some())
        + usize::from(settings.purge_buildspec.is_some())
        + settings.documents.len();
    if !settings.features.with_account_parameters.value {
        return;
    }
    let mut seen = std::collections::HashSet::new();
    let listed: Vec<&Item> = settings
        .accounts
        .iter()
        .chain(&settings.csv_rows)
        .filter(|item| seen.insert(item.identifier.value.as_str()))
        .collect();
    let total = shared + listed.len();
    if total <= quota {
        return;
    }
    let Some(span) = quota
        .checked_sub(shared)
        .and_then(|index| listed.get(index))
        .and_then(|item| item.identifier.span.as_ref())
    else {
        return;
    };
    let tier = settings.automation.parameter_tier.value.as_str();
    diagnostics.push(
        Diagnostic::error(
            "parameter-quota",
            *span,
            format!(
                "settings publish {total} parameters ({} OUs, {} listed accounts, buildspecs and documents), above the {quota} that SSM Parameter Store holds in one account and region with `parameter_tier: {tier}`; this account is the first past the quota",
                settings.organizational_units.len(),
                listed.len(),
            ),
        )
        .with_hint(
            "set `automation.parameter_tier: intelligent-tiering` (parameters past 10,000 become advanced, $0.05 a month each) or `advanced`, or `features.with_account_parameters: false` (no /<env>/Accounts/<id>: nothing in spa reads them)",
        ),
    );
}

/// Reads and checks the document of each service control policy. A file named by two
/// policies is checked once.
fn read_policies(
    files: &dyn FileProvider,
    settings: &mut Settings,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let member_role = settings
        .automation
        .role_name_to_manage_codebuild
        .value
        .clone();
    let mut read: HashMap<String, Option<(Arc<str>, String)>> = HashMap::new();
    for policy in &mut settings.service_control_policies {
        let path = policy.file.path.clone();
        let document = read.entry(path).or_insert_with_key(|path| {
            let text = read_text(
                files,
                path,
                policy.file.written.span.as_ref(),
                "policy",
                sources,
                diagnostics,
            )?;
            let context = crate::policy::Context {
                name: &policy.name.value,
                written: policy.file.written.span.unwrap_or(policy.span),
                named: policy.name.span.unwrap_or(policy.span),
                member_role: &member_role,
            };
            let file = diag::intern(path);
            let minified = crate::policy::check_document(file, &text, &context, diagnostics)
                .unwrap_or_default();
            Some((text, minified))
        });
        if let Some((text, minified)) = document {
            policy.text = text.to_string();
            policy.minified = minified.clone();
        }
    }
}

/// A buildspec or document: read, checked for size (it goes to SSM), and buildspecs for YAML.
fn published(
    files: &dyn FileProvider,
    file_ref: &FileRef,
    what: &str,
    yaml: bool,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Published> {
    let text = read_text(
        files,
        &file_ref.path,
        file_ref.written.span.as_ref(),
        what,
        sources,
        diagnostics,
    )?;
    let at = file_ref
        .written
        .span
        .unwrap_or_else(|| Span::file(diag::intern(&file_ref.path)));
    if text.len() > SSM_ADVANCED_LIMIT {
        diagnostics.push(
            Diagnostic::error(
                "ssm-value-too-large",
                at,
                format!(
                    "{what} `{}` is {} bytes; an SSM parameter holds at most {SSM_ADVANCED_LIMIT} bytes (advanced tier)",
                    file_ref.path,
                    text.len()
                ),
            )
            .with_hint("shorten it, e.g. move long scripts into a file the build downloads"),
        );
        return None;
    }
    if yaml {
        let file = diag::intern(file_ref.path.as_str());
        crate::yaml::parse(file, &text, diagnostics)?;
    }
    Some(Published {
        path: file_ref.path.clone(),
        text: text.to_string(),
    })
}

fn all_items(settings: &Settings) -> impl Iterator<Item = &Item> {
    std::iter::once(&settings.defaults)
        .chain(&settings.organizational_units)
        .chain(&settings.accounts)
        .chain(&settings.csv_rows)
}

/// The tags of the life cycle (state, holder, since, parked) belong to it: settings may
/// neither set nor unset them.
fn check_reserved_tags(settings: &Settings, diagnostics: &mut Vec<Diagnostic>) {
    let reserved = settings.lifecycle_tags();
    for item in all_items(settings) {
        for key in &reserved {
            if let Some(span) = item.account_tags.get(key).and_then(|v| v.span.as_ref()) {
                diagnostics.push(
                    Diagnostic::error("reserved-tag", *span, format!("tag `{key}` is managed by spa's account life cycle"))
                        .with_hint("remove it from account_tags; use `spa lifecycle set-state` to move an account"),
                );
            }
            let unset = item.unset_tags.as_ref().filter(|u| u.value.contains(key));
            if let Some(span) = unset.and_then(|u| u.span.as_ref()) {
                diagnostics.push(
                    Diagnostic::error(
                        "reserved-tag",
                        *span,
                        format!(
                            "unset_tags would remove `{key}`, which spa's account life cycle owns"
                        ),
                    )
                    .with_hint(format!("remove `{key}` from unset_tags")),
                );
            }
        }
    }
}

/// Each listed account and OU is published as JSON to SSM: it must fit in 8 KB, and an
/// account cannot carry more than 50 tags. Resolving and serialising every account would
/// cost more than the rest of validation, so a cheap upper bound computed from the layers
/// (every character escaped as \uXXXX, every tag distinct) settles almost every case.
fn check_published_sizes(settings: &Settings, diagnostics: &mut Vec<Diagnostic>) {
    let resolver = Resolver::new(settings);
    let mut check = |layers: Vec<&Item>, identifier: &str, span: Option<&Span>, is_ou: bool| {
        let Some(span) = span else { return };
        let (bound, tag_bound) = estimate(&layers, identifier);
        if bound <= SSM_ADVANCED_LIMIT && tag_bound + 2 <= MAX_TAGS_PER_ACCOUNT {
            return;
        }
        let effective = if is_ou {
            resolver.organizational_unit(identifier)
        } else {
            resolver.account(identifier, None)
        };
        let size = effective.to_published_json().to_string().len();
        if size > SSM_ADVANCED_LIMIT {
            diagnostics.push(
                Diagnostic::error(
                    "ssm-value-too-large",
                    *span,
                    format!(
                        "the effective settings of `{identifier}` take {size} bytes as JSON; an SSM parameter holds at most {SSM_ADVANCED_LIMIT}"
                    ),
                )
                .with_hint("shorten notes, tags or variables"),
            );
        }
        let tags = effective.account_tags.len() + 2;
        if tags > MAX_TAGS_PER_ACCOUNT {
            diagnostics.push(Diagnostic::error(
                "too-many-tags",
                *span,
                format!(
                    "`{identifier}` would carry {tags} tags (with the state and holder tags); AWS allows {MAX_TAGS_PER_ACCOUNT}"
                ),
            ));
        }
    };
    for item in &settings.organizational_units {
        let id = &item.identifier.value;
        let layers = vec![&settings.defaults, item];
        check(layers, id, item.identifier.span.as_ref(), true);
    }
    let mut seen = std::collections::HashSet::new();
    for item in settings.accounts.iter().chain(&settings.csv_rows) {
        let id = item.identifier.value.as_str();
        if seen.insert(id) {
            check(
                resolver.account_layers(id, None),
                id,
                item.identifier.span.as_ref(),
                false,
            );
        }
    }
}

/// Upper bounds of the published JSON size and of the number of tags, from the layers.
fn estimate(layers: &[&Item], identifier: &str) -> (usize, usize) {
    const FIXED: usize = 200;
    let chars = |s: &str| s.len() * 6 + 6;
    let mut total = FIXED + chars(identifier);
    let mut tags = 0;
    for layer in layers {
        total += layer.note.as_ref().map_or(0, |n| chars(&n.value));
        total += layer
            .account_tags
            .iter()
            .map(|(k, v)| chars(k) + chars(&v.value))
            .sum::<usize>();
        tags += layer.account_tags.len();
        total += layer
            .unset_tags
            .as_ref()
            .map_or(0, |u| u.value.iter().map(|k| chars(k)).sum());
        for feature in [&layer.preparation, &layer.purge] {
            total += feature
                .variables
                .iter()
                .map(|(k, v)| chars(k) + chars(&v.value.text))
                .sum::<usize>();
        }
    }
    (total, tags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::MemoryFiles;

    /// `accounts` listed in a CSV file, with `yaml` after the CSV line of settings.
    fn many_accounts(accounts: usize, yaml: &str) -> Loaded {
        let mut csv = String::from("Account\n");
        for index in 0..accounts {
            csv.push_str(&format!("{:012}\n", 100_000_000_000usize + index));
        }
        let files = MemoryFiles::new()
            .with(
                "settings.yaml",
                format!("features:\n  with_csv_files:\n    - finops.csv\n{yaml}"),
            )
            .with("finops.csv", csv);
        load(&files, "settings.yaml")
    }

    #[test]
    fn settings_past_the_parameter_quota_are_refused_at_the_first_account_past_it() {
        assert!(many_accounts(10_000, "").valid().is_some());
        let loaded = many_accounts(10_001, "");
        let errors: Vec<&Diagnostic> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.code == "parameter-quota")
            .collect();
        assert_eq!(errors.len(), 1);
        let rendered = loaded.render_limited(diag::Style::Plain, 5);
        assert!(rendered.contains("finops.csv:10002:1"), "{rendered}");
        assert!(
            rendered.contains("settings publish 10001 parameters"),
            "{rendered}"
        );
        assert!(rendered.contains("intelligent-tiering"), "{rendered}");
        // Each option settles it.
        for option in [
            "  with_account_parameters: false\n",
            "automation:\n  parameter_tier: intelligent-tiering\n",
            "automation:\n  parameter_tier: advanced\n",
        ] {
            let loaded = many_accounts(10_001, option);
            assert!(
                loaded.valid().is_some(),
                "{option}: {}",
                loaded.render_limited(diag::Style::Plain, 5)
            );
        }
    }

    #[test]
    fn e_mail_subscriptions_without_the_automation_account_are_said_to_be_ignored() {
        let yaml = "features:\n  with_email_subscriptions_on_alerts:\n    - sre@example.com\n";
        let without = load(
            &MemoryFiles::new().with("settings.yaml", yaml),
            "settings.yaml",
        );
        let rendered = without.render(diag::Style::Plain);
        assert!(
            rendered.contains("warning[ignored-key]: `features.with_email_subscriptions_on_alerts` is ignored without `automation.account_id`"),
            "{rendered}"
        );
        assert!(rendered.contains("settings.yaml:3:7"), "{rendered}");
        let with = load(
            &MemoryFiles::new().with(
                "settings.yaml",
                format!("automation:\n  account_id: \"123456789012\"\n{yaml}"),
            ),
            "settings.yaml",
        );
        assert_eq!(
            with.warning_count(),
            0,
            "{}",
            with.render(diag::Style::Plain)
        );
    }

    #[test]
    fn cost_keys_say_when_they_do_nothing() {
        let load_yaml = |yaml: &str| {
            load(
                &MemoryFiles::new().with("settings.yaml", yaml),
                "settings.yaml",
            )
        };
        let off = load_yaml(
            "features:\n  with_cost_extra_currencies: [EUR]\nreporting:\n  costs_prefix: Costs\n",
        );
        let text = off.render(diag::Style::Plain);
        assert!(
            text.contains("`features.with_cost_extra_currencies` is ignored: costs are off"),
            "{text}"
        );
        assert!(
            text.contains("`reporting.costs_prefix` is ignored: costs are off"),
            "{text}"
        );
        assert_eq!(off.warning_count(), 2);

        let no_sender = load_yaml(
            "features:\n  with_cost_management_tag: cost-center\n  with_cost_email_recipients: [finops@example.com]\n",
        );
        let text = no_sender.render(diag::Style::Plain);
        assert!(text.contains("needs a sender"), "{text}");
        assert!(text.contains("settings.yaml:3:32"), "{text}");

        let on = load_yaml(
            "features:\n  with_cost_management_tag: cost-center\n  with_cost_email_recipients: [finops@example.com]\n  with_origin_email_recipient: spa@example.com\nreporting:\n  costs_prefix: Costs\n",
        );
        assert_eq!(on.warning_count(), 0, "{}", on.render(diag::Style::Plain));

        let usd = load_yaml(
            "features:\n  with_cost_management_tag: cost-center\n  with_cost_extra_currencies: [EUR, USD]\n",
        );
        let text = usd.render(diag::Style::Plain);
        assert!(text.contains("every report is in USD already"), "{text}");
        assert!(text.contains("settings.yaml:3:37"), "{text}");
        assert_eq!(usd.warning_count(), 1, "{text}");

        let many: Vec<String> = (0..51).map(|i| format!("p{i}@example.com")).collect();
        let crowd = load_yaml(&format!(
            "features:\n  with_cost_management_tag: cost-center\n  with_origin_email_recipient: spa@example.com\n  with_cost_email_recipients: [{}]\n",
            many.join(", ")
        ));
        assert!(crowd.valid().is_none());
        assert!(
            crowd
                .render(diag::Style::Plain)
                .contains("error[too-many-recipients]")
        );
    }

    fn settings_with_csv(csv: String) -> Loaded {
        let files = MemoryFiles::new()
            .with(
                "settings.yaml",
                "features:\n  with_csv_files:\n    - finops.csv\n",
            )
            .with("finops.csv", csv);
        load(&files, "settings.yaml")
    }

    #[test]
    fn what_is_rendered_by_default_is_bounded() {
        // 20,000 rows with an error each: the default text is the first 50 and a count.
        let mut csv = String::from("Account,Note\n");
        for row in 0..20_000 {
            csv.push_str(&format!("1.23457E+11,row {row}\n"));
        }
        let loaded = settings_with_csv(csv);
        assert_eq!(loaded.error_count(), 20_000);
        let text = loaded.render(diag::Style::Plain);
        assert!(text.len() < 64 * 1024, "{} bytes of text", text.len());
        assert!(
            text.ends_with(
                "... and 19,950 more errors not shown:\n\
                 \x20 19,950 × error[csv-invalid-account]\n\
                 20,000 errors and 0 warnings in total\n"
            ),
            "{}",
            &text[text.len().saturating_sub(500)..]
        );
        assert_eq!(
            loaded
                .render_all(diag::Style::Plain)
                .matches("error[")
                .count(),
            20_000
        );
        let summary = serde_json::to_string(&loaded.summary(diag::DEFAULT_LIMIT)).unwrap();
        assert!(summary.len() < 64 * 1024, "{} bytes of JSON", summary.len());
    }

    #[test]
    fn a_multi_byte_age_is_an_error_not_a_panic() {
        let files = MemoryFiles::new().with(
            "settings.yaml",
            "defaults:\n  purge:\n    variables:\n      MAXIMUM_AGE: 9é\n",
        );
        let loaded = load(&files, "settings.yaml");
        assert_eq!(
            loaded.error_count(),
            1,
            "{}",
            loaded.render(diag::Style::Plain)
        );
        assert_eq!(loaded.diagnostics[0].message, "`9é` is not an age");
    }

    #[test]
    fn diagnostics_quoting_huge_values_stay_small() {
        let loaded = settings_with_csv(format!("Account\n{}\n", "9".repeat(1 << 20)));
        assert_eq!(loaded.error_count(), 1);
        let json = serde_json::to_string(&loaded.diagnostics).unwrap();
        assert!(json.len() < 2_000, "{} bytes of JSON", json.len());
        assert!(
            loaded.diagnostics[0]
                .message
                .ends_with("` is not an AWS account id")
        );
    }
}
