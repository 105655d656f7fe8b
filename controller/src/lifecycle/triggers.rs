//! What wakes accounts up: messages of the SQS queue fed by EventBridge rules, the
//! maintenance window, and the periodic sweep. Each only queues accounts; the reconcile
//! decides from what the account says, so a lost, duplicated or reordered message is harmless.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::engine::Engine;
use super::events::Exception;
use super::machine::Event;
use crate::aws::Aws;
use crate::records::Fact;

/// What a queue message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// Look at this account now (its tags may have changed).
    Account(String),
    /// The echo of a tag write of ours: nothing to do.
    Echo(String),
    /// Not for us.
    Ignored(String),
    /// A console sign-in that is an exception (an IAM user's or the root user's).
    Raise(Event, Exception),
    /// An account the engine does not know was created or moved: see whether settings
    /// manage it.
    Moved(String),
    /// A person's console login, to record.
    Login {
        account: String,
        identity: String,
        id: String,
        at_ms: i64,
    },
}

/// What a console sign-in forwarded from a member account (`aws.signin`) is: an exception
/// when the identity is an IAM user or the root user (personal accounts are entered through
/// single sign-on), else the login of a person, recorded as an activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    Exception(Event, Exception),
    Person {
        identity: String,
        /// The event's id: a replayed event is the same login.
        id: String,
        at_ms: i64,
    },
}

/// Milliseconds of an RFC 3339 time of an event, if it has one.
fn event_time(event: &Value) -> Option<i64> {
    let text = event["time"]
        .as_str()
        .or_else(|| event["detail"]["eventTime"].as_str())?;
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

fn sign_in(event: &Value, account: &str) -> Option<SignIn> {
    let detail = &event["detail"];
    let identity = &detail["userIdentity"];
    let outcome = detail["responseElements"]["ConsoleLogin"]
        .as_str()
        .unwrap_or("Success");
    let (label, who) = match identity["type"].as_str()? {
        "IAMUser" => (
            Event::ConsoleLoginWithIamUserException,
            format!(
                "the IAM user {}",
                identity["userName"].as_str().unwrap_or("(unnamed)")
            ),
        ),
        "Root" => (
            Event::ConsoleLoginWithRootException,
            "the root user".to_string(),
        ),
        _ => {
            if outcome != "Success" {
                return None;
            }
            // The session name of an assumed role (single sign-on): usually an e-mail.
            let person = identity["arn"]
                .as_str()
                .and_then(|arn| arn.rsplit('/').next())
                .or_else(|| {
                    identity["principalId"]
                        .as_str()
                        .and_then(|p| p.rsplit(':').next())
                })
                .filter(|p| !p.is_empty())?;
            let id = event["id"]
                .as_str()
                .or_else(|| detail["eventID"].as_str())
                .unwrap_or_default();
            return Some(SignIn::Person {
                identity: person.chars().take(256).collect(),
                id: if id.is_empty() {
                    format!("{account}-{}", event_time(event).unwrap_or(0))
                } else {
                    id.chars().take(64).collect()
                },
                at_ms: event_time(event)?,
            });
        }
    };
    let from = detail["sourceIPAddress"]
        .as_str()
        .unwrap_or("an unknown address");
    Some(SignIn::Exception(
        label,
        Exception {
            account: account.to_string(),
            title: format!("Console login by {who} on account {account}"),
            message: format!(
                "{who} signed in to the console of account {account} from {from} ({outcome}). Personal accounts are entered through single sign-on; check who did it and why."
            ),
            impact: None,
        },
    ))
}

fn is_account_id(text: &str) -> bool {
    spa_schema::check::account_id(text).is_ok()
}

/// The account of an ARN (`arn:aws:codebuild:eu-west-1:123456789012:build/…`).
fn account_of_arn(arn: &str) -> Option<String> {
    let account = arn.split(':').nth(4)?;
    is_account_id(account).then(|| account.to_string())
}

/// What kind of event a message is, as far as the consumer acts differently on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `MoveAccount`, `CreateAccountResult`: an account may have come under settings.
    Membership,
    /// A console sign-in: an exception, or a person's login.
    SignIn(Option<SignIn>),
    /// A build's report (`PreparationReport`, `PurgeReport`) from the buildspecs.
    Report {
        label: String,
        message: String,
        at_ms: i64,
    },
    Other,
}

/// One EventBridge event, read: the account it names, the tags it sets (TagResource), a
/// description for logs, and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub account: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    pub what: String,
    pub kind: Kind,
}

fn parsed(account: Option<String>, what: String) -> Parsed {
    Parsed {
        account,
        tags: None,
        what,
        kind: Kind::Other,
    }
}

/// Reads one EventBridge event (the body SQS delivers): Organizations API calls through
/// CloudTrail, CodeBuild build state changes, console sign-ins, and spa's own events.
pub fn parse_event(body: &str) -> Parsed {
    let Ok(event) = serde_json::from_str::<Value>(body) else {
        return parsed(None, "not JSON".to_string());
    };
    let source = event["source"].as_str().unwrap_or_default();
    let detail = &event["detail"];
    match source {
        "aws.organizations" => {
            let name = detail["eventName"].as_str().unwrap_or_default();
            let request = &detail["requestParameters"];
            let account = match name {
                "TagResource" | "UntagResource" => {
                    request["resourceId"].as_str().map(str::to_string)
                }
                "MoveAccount" => request["accountId"].as_str().map(str::to_string),
                "CreateAccountResult" => {
                    detail["serviceEventDetails"]["createAccountStatus"]["accountId"]
                        .as_str()
                        .map(str::to_string)
                }
                _ => None,
            };
            let tags = (name == "TagResource").then(|| {
                request["tags"]
                    .as_array()
                    .map(|tags| {
                        tags.iter()
                            .filter_map(|t| {
                                Some((
                                    t["key"].as_str()?.to_string(),
                                    t["value"].as_str()?.to_string(),
                                ))
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            });
            let kind = if matches!(name, "MoveAccount" | "CreateAccountResult") {
                Kind::Membership
            } else {
                Kind::Other
            };
            Parsed {
                account: account.filter(|a| is_account_id(a)),
                tags,
                what: format!("organizations {name}"),
                kind,
            }
        }
        "aws.codebuild" => {
            // Delivered events carry `account`; the emulator's do not, the build ARN does.
            let account = event["account"]
                .as_str()
                .filter(|a| is_account_id(a))
                .map(str::to_string)
                .or_else(|| detail["build-id"].as_str().and_then(account_of_arn));
            parsed(account, "codebuild build state change".to_string())
        }
        super::events::EVENT_SOURCE => {
            let account = detail["Account"]
                .as_str()
                .or_else(|| detail["Payload"]["account"].as_str())
                .filter(|a| is_account_id(a))
                .map(str::to_string);
            let label = event["detail-type"].as_str().unwrap_or_default();
            let kind = match (label, event_time(&event)) {
                ("PreparationReport" | "PurgeReport", Some(at_ms)) => Kind::Report {
                    label: label.to_string(),
                    message: detail["Message"].as_str().unwrap_or_default().to_string(),
                    at_ms,
                },
                _ => Kind::Other,
            };
            Parsed {
                kind,
                ..parsed(account, format!("spa {label}"))
            }
        }
        "aws.signin" => {
            let account = event["account"]
                .as_str()
                .or_else(|| detail["recipientAccountId"].as_str())
                .filter(|a| is_account_id(a))
                .map(str::to_string);
            let sign_in = account
                .as_deref()
                .and_then(|account| sign_in(&event, account));
            Parsed {
                kind: Kind::SignIn(sign_in),
                ..parsed(account, "console sign-in".to_string())
            }
        }
        other => parsed(None, format!("source {other:?}")),
    }
}

/// What to do with a message, given the engine's managed accounts and recent writes.
pub fn classify(engine: &Engine, body: &str) -> Wake {
    let Parsed {
        account,
        tags,
        what,
        kind,
    } = parse_event(body);
    let Some(account) = account else {
        return Wake::Ignored(what);
    };
    if !engine.is_managed(&account) {
        if kind == Kind::Membership {
            return Wake::Moved(account);
        }
        return Wake::Ignored(format!("{what} on unmanaged account {account}"));
    }
    match kind {
        Kind::SignIn(Some(SignIn::Exception(label, exception))) => {
            return Wake::Raise(label, exception);
        }
        Kind::SignIn(Some(SignIn::Person {
            identity,
            id,
            at_ms,
        })) => {
            return Wake::Login {
                account,
                identity,
                id,
                at_ms,
            };
        }
        Kind::SignIn(None) => return Wake::Ignored(format!("{what}: not a login to record")),
        Kind::Report {
            label,
            message,
            at_ms,
        } => {
            engine.record(Fact::Report {
                account: account.clone(),
                label,
                message,
                at_ms,
            });
        }
        Kind::Membership | Kind::Other => {}
    }
    if let Some(tags) = &tags
        && engine.is_echo(&account, tags)
    {
        return Wake::Echo(account);
    }
    Wake::Account(account)
}

/// Receives messages until dropped: each wakes its account, then is deleted. A queue that
/// fails is retried with a pause; the sweep covers what is lost meanwhile.
pub async fn consume(engine: Arc<Engine>, aws: Aws, queue_url: String, wait_seconds: i32) {
    loop {
        let received = aws.receive_messages(&queue_url, 10, wait_seconds).await;
        let messages = match received {
            Ok(messages) => messages,
            Err(error) => {
                tracing::warn!("cannot read the event queue: {error}");
                tokio::time::sleep(Duration::from_secs(10)).await;
                continue;
            }
        };
        for message in messages {
            match classify(&engine, &message.body) {
                Wake::Account(account) => {
                    tracing::debug!(account, "event: account queued");
                    engine.counters.wakes.inc();
                    engine.invalidate(&account);
                    engine.queue.push(&account, Duration::ZERO, false);
                }
                Wake::Echo(account) => tracing::debug!(account, "event: echo of our own write"),
                Wake::Ignored(what) => tracing::debug!(what, "event ignored"),
                Wake::Moved(account) => match engine.enrol_from_event(&account).await {
                    Ok(true) => {
                        engine.counters.wakes.inc();
                    }
                    Ok(false) => tracing::debug!(account, "moved outside what settings manage"),
                    Err(error) => {
                        // The next full observation finds it anyway.
                        tracing::warn!(account, "cannot read a moved account: {error}");
                    }
                },
                Wake::Login {
                    account,
                    identity,
                    id,
                    at_ms,
                } => engine.record(Fact::Login {
                    account,
                    identity,
                    id,
                    at_ms,
                }),
                Wake::Raise(label, exception) => {
                    if let Err(error) = engine.raise(label, &exception).await {
                        // Left in the queue: SQS delivers it again, then dead-letters it.
                        tracing::warn!(
                            account = exception.account,
                            "cannot raise {label:?}: {error}"
                        );
                        continue;
                    }
                }
            }
            if let Err(error) = aws.delete_message(&queue_url, &message.receipt).await {
                tracing::warn!("cannot delete a queue message: {error}");
            }
        }
    }
}

/// Starts what wakes accounts besides the engine's own polls: the maintenance window, the
/// sweep every `sweep_interval`, the queue consumer when there is a queue, and the consumer
/// of the alerts queue when the engine has one. Abort the handles to stop them.
pub fn spawn(
    engine: &Arc<Engine>,
    queue_url: Option<String>,
    sweep_interval: Duration,
) -> Vec<tokio::task::JoinHandle<()>> {
    let alerts = engine.options.alerts_queue_url.clone();
    let mut tasks = vec![
        tokio::spawn(maintenance_window(engine.clone())),
        tokio::spawn(sweep(engine.clone(), sweep_interval)),
        tokio::spawn(stale_transactions(engine.clone())),
    ];
    if let Some(queue_url) = queue_url {
        tasks.push(tokio::spawn(consume(
            engine.clone(),
            engine.aws().clone(),
            queue_url,
            20,
        )));
    }
    if let Some(alerts) = alerts {
        tasks.push(tokio::spawn(super::alerts::consume(
            engine.clone(),
            engine.aws().clone(),
            alerts,
            20,
        )));
    }
    tasks
}

/// Sleeps until each firing of the maintenance window, then queues every managed account
/// (released ones expire; the reconcile decides). Evaluated in UTC by spa itself.
pub async fn maintenance_window(engine: Arc<Engine>) {
    loop {
        let config = engine.config();
        let now = engine.now_ms() / 1000;
        let Some(at) = config.maintenance.as_ref().and_then(|s| s.next_after(now)) else {
            // No window (or none ever again): look again after a settings change.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            continue;
        };
        let wait = Duration::from_secs((at - now).max(0) as u64);
        // Wake at least hourly: settings may have changed the window.
        if wait > Duration::from_secs(3600) {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            continue;
        }
        tokio::time::sleep(wait).await;
        tracing::info!("maintenance window: every managed account queued");
        engine.queue_all();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Queues the accounts in a non-final state (everything but released), as last observed;
/// returns how many. Parked accounts are read and left alone.
pub fn sweep_once(engine: &Engine) -> usize {
    let mut queued = 0;
    for (account, state) in engine.known_states() {
        if state.as_deref() != Some("released") {
            engine.queue.push(&account, Duration::ZERO, false);
            queued += 1;
        }
    }
    queued
}

/// Every minute, raises the transactions open for longer than their lifetime
/// (`metering.transactions_ttl_in_seconds`): an on-boarding or a maintenance that never
/// ended is a `FailedOnBoardingException` or a `FailedMaintenanceException`, once.
pub async fn stale_transactions(engine: Arc<Engine>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        raise_stale_transactions(&engine).await;
    }
}

/// One look at the open transactions; how many were raised.
pub async fn raise_stale_transactions(engine: &Engine) -> usize {
    let Some(recorder) = engine.recorder() else {
        return 0;
    };
    // A standby or a suspended controller raises nothing: the leader does.
    if !engine.may_move() {
        return 0;
    }
    let lifetime = recorder.config().lifetimes.transactions_seconds;
    let mut raised = 0;
    for open in recorder.expired(engine.now_ms()) {
        let (event, what) = if open.transaction == "OnBoardingTransaction" {
            (Event::FailedOnBoardingException, "on-boarding")
        } else {
            (Event::FailedMaintenanceException, "maintenance")
        };
        let exception = Exception {
            account: open.account.clone(),
            title: format!("The {what} of account {} did not end", open.account),
            message: format!(
                "The {what} of account {} began at {} and has not ended after {}: the account is not released. Look at its state, its builds (`spa lifecycle builds {}`) and whether it is parked.",
                open.account,
                open.begin,
                crate::time::human_duration(Duration::from_secs(lifetime)),
                open.account
            ),
            impact: None,
        };
        match engine.raise(event, &exception).await {
            Ok(()) => {
                raised += 1;
                recorder.forget(&open.account);
                recorder.record(Fact::Expired {
                    account: open.account,
                });
            }
            Err(error) => {
                tracing::warn!(account = %open.account, "cannot raise {event:?}: {error}")
            }
        }
    }
    raised
}

/// Every `interval`, sweeps: AWS delivers events best-effort.
pub async fn sweep(engine: Arc<Engine>, interval: Duration) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    loop {
        tick.tick().await;
        let queued = sweep_once(&engine);
        tracing::debug!(queued, "sweep");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_through_single_sign_on_is_a_login_to_record() {
        let body = r#"{"id":"7d3b1c2e-1111-2222-3333-444455556666","source":"aws.signin","account":"123456789012","time":"2026-12-01T09:15:00Z","detail":{"eventName":"ConsoleLogin","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Sandbox_0123/ana@example.com","principalId":"AROAEXAMPLE:ana@example.com"},"responseElements":{"ConsoleLogin":"Success"}}}"#;
        let parsed = parse_event(body);
        assert_eq!(parsed.account.as_deref(), Some("123456789012"));
        assert_eq!(
            parsed.kind,
            Kind::SignIn(Some(SignIn::Person {
                identity: "ana@example.com".to_string(),
                id: "7d3b1c2e-1111-2222-3333-444455556666".to_string(),
                at_ms: 1_796_116_500_000,
            }))
        );
        // A failed sign-in is nothing to record.
        let failed = body.replace(r#""ConsoleLogin":"Success""#, r#""ConsoleLogin":"Failure""#);
        assert_eq!(parse_event(&failed).kind, Kind::SignIn(None));
    }

    #[test]
    fn a_build_report_is_recorded() {
        let body = r#"{"source":"SustainablePersonalAccounts","detail-type":"PurgeReport","time":"2026-12-01T09:15:00Z","detail":{"Account":"123456789012","Environment":"SpaDemo","Message":"deleted 12, kept 3, failed 0"}}"#;
        assert_eq!(
            parse_event(body).kind,
            Kind::Report {
                label: "PurgeReport".to_string(),
                message: "deleted 12, kept 3, failed 0".to_string(),
                at_ms: 1_796_116_500_000,
            }
        );
    }

    #[test]
    fn every_kind_of_event_names_its_account() {
        let cases = [
            (
                r#"{"source":"aws.organizations","detail":{"eventName":"UntagResource","requestParameters":{"resourceId":"123456789012","tagKeys":["a"]}}}"#,
                Some("123456789012"),
                None,
            ),
            (
                r#"{"source":"aws.organizations","detail":{"eventName":"MoveAccount","requestParameters":{"accountId":"210987654321","sourceParentId":"ou-a","destinationParentId":"ou-b"}}}"#,
                Some("210987654321"),
                None,
            ),
            (
                r#"{"source":"aws.organizations","detail":{"eventName":"CreateAccountResult","serviceEventDetails":{"createAccountStatus":{"accountId":"111122223333","state":"SUCCEEDED"}}}}"#,
                Some("111122223333"),
                None,
            ),
            (
                r#"{"source":"aws.organizations","detail":{"eventName":"TagResource","requestParameters":{"resourceId":"123456789012","tags":[{"key":"k","value":"v"}]}}}"#,
                Some("123456789012"),
                Some(BTreeMap::from([("k".to_string(), "v".to_string())])),
            ),
            // An OU tagged, not an account.
            (
                r#"{"source":"aws.organizations","detail":{"eventName":"TagResource","requestParameters":{"resourceId":"ou-ab12-cdef3456","tags":[]}}}"#,
                None,
                Some(BTreeMap::new()),
            ),
            (
                r#"{"source":"aws.codebuild","account":"444455556666","detail-type":"CodeBuild Build State Change","detail":{}}"#,
                Some("444455556666"),
                None,
            ),
            (
                r#"{"source":"aws.codebuild","detail":{"build-id":"arn:aws:codebuild:eu-west-1:777788889999:build/SpaProjectForAccountPurge:1"}}"#,
                Some("777788889999"),
                None,
            ),
            (
                r#"{"source":"SustainablePersonalAccounts","detail-type":"FailedCodebuildException","detail":{"Payload":{"account":"123456789012","title":"t","message":"m"}}}"#,
                Some("123456789012"),
                None,
            ),
            (r#"{"source":"aws.s3","detail":{}}"#, None, None),
            ("not json", None, None),
        ];
        for (body, account, tags) in cases {
            let found = parse_event(body);
            assert_eq!(found.account.as_deref(), account, "{body}");
            assert_eq!(found.tags, tags, "{body}");
        }
    }
}
