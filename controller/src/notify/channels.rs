//! The channels an exception goes to besides the bus, and the shape of its message on each:
//! the SNS topic `<env>Exceptions` (its subscribers get e-mail), a Microsoft Teams Workflows
//! webhook (an Adaptive Card), a Slack incoming webhook.

use std::time::Duration;

use serde_json::json;

use super::Notification;
use crate::aws::Aws;
use crate::costs::exception::Place;

/// Where notifications go, from the settings and the installation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    /// The ARN of `<env>Exceptions`.
    pub topic: Option<String>,
    /// `features.with_microsoft_webhook_on_alerts`.
    pub teams: Option<String>,
    /// `features.with_slack_webhook_on_alerts`.
    pub slack: Option<String>,
    /// `features.with_response_plan_arn`: an Incident Manager incident per notification.
    pub response_plan: Option<String>,
    /// Where the account's month-to-date costs linked from its incident go: the reports
    /// bucket, when the controller has one.
    pub costs: Option<Place>,
}

impl Targets {
    pub fn from_settings(
        settings: &spa_schema::Settings,
        topic: Option<String>,
        reports_bucket: Option<&str>,
    ) -> Targets {
        let features = &settings.features;
        Targets {
            topic,
            costs: Place::of(settings, reports_bucket),
            teams: features
                .with_microsoft_webhook_on_alerts
                .as_ref()
                .map(|u| u.value.clone()),
            slack: features
                .with_slack_webhook_on_alerts
                .as_ref()
                .map(|u| u.value.clone()),
            response_plan: features
                .with_response_plan_arn
                .as_ref()
                .map(|a| a.value.clone()),
        }
    }

    fn slot(&mut self, channel: Channel) -> &mut Option<String> {
        match channel {
            Channel::Sns => &mut self.topic,
            Channel::Teams => &mut self.teams,
            Channel::Slack => &mut self.slack,
            Channel::Incidents => &mut self.response_plan,
        }
    }

    /// Where `channel` goes (a topic, a webhook, a response plan), when configured.
    pub fn address(&self, channel: Channel) -> Option<&str> {
        match channel {
            Channel::Sns => self.topic.as_deref(),
            Channel::Teams => self.teams.as_deref(),
            Channel::Slack => self.slack.as_deref(),
            Channel::Incidents => self.response_plan.as_deref(),
        }
    }

    /// The configured channels.
    pub fn channels(&self) -> Vec<Channel> {
        Channel::ALL
            .into_iter()
            .filter(|c| self.address(*c).is_some())
            .collect()
    }

    /// Only `only` (all of them when empty).
    pub fn keep(&mut self, only: &[Channel]) {
        if only.is_empty() {
            return;
        }
        for channel in Channel::ALL {
            if !only.contains(&channel) {
                *self.slot(channel) = None;
            }
        }
    }
}

/// Where a notification can go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Channel {
    /// The SNS topic `<env>Exceptions`.
    Sns,
    /// The Teams Workflows webhook.
    Teams,
    /// The Slack incoming webhook.
    Slack,
    /// An Incident Manager incident.
    Incidents,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Sns,
        Channel::Teams,
        Channel::Slack,
        Channel::Incidents,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Channel::Sns => "sns",
            Channel::Teams => "teams",
            Channel::Slack => "slack",
            Channel::Incidents => "incidents",
        }
    }
}

/// The first line of a notification.
pub fn headline(n: &Notification) -> String {
    let repeats = match n.repeats {
        0 => String::new(),
        1 => " (and once more since the last notification)".to_string(),
        r => format!(" (and {r} more times since the last notification)"),
    };
    format!(
        "[{}] {}: {}{repeats}",
        n.environment, n.label, n.exception.title
    )
}

/// An SNS subject: printable ASCII, no line breaks, under 100 characters.
pub fn subject(n: &Notification) -> String {
    let text: String = headline(n)
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    text.chars().take(99).collect()
}

pub fn plain_text(n: &Notification) -> String {
    format!(
        "{}\n\n{}\n\nAccount: {}\nLabel: {}\nEnvironment: {}\n",
        headline(n),
        n.exception.message,
        n.exception.account,
        n.label,
        n.environment
    )
}

/// The body a Teams Workflows webhook ("Post to a channel when a webhook request is
/// received") takes: a message with one Adaptive Card.
pub fn teams_body(n: &Notification) -> serde_json::Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true, "text": headline(n)},
                    {"type": "TextBlock", "wrap": true, "text": n.exception.message},
                    {"type": "FactSet", "facts": [
                        {"title": "Account", "value": n.exception.account},
                        {"title": "Label", "value": n.label},
                        {"title": "Environment", "value": n.environment},
                    ]},
                ],
            },
        }],
    })
}

/// The body a Slack incoming webhook takes.
pub fn slack_body(n: &Notification) -> serde_json::Value {
    json!({
        "text": headline(n),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": n.exception.title.chars().take(150).collect::<String>()}},
            {"type": "section", "text": {"type": "mrkdwn", "text": n.exception.message}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": format!("{} · account {} · {}", n.label, n.exception.account, n.environment)}]},
        ],
    })
}

/// The host of a webhook URL: what errors and logs may show (the rest of a webhook URL is
/// its secret).
pub fn host(url: &str) -> &str {
    url.split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        .unwrap_or("?")
}

/// Posts `body` to a webhook; the error names the host only.
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
) -> Result<(), String> {
    let response = http
        .post(url)
        .timeout(Duration::from_secs(10))
        .json(body)
        .send()
        .await
        .map_err(|e| {
            let why = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "cannot connect"
            } else {
                "request failed"
            };
            format!("{}: {why}", host(url))
        })?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("{}: HTTP {}", host(url), status.as_u16()))
    }
}

/// The link to the month-to-date costs of the account of `n`, when there is a place for
/// them; a failure is logged and the incident goes on without it. Made once per
/// notification, before its sends and their retries: Cost Explorer bills each request.
pub async fn costs_link(
    aws: &Aws,
    place: Option<&Place>,
    n: &Notification,
) -> Option<crate::aws::RelatedLink> {
    let account = n.exception.account.as_str();
    // Exceptions about no account in particular have no costs to show.
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let today = jiff::tz::Offset::UTC
        .to_datetime(jiff::Timestamp::now())
        .date();
    match crate::costs::exception::month_to_date(aws, place?, account, today).await {
        Ok(link) => Some(crate::aws::RelatedLink {
            title: link.title,
            url: link.url,
        }),
        Err(error) => {
            tracing::warn!(account, %error, "the incident goes without the account's costs");
            None
        }
    }
}

/// Starts the incident of `n`, with `related` links (the account's costs), and tags it
/// with the label and what is known of the account.
async fn incident(
    aws: &Aws,
    plan: &str,
    related: &[crate::aws::RelatedLink],
    n: &Notification,
) -> Result<(), crate::aws::AwsError> {
    let related = related.to_vec();
    let spec = crate::aws::IncidentSpec {
        related,
        response_plan_arn: plan.to_string(),
        title: headline(n).chars().take(200).collect(),
        impact: n.exception.impact.unwrap_or(4).clamp(1, 5),
        source: "spa".to_string(),
        raw_data: serde_json::json!({
            "label": n.label,
            "environment": n.environment,
            "exception": n.exception,
            "repeats": n.repeats,
        })
        .to_string()
        .chars()
        .take(10_000)
        .collect(),
        client_token: n.id.clone(),
    };
    let record = aws.start_incident(&spec).await?;
    let mut tags = vec![
        crate::aws::Tag {
            key: "spa-label".into(),
            value: n.label.clone(),
        },
        crate::aws::Tag {
            key: "spa-account".into(),
            value: n.exception.account.clone(),
        },
    ];
    tags.extend(n.account_tags.iter().map(|(key, value)| crate::aws::Tag {
        key: key.clone(),
        value: value.chars().take(256).collect(),
    }));
    aws.tag_incident(&record, &tags).await
}

/// Sends `n` to `channel` at `address` (its topic, webhook or response plan); an incident
/// shows the `related` links.
pub async fn send(
    channel: Channel,
    address: &str,
    related: &[crate::aws::RelatedLink],
    n: &Notification,
    aws: &Aws,
    http: &reqwest::Client,
) -> Result<(), String> {
    match channel {
        Channel::Sns => aws
            .publish(address, &subject(n), &plain_text(n))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Channel::Teams => post(http, address, &teams_body(n)).await,
        Channel::Slack => post(http, address, &slack_body(n)).await,
        Channel::Incidents => incident(aws, address, related, n)
            .await
            .map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::events::Exception;

    fn notification(repeats: u64) -> Notification {
        Notification {
            label: "BudgetAlertException".into(),
            environment: "SpaDemo".into(),
            exception: Exception {
                account: "111111111111".into(),
                title: "Budget — 80 % reached".into(),
                message: "80% of 500 USD".into(),
                impact: None,
            },
            repeats,
            id: "spa-test-1".into(),
            account_tags: Vec::new(),
        }
    }

    #[test]
    fn a_subject_is_ascii_and_short() {
        let mut n = notification(3);
        n.exception.title = "é".repeat(300);
        let subject = subject(&n);
        assert!(subject.len() < 100);
        assert!(subject.chars().all(|c| c.is_ascii_graphic() || c == ' '));
    }

    #[test]
    fn repeats_are_said() {
        assert!(headline(&notification(0)).ends_with("80 % reached"));
        assert!(
            headline(&notification(4)).ends_with("(and 4 more times since the last notification)")
        );
    }

    #[test]
    fn only_the_host_of_a_webhook_is_shown() {
        assert_eq!(
            host("https://prod.westeurope.logic.azure.com:443/workflows/abc?sig=SECRET"),
            "prod.westeurope.logic.azure.com:443"
        );
    }
}
