//! Renderings of a plan for people and machines: text for terminals, Markdown for pull
//! requests (always under GitHub's comment limit), JSON with a stable schema.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use similar::TextDiff;

use crate::desired::ValueKind;
use crate::plan::{
    AccountChange, Action, AttachAction, AttachmentChange, ParameterChange, Plan, PolicyChange,
    TagAction,
};

/// GitHub refuses comments longer than this.
pub const GITHUB_COMMENT_LIMIT: usize = 65_535;

// The styles of the text rendering. It is always styled: the printer strips the styles
// where colour is off (`--color`, NO_COLOR, not a terminal), so the words are the same.
const ADDED: Style = AnsiColor::Green.on_default();
const CHANGED: Style = AnsiColor::Yellow.on_default();
const REMOVED: Style = AnsiColor::Red.on_default();
const HUNK: Style = AnsiColor::Cyan.on_default();
const DANGER: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();

fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// JSON re-printed with sorted keys and indentation, so that diffs show what changed.
pub fn canonical(kind: ValueKind, text: &str) -> String {
    fn sort(value: serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let sorted: BTreeMap<String, serde_json::Value> =
                    map.into_iter().map(|(k, v)| (k, sort(v))).collect();
                serde_json::Value::Object(sorted.into_iter().collect())
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(sort).collect())
            }
            other => other,
        }
    }
    match kind {
        ValueKind::Json => serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&sort(v)).ok())
            .map(|t| t + "\n")
            .unwrap_or_else(|| text.to_string()),
        ValueKind::Text => text.to_string(),
    }
}

/// A unified diff of a parameter's value (JSON re-printed first).
pub fn value_diff(change: &ParameterChange) -> String {
    diff(
        change.kind,
        change.before.as_deref(),
        change.after.as_deref(),
    )
}

/// A unified diff of a policy document (JSON re-printed first).
pub fn document_diff(change: &PolicyChange) -> String {
    diff(
        ValueKind::Json,
        change.before.as_deref(),
        change.after.as_deref(),
    )
}

fn diff(kind: ValueKind, before: Option<&str>, after: Option<&str>) -> String {
    let before = before.map(|t| canonical(kind, t)).unwrap_or_default();
    let after = after.map(|t| canonical(kind, t)).unwrap_or_default();
    TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header("observed", "desired")
        .to_string()
}

fn header(plan: &Plan) -> String {
    let commit = plan.commit.as_deref().map(short).unwrap_or("(uncommitted)");
    format!(
        "settings {commit} (desired {}), observed {}",
        short(&plan.desired_fingerprint),
        short(&plan.observed_fingerprint)
    )
}

pub fn summary_line(plan: &Plan) -> String {
    if plan.no_changes {
        return "No changes: AWS matches the settings.".to_string();
    }
    let s = plan.summary;
    format!(
        "Plan: {} to add, {} to change, {} to remove, {} destructive.",
        s.add, s.change, s.remove, s.destructive
    )
}

fn unit_label(plan: &Plan, unit: Option<&str>) -> String {
    match unit {
        Some(id) => match plan.organizational_units.get(id) {
            Some(name) => format!("{name} ({id})"),
            None => id.to_string(),
        },
        None => "listed accounts outside listed OUs".to_string(),
    }
}

/// For terminals: `+ ~ -` lines, styled with ANSI escapes (print it through an anstream
/// stream, or strip them with `anstream::adapter::strip_str`).
/// The Parameter Store line of a plan, when it says something worth reading.
fn parameter_store_line(plan: &Plan) -> Option<String> {
    let usage = plan.parameter_store.as_ref().filter(|u| u.is_notable())?;
    let strategy = match usage.strategy {
        crate::aws::Tier::Standard => "standard",
        crate::aws::Tier::Advanced => "advanced",
        crate::aws::Tier::IntelligentTiering => "intelligent-tiering",
    };
    Some(format!(
        "SSM Parameter Store once applied (automation.parameter_tier: {strategy}): {} standard parameters of the {} the account and region may hold ({} of spa's, {} of others); {} advanced parameters of spa's, about ${}.{:02} a month",
        usage.standard_total(),
        usage.standard_quota,
        usage.standard,
        usage.standard_elsewhere,
        usage.advanced,
        usage.monthly_cost_cents / 100,
        usage.monthly_cost_cents % 100
    ))
}

pub fn text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "spa plan for {} — {}", plan.environment, header(plan));
    if !plan.blockers.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            paint(DANGER, "Cannot be applied (nothing will be written):")
        );
        for item in &plan.blockers {
            let _ = writeln!(out, "  {} {item}", paint(DANGER, "✗"));
        }
    }
    if !plan.destructive.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            paint(DANGER, "Destructive changes (need --allow-destructive):")
        );
        for item in &plan.destructive {
            let _ = writeln!(out, "  {} {}", paint(DANGER, "!"), item.reason);
        }
    }
    if !plan.parameters.is_empty() {
        let _ = writeln!(out, "\nParameters:");
        for change in &plan.parameters {
            let (symbol, style) = match change.action {
                Action::Create => ("+", ADDED),
                Action::Update => ("~", CHANGED),
                Action::Delete => ("-", REMOVED),
            };
            let tier = if change.tier_change {
                " (standard → advanced)".to_string()
            } else {
                format!(" ({})", tier_name(change))
            };
            let _ = writeln!(out, "  {} {}{tier}", paint(style, symbol), change.name);
            if change.action == Action::Update {
                for line in value_diff(change).lines().skip(2) {
                    let _ = writeln!(out, "      {}", painted_diff_line(line));
                }
            }
        }
    }
    let changed: Vec<&AccountChange> = plan
        .accounts
        .iter()
        .filter(|a| !a.tags.is_empty())
        .collect();
    if !changed.is_empty() {
        let _ = writeln!(out, "\nAccounts:");
        for account in changed {
            let _ = writeln!(
                out,
                "  {} {} {} — {}",
                paint(CHANGED, "~"),
                account.account,
                account.name,
                unit_label(plan, account.organizational_unit.as_deref())
            );
            for tag in &account.tags {
                let line = match tag.action {
                    TagAction::Add => paint(
                        ADDED,
                        &format!("+ {} = {}", tag.key, tag.after.as_deref().unwrap_or("")),
                    ),
                    TagAction::Change => paint(
                        CHANGED,
                        &format!(
                            "~ {} = {} → {}",
                            tag.key,
                            tag.before.as_deref().unwrap_or(""),
                            tag.after.as_deref().unwrap_or("")
                        ),
                    ),
                    TagAction::Remove => paint(
                        REMOVED,
                        &format!(
                            "- {} (was {})",
                            tag.key,
                            tag.before.as_deref().unwrap_or("")
                        ),
                    ),
                };
                let _ = writeln!(out, "      {line}");
            }
        }
    }
    text_policies(&mut out, plan);
    if !plan.subscriptions.is_empty() {
        let _ = writeln!(
            out,
            "\nE-mail subscriptions of {}:",
            plan.subscriptions[0].topic
        );
        for change in &plan.subscriptions {
            let line = match change.action {
                crate::plan::SubscriptionAction::Subscribe => format!(
                    "  {} {} (a confirmation e-mail is sent)",
                    paint(ADDED, "+"),
                    change.email
                ),
                crate::plan::SubscriptionAction::Unsubscribe => {
                    format!("  {} {}", paint(REMOVED, "-"), change.email)
                }
            };
            let _ = writeln!(out, "{line}");
        }
    }
    if let Some(dashboard) = &plan.dashboard {
        let (symbol, style, what) = match dashboard.action {
            Action::Create => ("+", ADDED, "created"),
            _ => (
                "~",
                CHANGED,
                "repaired: its body differs from what settings say",
            ),
        };
        let _ = writeln!(
            out,
            "\nDashboard:\n  {} {} ({what})",
            paint(style, symbol),
            dashboard.name
        );
    }
    if !plan.skipped.is_empty() {
        let _ = writeln!(out, "\n{}", paint(WARNING, "Not planned:"));
        for item in &plan.skipped {
            let _ = writeln!(out, "  {item}");
        }
    }
    if let Some(line) = parameter_store_line(plan) {
        let _ = writeln!(out, "\n{line}");
    }
    let _ = writeln!(out, "\n{}", summary_line(plan));
    out
}

fn painted_diff_line(line: &str) -> String {
    match line.chars().next() {
        Some('+') => paint(ADDED, line),
        Some('-') => paint(REMOVED, line),
        Some('@') => paint(HUNK, line),
        _ => line.to_string(),
    }
}

/// What an attachment is about, for people: the target and, for a per-state policy, why.
fn attachment_label(change: &AttachmentChange) -> String {
    let kind = match change.target_kind {
        crate::aws::TargetKind::Root => "root",
        crate::aws::TargetKind::OrganizationalUnit => "OU",
        crate::aws::TargetKind::Account => "account",
    };
    let mut label = if change.target_name == change.target {
        format!("{kind} {}", change.target)
    } else {
        format!("{kind} {} ({})", change.target_name, change.target)
    };
    match (&change.state, &change.destructive) {
        (_, Some(reason)) => {
            let _ = write!(label, " — {reason}");
        }
        (Some(state), None) => {
            let _ = write!(label, " — the account is {state}");
        }
        (None, None) => {}
    }
    label
}

fn text_policies(out: &mut String, plan: &Plan) {
    if !plan.policies.is_empty() {
        let _ = writeln!(out, "\nService control policies:");
        for change in &plan.policies {
            let (symbol, style) = match change.action {
                Action::Create => ("+", ADDED),
                Action::Update => ("~", CHANGED),
                Action::Delete => ("-", REMOVED),
            };
            let flag = match &change.destructive {
                Some(reason) => format!(" {}", paint(DANGER, &format!("! {reason}"))),
                None => String::new(),
            };
            let _ = writeln!(out, "  {} {}{flag}", paint(style, symbol), change.name);
            if change.action == Action::Update {
                for line in document_diff(change).lines().skip(2) {
                    let _ = writeln!(out, "      {}", painted_diff_line(line));
                }
            }
        }
    }
    if !plan.attachments.is_empty() {
        let _ = writeln!(out, "\nPolicy attachments:");
        for change in &plan.attachments {
            let (symbol, style, verb) = match change.action {
                AttachAction::Attach => ("+", ADDED, "attached to"),
                AttachAction::Detach => ("-", REMOVED, "detached from"),
            };
            let line = format!("{} {verb} {}", change.policy, attachment_label(change));
            let line = if change.destructive.is_some() {
                paint(DANGER, &line)
            } else {
                line
            };
            let _ = writeln!(out, "  {} {line}", paint(style, symbol));
        }
    }
}

fn tier_name(change: &ParameterChange) -> &'static str {
    match change.tier {
        crate::aws::Tier::Standard => "standard",
        crate::aws::Tier::Advanced => "advanced",
        crate::aws::Tier::IntelligentTiering => "intelligent-tiering",
    }
}

fn escape(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// For pull requests: destructive changes first, a summary table per OU and action, then
/// details in collapsible blocks; never longer than `limit` characters (GitHub's limit for
/// comments), with a note pointing at the full plan when details had to be left out.
pub fn markdown(plan: &Plan, limit: usize, full_plan_hint: &str) -> String {
    let mut head = String::new();
    let title = if plan.no_changes {
        "No changes".to_string()
    } else {
        let s = plan.summary;
        let destructive = if s.destructive > 0 {
            format!(", **{} destructive**", s.destructive)
        } else {
            ", 0 destructive".to_string()
        };
        format!(
            "{} to add, {} to change, {} to remove{destructive}",
            s.add, s.change, s.remove
        )
    };
    let _ = writeln!(head, "### spa plan for `{}`: {title}\n", plan.environment);
    let _ = writeln!(
        head,
        "{}\n",
        header(plan)
            .replace("settings ", "Settings `")
            .replacen(" (desired", "` (desired", 1)
    );
    if !plan.blockers.is_empty() {
        let _ = writeln!(
            head,
            "> [!CAUTION]\n> This plan cannot be applied; nothing will be written:"
        );
        for item in &plan.blockers {
            let _ = writeln!(head, "> - {}", escape(item));
        }
        head.push('\n');
    }
    if let Some(line) = parameter_store_line(plan) {
        let _ = writeln!(head, "{}\n", escape(&line));
    }
    if !plan.skipped.is_empty() {
        let why = if plan.complete {
            "These were not planned:"
        } else {
            "The observation was incomplete; these were not planned:"
        };
        let _ = writeln!(head, "> [!WARNING]\n> {why}");
        for item in &plan.skipped {
            let _ = writeln!(head, "> - {}", escape(item));
        }
        head.push('\n');
    }
    if !plan.destructive.is_empty() {
        let _ = writeln!(head, "#### ⚠️ Destructive changes\n");
        let _ = writeln!(
            head,
            "Applying them needs an explicit confirmation (`spa apply --allow-destructive`).\n"
        );
        for item in &plan.destructive {
            let _ = writeln!(head, "- {}", escape(&item.reason));
        }
        head.push('\n');
    }
    if !plan.no_changes {
        // Summary per OU and action.
        let mut rows: BTreeMap<String, [usize; 4]> = BTreeMap::new();
        for account in plan.accounts.iter().filter(|a| !a.tags.is_empty()) {
            let row = rows
                .entry(unit_label(plan, account.organizational_unit.as_deref()))
                .or_default();
            row[0] += 1;
            for tag in &account.tags {
                match tag.action {
                    TagAction::Add => row[1] += 1,
                    TagAction::Change => row[2] += 1,
                    TagAction::Remove => row[3] += 1,
                }
            }
        }
        if !rows.is_empty() {
            let _ = writeln!(
                head,
                "| organizational unit | accounts | tags added | tags changed | tags removed |\n|---|---:|---:|---:|---:|"
            );
            for (unit, [accounts, add, change, remove]) in &rows {
                let _ = writeln!(
                    head,
                    "| {} | {accounts} | {add} | {change} | {remove} |",
                    escape(unit)
                );
            }
            head.push('\n');
        }
        let count = |action: Action| {
            plan.parameters
                .iter()
                .filter(|p| p.action == action)
                .count()
        };
        if !plan.parameters.is_empty() {
            let _ = writeln!(
                head,
                "| SSM parameters | created | updated | deleted |\n|---|---:|---:|---:|\n| `/{}/` | {} | {} | {} |\n",
                plan.environment,
                count(Action::Create),
                count(Action::Update),
                count(Action::Delete)
            );
        }
        if !plan.policies.is_empty() || !plan.attachments.is_empty() {
            let policies =
                |action: Action| plan.policies.iter().filter(|p| p.action == action).count();
            let attachments = |action: AttachAction| {
                plan.attachments
                    .iter()
                    .filter(|a| a.action == action)
                    .count()
            };
            let _ = writeln!(
                head,
                "| service control policies | created | updated | deleted | attached | detached |\n|---|---:|---:|---:|---:|---:|\n| `{}-*` | {} | {} | {} | {} | {} |\n",
                plan.environment,
                policies(Action::Create),
                policies(Action::Update),
                policies(Action::Delete),
                attachments(AttachAction::Attach),
                attachments(AttachAction::Detach)
            );
        }
        if !plan.subscriptions.is_empty() {
            let _ = writeln!(
                head,
                "E-mail subscriptions of `{}`:
",
                escape(&plan.subscriptions[0].topic)
            );
            for change in &plan.subscriptions {
                let _ = match change.action {
                    crate::plan::SubscriptionAction::Subscribe => writeln!(
                        head,
                        "- \u{2795} `{}` (a confirmation e-mail is sent)",
                        escape(&change.email)
                    ),
                    crate::plan::SubscriptionAction::Unsubscribe => {
                        writeln!(head, "- \u{2796} `{}`", escape(&change.email))
                    }
                };
            }
            head.push('\n');
        }
        if let Some(dashboard) = &plan.dashboard {
            let what = match dashboard.action {
                Action::Create => "created",
                _ => "repaired: its body differs from what settings say",
            };
            let _ = writeln!(head, "Dashboard `{}`: {what}.\n", escape(&dashboard.name));
        }
    }

    let mut blocks: Vec<String> = Vec::new();
    for change in &plan.policies {
        let symbol = match change.action {
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
        };
        let (fence, body) = match change.action {
            Action::Update => ("diff", document_diff(change)),
            Action::Create => (
                "json",
                canonical(ValueKind::Json, change.after.as_deref().unwrap_or_default()),
            ),
            Action::Delete => (
                "json",
                canonical(
                    ValueKind::Json,
                    change.before.as_deref().unwrap_or_default(),
                ),
            ),
        };
        let flag = match &change.destructive {
            Some(reason) => format!(" ⚠️ {}", escape(reason)),
            None => String::new(),
        };
        blocks.push(format!(
            "<details><summary>{symbol} policy <code>{}</code>{flag}</summary>\n\n```{fence}\n{}```\n</details>\n",
            escape(&change.name),
            body.replace("```", "`\u{200b}``")
        ));
    }
    if !plan.attachments.is_empty() {
        let mut block = format!(
            "<details><summary>policy attachments: +{} -{}</summary>\n\n| | policy | target | why |\n|---|---|---|---|\n",
            plan.attachments
                .iter()
                .filter(|a| a.action == AttachAction::Attach)
                .count(),
            plan.attachments
                .iter()
                .filter(|a| a.action == AttachAction::Detach)
                .count()
        );
        for change in &plan.attachments {
            let symbol = match (change.action, change.destructive.is_some()) {
                (AttachAction::Attach, _) => "+",
                (AttachAction::Detach, false) => "-",
                (AttachAction::Detach, true) => "- ⚠️",
            };
            let target = if change.target_name == change.target {
                format!("`{}`", change.target)
            } else {
                format!("{} `{}`", escape(&change.target_name), change.target)
            };
            let why = match (&change.destructive, &change.state) {
                (Some(reason), _) => escape(reason),
                (None, Some(state)) => format!("the account is {state}"),
                (None, None) => String::new(),
            };
            let _ = writeln!(
                block,
                "| {symbol} | `{}` | {target} | {why} |",
                escape(&change.policy)
            );
        }
        block.push_str("\n</details>\n");
        blocks.push(block);
    }
    for change in &plan.parameters {
        let symbol = match change.action {
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
        };
        let body = match change.action {
            Action::Update => value_diff(change),
            Action::Create => canonical(change.kind, change.after.as_deref().unwrap_or_default()),
            Action::Delete => canonical(change.kind, change.before.as_deref().unwrap_or_default()),
        };
        let fence = if change.action == Action::Update {
            "diff"
        } else if change.kind == ValueKind::Json {
            "json"
        } else {
            "yaml"
        };
        blocks.push(format!(
            "<details><summary>{symbol} <code>{}</code> ({})</summary>\n\n```{fence}\n{}```\n</details>\n",
            escape(&change.name),
            tier_name(change),
            body.replace("```", "`\u{200b}``")
        ));
    }
    for account in plan.accounts.iter().filter(|a| !a.tags.is_empty()) {
        let count = |action: TagAction| account.tags.iter().filter(|t| t.action == action).count();
        let mut block = format!(
            "<details><summary>~ <code>{}</code> {} — {}: +{} ~{} -{}</summary>\n\n| | tag | before | after |\n|---|---|---|---|\n",
            account.account,
            escape(&account.name),
            escape(&unit_label(plan, account.organizational_unit.as_deref())),
            count(TagAction::Add),
            count(TagAction::Change),
            count(TagAction::Remove)
        );
        for tag in &account.tags {
            let symbol = match tag.action {
                TagAction::Add => "+",
                TagAction::Change => "~",
                TagAction::Remove => "-",
            };
            let _ = writeln!(
                block,
                "| {symbol} | `{}` | {} | {} |",
                escape(&tag.key),
                tag.before.as_deref().map(escape).unwrap_or_default(),
                tag.after.as_deref().map(escape).unwrap_or_default()
            );
        }
        block.push_str("\n</details>\n");
        blocks.push(block);
    }

    let mut out = head;
    if !blocks.is_empty() {
        out.push_str("#### Details\n\n");
    }
    let footer_room = 400 + full_plan_hint.len();
    let mut omitted = 0;
    for block in &blocks {
        if omitted == 0 && out.len() + block.len() + footer_room <= limit {
            out.push_str(block);
        } else {
            omitted += 1;
        }
    }
    if omitted > 0 {
        let _ = writeln!(
            out,
            "\n> [!NOTE]\n> {omitted} of {} detail blocks are not shown: the comment would exceed GitHub's limit. {full_plan_hint}",
            blocks.len()
        );
    }
    if out.len() > limit {
        // The head alone is too long (thousands of destructive lines): cut it hard.
        let mut cut = limit.saturating_sub(footer_room);
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        let _ = writeln!(
            out,
            "\n\n> [!NOTE]\n> Truncated to fit GitHub's limit. {full_plan_hint}"
        );
    }
    out
}

/// The plan as JSON, pretty-printed (docs/plan-format.md).
pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).unwrap_or_default() + "\n"
}
