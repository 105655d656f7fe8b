//! The life cycle on fakes: builds that fail, stop, or outlive a controller; events lost,
//! duplicated and reordered; a broken account among healthy ones; and the maintenance
//! window of 10,000 accounts against the published quotas, in virtual time.
#![allow(clippy::print_stderr)] // the scale test reports its virtual time

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spa_controller::aws::fake::{
    self, Behaviour, FakeEvents, FakeMember, FakeMembers, FakeOrganizations, Fakes, LineItem,
};
use spa_controller::aws::{BuildStatus, Clock, api};
use spa_controller::lifecycle::engine::{Engine, EngineOptions, Step, accounts_from};
use spa_controller::lifecycle::machine::{Job, State};
use spa_controller::lifecycle::triggers::{self, Wake};
use spa_controller::observe::observe;
use spa_controller::plan::AttachAction;
use spa_schema::{MemoryFiles, Settings};

use crate::common::valid_settings;

/// Friday 2026-11-20 18:00:00 UTC, a firing of `cron(0 18 ? * FRI *)`.
const FRIDAY_18: i64 = 1_795_197_600;

fn settings(items: &str, window: &str) -> Arc<Settings> {
    settings_with(items, window, &[])
}

/// With more files (CSV files named by `items`).
fn settings_with(items: &str, window: &str, more: &[(&str, &str)]) -> Arc<Settings> {
    let yaml = format!(
        "environment_identifier: SpaTest\nautomation:\n  account_id: \"123456789012\"\n  region: eu-west-1\n  maintenance_window_expression: \"{window}\"\nworker:\n  preparation_buildspec_template_file: prep.yaml\n  purge_buildspec_template_file: purge.yaml\n{items}"
    );
    let mut files = MemoryFiles::new()
        .with("settings.yaml", yaml.as_str())
        .with(
            "prep.yaml",
            "version: 0.2\nphases:\n  build:\n    commands:\n      - echo prepare\n",
        )
        .with(
            "purge.yaml",
            "version: 0.2\nphases:\n  build:\n    commands:\n      - echo purge\n",
        );
    for (name, text) in more {
        files = files.with(name, *text);
    }
    Arc::new(valid_settings(&files))
}

const BOTH: &str = "defaults:\n  account_tags:\n    team: platform\n  preparation:\n    feature: enabled\n    variables:\n      BUDGET_AMOUNT: 500\n  purge:\n    feature: enabled\n    variables:\n      MAXIMUM_AGE: 5d\norganizational_units:\n  - identifier: ou-test-sandboxes\n";

struct World {
    fakes: Fakes,
    organizations: Arc<FakeOrganizations>,
    builds: Arc<FakeMembers>,
    events: Arc<FakeEvents>,
    settings: Arc<Settings>,
    clock: Clock,
}

impl World {
    fn new(
        accounts: &[(&str, &[(&str, &str)])],
        settings: Arc<Settings>,
        make: impl Fn() -> FakeMember + Send + Sync + 'static,
    ) -> World {
        let clock = fake::virtual_clock(FRIDAY_18 * 1000 + 7 * 3_600_000);
        let builds_clock = clock.clone();
        let fakes = Fakes::new(Behaviour::default, move || {
            make().with_clock(builds_clock.clone())
        });
        let organizations = fakes.organizations.clone();
        let root = organizations.root_id();
        organizations.add_unit("ou-test-sandboxes", "Sandbox", &root);
        for (id, tags) in accounts {
            organizations.add_account(id, &format!("person-{id}"), "ou-test-sandboxes", tags);
        }
        World {
            organizations,
            builds: fakes.members.clone(),
            events: fakes.events.clone(),
            fakes,
            settings,
            clock,
        }
    }

    fn aws(&self) -> spa_controller::aws::Aws {
        self.fakes.aws()
    }

    /// A fresh engine (a restarted controller) on the same AWS, knowing every managed account.
    async fn engine(&self, options: EngineOptions, steps: Arc<Mutex<Vec<Step>>>) -> Arc<Engine> {
        let aws = self.aws();
        let observation = observe(&aws, &self.settings).await;
        let engine = Engine::new(aws, self.clock.clone(), options, self.settings.clone())
            .with_observer(move |step| steps.lock().unwrap().push(step.clone()));
        engine.set_accounts(accounts_from(&observation));
        Arc::new(engine)
    }

    /// As [`World::engine`], with a notifier (one notification per label and account an hour).
    async fn engine_notifying(
        &self,
        options: EngineOptions,
    ) -> (Arc<Engine>, Arc<spa_controller::notify::Notifier>) {
        let aws = self.aws();
        let observation = observe(&aws, &self.settings).await;
        let notifier =
            spa_controller::notify::Notifier::start(aws.clone(), Duration::from_secs(3600));
        let engine = Engine::new(aws, self.clock.clone(), options, self.settings.clone())
            .with_notifier(notifier.clone());
        engine.set_accounts(accounts_from(&observation));
        (Arc::new(engine), notifier)
    }

    fn state(&self, account: &str) -> Option<String> {
        self.organizations
            .tags_of(account)
            .get("account-state")
            .cloned()
    }

    fn events_of(&self, account: &str) -> Vec<String> {
        self.events
            .put
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, e)| {
                e.detail["Account"] == account || e.detail["Payload"]["account"] == account
            })
            .map(|(_, e)| e.detail_type.clone())
            .collect()
    }

    /// Every event put so far matches docs/events.schema.json, keys in the documented order.
    fn assert_contract(&self) {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../docs/events.schema.json")).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let put = self.events.put.lock().unwrap();
        assert!(!put.is_empty());
        for (_, entry) in put.iter() {
            let event = serde_json::json!({
                "Source": entry.source,
                "DetailType": entry.detail_type,
                "Detail": entry.detail,
            });
            let errors: Vec<String> = validator
                .iter_errors(&event)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{event}: {errors:?}");
            let keys = |v: &serde_json::Value| -> Vec<String> {
                v.as_object().unwrap().keys().cloned().collect()
            };
            let detail = keys(&entry.detail);
            if detail[0] == "Account" {
                assert!(
                    ["Account", "Environment", "Message"]
                        .iter()
                        .map(|k| k.to_string())
                        .collect::<Vec<_>>()
                        .starts_with(&detail),
                    "{detail:?}"
                );
            } else {
                assert_eq!(detail, ["ContentType", "Environment", "Payload"]);
                let payload = keys(&entry.detail["Payload"]);
                if entry.detail_type.ends_with("Exception") {
                    assert!(
                        ["account", "title", "message", "impact"]
                            .iter()
                            .map(|k| k.to_string())
                            .collect::<Vec<_>>()
                            .starts_with(&payload),
                        "{payload:?}"
                    );
                }
            }
        }
    }
}

fn quick() -> EngineOptions {
    EngineOptions {
        poll: Duration::from_secs(5),
        backoff: Duration::from_secs(1),
        ..EngineOptions::default()
    }
}

async fn run(engine: &Arc<Engine>) {
    engine.queue_all();
    engine.work(true).await;
}

const A: &str = "111111111111";
const B: &str = "222222222222";
const C: &str = "333333333333";

#[tokio::test(start_paused = true)]
async fn accounts_go_round_the_whole_cycle_with_builds_inside_each_account() {
    let world = World::new(
        &[
            (A, &[]),
            (B, &[("account-state", "vanilla")]),
            (C, &[("account-state", "assigned")]),
        ],
        settings(BOTH, "cron(0 18 ? * FRI *)"),
        FakeMember::default,
    );
    let steps = Arc::new(Mutex::new(Vec::new()));
    let engine = world.engine(quick(), steps.clone()).await;
    run(&engine).await;
    for account in [A, B, C] {
        assert_eq!(
            world.state(account).as_deref(),
            Some("released"),
            "{account}"
        );
        let builds = world.builds.account(account);
        assert_eq!(
            builds.started_of(Job::Preparation.project()),
            1,
            "{account}"
        );
        let project = builds.project(Job::Preparation.project()).unwrap();
        assert_eq!(project.environment["BUDGET_AMOUNT"], "500");
        assert_eq!(project.environment["ENVIRONMENT_IDENTIFIER"], "SpaTest");
        assert_eq!(
            project.environment["EVENT_BUS_ARN"],
            "arn:aws:events:eu-west-1:123456789012:event-bus/default"
        );
        assert!(project.buildspec.contains("echo prepare"));
    }
    // Enrolment tagged the account from settings; C was already past it.
    assert_eq!(world.organizations.tags_of(A)["team"], "platform");
    assert_eq!(
        world.events_of(A),
        [
            "CreatedAccount",
            "AssignedAccount",
            "PreparedAccount",
            "ReleasedAccount"
        ]
    );
    assert_eq!(world.events_of(C), ["PreparedAccount", "ReleasedAccount"]);

    // The maintenance window, now: purge, then preparation again.
    let engine = world
        .engine(
            EngineOptions {
                expire_now: true,
                ..quick()
            },
            steps.clone(),
        )
        .await;
    run(&engine).await;
    for account in [A, B, C] {
        assert_eq!(
            world.state(account).as_deref(),
            Some("released"),
            "{account}"
        );
        let builds = world.builds.account(account);
        assert_eq!(builds.started_of(Job::Purge.project()), 1, "{account}");
        assert_eq!(
            builds.started_of(Job::Preparation.project()),
            2,
            "{account}"
        );
    }
    assert_eq!(
        world.events_of(B),
        [
            "CreatedAccount",
            "AssignedAccount",
            "PreparedAccount",
            "ReleasedAccount",
            "ExpiredAccount",
            "PurgedAccount",
            "AssignedAccount",
            "PreparedAccount",
            "ReleasedAccount"
        ]
    );
    world.assert_contract();
    let path: Vec<State> = steps
        .lock()
        .unwrap()
        .iter()
        .filter_map(|s| match s {
            Step::Transition { account, to, .. } if account == A => Some(*to),
            _ => None,
        })
        .collect();
    assert_eq!(
        path,
        [
            State::Vanilla,
            State::Assigned,
            State::Released,
            State::Expired,
            State::Assigned,
            State::Released
        ]
    );
    // Transitions without a build between them share one write. First run: A (none →
    // vanilla → assigned, then released), B (vanilla → assigned, released), C
    // (released); second run: expired, assigned, released for each.
    assert_eq!(
        world
            .organizations
            .behaviour
            .served
            .count(api::TAG_RESOURCE, "ok"),
        2 + 2 + 1 + 3 * 3
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_build_is_retried_with_backoff_then_the_account_is_parked() {
    let world = World::new(
        &[
            (A, &[("account-state", "assigned")]),
            (B, &[("account-state", "assigned")]),
        ],
        settings(BOTH, "rate(7 days)"),
        FakeMember::default,
    );
    world.builds.account(A).script(&[
        BuildStatus::Failed,
        BuildStatus::Failed,
        BuildStatus::Failed,
    ]);
    let steps = Arc::new(Mutex::new(Vec::new()));
    let engine = world.engine(quick(), steps.clone()).await;
    let start = tokio::time::Instant::now();
    run(&engine).await;
    assert_eq!(world.builds.account(A).started(), 3);
    assert_eq!(world.state(A).as_deref(), Some("assigned"));
    assert_eq!(
        world.organizations.tags_of(A)["account-parked"],
        "the preparation build failed 3 times"
    );
    assert_eq!(world.events_of(A), ["FailedCodebuildException"]);
    let exception = world
        .events
        .put
        .lock()
        .unwrap()
        .iter()
        .find(|(_, e)| e.detail_type == "FailedCodebuildException")
        .unwrap()
        .1
        .clone();
    assert_eq!(exception.detail["ContentType"], "application/json");
    let payload = exception.detail["Payload"].as_object().unwrap();
    assert_eq!(
        payload.keys().collect::<Vec<_>>(),
        ["account", "title", "message"]
    );
    assert_eq!(payload["account"], A);
    assert_eq!(
        payload["title"],
        format!("Account {A} is parked in state assigned")
    );
    assert!(
        payload["message"]
            .as_str()
            .unwrap()
            .contains("the preparation build failed 3 times"),
        "{payload:?}"
    );
    world.assert_contract();
    // Back-off: 1 s then 2 s before the second and third attempts.
    assert!(
        start.elapsed() >= Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    // The other account was not held up.
    assert_eq!(world.state(B).as_deref(), Some("released"));
    // A parked account stays put.
    let engine = world.engine(quick(), steps).await;
    run(&engine).await;
    assert_eq!(world.builds.account(A).started(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_stopped_build_is_started_again() {
    let world = World::new(
        &[(A, &[("account-state", "assigned")])],
        settings(BOTH, "rate(7 days)"),
        FakeMember::default,
    );
    world.builds.account(A).script(&[BuildStatus::Stopped]);
    let steps = Arc::new(Mutex::new(Vec::new()));
    let engine = world.engine(quick(), steps.clone()).await;
    run(&engine).await;
    assert_eq!(world.builds.account(A).started(), 2);
    assert_eq!(world.state(A).as_deref(), Some("released"));
}

/// An operator's move emits what every entry into that state emits, and lifts a park.
#[tokio::test(start_paused = true)]
async fn a_forced_state_emits_the_event_of_entering_it() {
    let world = World::new(
        &[(
            A,
            &[("account-state", "released"), ("account-parked", "stuck")],
        )],
        settings(BOTH, "rate(7 days)"),
        FakeMember::default,
    );
    let engine = world.engine(quick(), Arc::default()).await;
    engine.force_state(A, State::Expired).await.unwrap();
    assert_eq!(world.events_of(A), ["ExpiredAccount"]);
    assert!(
        !world
            .organizations
            .tags_of(A)
            .contains_key("account-parked")
    );
    engine.force_state(A, State::Vanilla).await.unwrap();
    assert_eq!(world.events_of(A), ["ExpiredAccount"]);
    world.assert_contract();
}

#[tokio::test(start_paused = true)]
async fn a_failed_purge_never_reaches_assigned() {
    let world = World::new(
        &[(A, &[("account-state", "expired")])],
        settings(BOTH, "rate(7 days)"),
        FakeMember::default,
    );
    world.builds.account(A).script(&[
        BuildStatus::Failed,
        BuildStatus::Stopped,
        BuildStatus::Failed,
    ]);
    let steps = Arc::new(Mutex::new(Vec::new()));
    let engine = world.engine(quick(), steps.clone()).await;
    run(&engine).await;
    assert_eq!(world.state(A).as_deref(), Some("expired"));
    assert_eq!(world.builds.account(A).started_of(Job::Purge.project()), 3);
    assert_eq!(
        world
            .builds
            .account(A)
            .started_of(Job::Preparation.project()),
        0
    );
    assert!(world.organizations.tags_of(A)["account-parked"].contains("purge build failed"));
    assert!(!steps.lock().unwrap().iter().any(|s| matches!(
        s,
        Step::Transition {
            to: State::Assigned,
            ..
        }
    )));
}

#[tokio::test(start_paused = true)]
async fn a_restart_in_the_middle_of_a_build_starts_no_second_build() {
    let world = World::new(
        &[(A, &[("account-state", "vanilla")])],
        settings(BOTH, "rate(7 days)"),
        || FakeMember::with_duration(3),
    );
    let first = world.engine(quick(), Default::default()).await;
    // One reconcile: enrolled, assigned, build started; then the controller dies.
    first.reconcile(A, false).await;
    assert_eq!(world.builds.account(A).started(), 1);
    assert_eq!(world.state(A).as_deref(), Some("assigned"));
    drop(first);
    // Well past CodeBuild's five minutes of idempotency: only the cycle's tag tells.
    tokio::time::sleep(Duration::from_secs(600)).await;
    let second = world.engine(quick(), Default::default()).await;
    run(&second).await;
    assert_eq!(
        world.builds.account(A).started(),
        1,
        "the build of the cycle was found again"
    );
    assert_eq!(world.state(A).as_deref(), Some("released"));
}

#[tokio::test(start_paused = true)]
async fn duplicated_reordered_and_echoed_events_are_harmless() {
    let world = World::new(
        &[
            (A, &[("account-state", "vanilla")]),
            (B, &[("account-state", "vanilla")]),
        ],
        settings(BOTH, "rate(7 days)"),
        || FakeMember::with_duration(2),
    );
    let engine = world.engine(quick(), Default::default()).await;
    let queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/events";
    let queues = world.fakes.queues.clone();
    let build_event = |account: &str| {
        format!(
            r#"{{"source":"aws.codebuild","detail-type":"CodeBuild Build State Change","account":"{account}","detail":{{"build-status":"SUCCEEDED","build-id":"arn:aws:codebuild:eu-west-1:{account}:build/SpaProjectForAccountPreparation:1"}}}}"#
        )
    };
    let spa_event = |account: &str| {
        format!(
            r#"{{"source":"SustainablePersonalAccounts","detail-type":"CreatedAccount","detail":{{"Account":"{account}"}}}}"#
        )
    };
    // Completions announced before anything started, twice, out of order; one for an
    // account spa does not manage.
    for body in [
        build_event(B),
        spa_event(A),
        build_event(A),
        build_event(A),
        spa_event(B),
        build_event("999999999999"),
    ] {
        queues.push(queue, &body);
    }
    assert_eq!(
        triggers::classify(&engine, &build_event("999999999999")),
        Wake::Ignored("codebuild build state change on unmanaged account 999999999999".into())
    );
    let consumer = tokio::spawn(triggers::consume(
        engine.clone(),
        world.aws(),
        queue.to_string(),
        0,
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    engine.work(true).await;
    consumer.abort();
    for account in [A, B] {
        assert_eq!(world.state(account).as_deref(), Some("released"));
        assert_eq!(world.builds.account(account).started(), 1, "{account}");
    }
    assert_eq!(queues.len(queue), 0);
    // The TagResource event of our own last write is recognised as its echo.
    let tags = world.organizations.tags_of(A);
    let echo = format!(
        r#"{{"source":"aws.organizations","detail":{{"eventName":"TagResource","requestParameters":{{"resourceId":"{A}","tags":[{{"key":"account-state","value":"released"}},{{"key":"account-since","value":"{}"}}]}}}}}}"#,
        tags["account-since"]
    );
    assert_eq!(
        triggers::classify(&engine, &echo),
        Wake::Echo(A.to_string())
    );
    let by_hand = echo.replace("\"released\"", "\"vanilla\"");
    assert_eq!(
        triggers::classify(&engine, &by_hand),
        Wake::Account(A.to_string())
    );
}

/// The alerts queue: a budget alert becomes an exception about the topic's account, the
/// subscription of an alert topic is confirmed, and bad messages neither crash the consumer
/// nor stay in the queue.
#[tokio::test(start_paused = true)]
async fn the_alerts_queue_raises_budget_alerts_and_confirms_subscriptions() {
    let world = World::new(
        &[(A, &[("account-state", "released")])],
        settings(BOTH, "rate(7 days)"),
        FakeMember::default,
    );
    let alerts = "https://sqs.eu-west-1.amazonaws.com/123456789012/SpaTestAlerts";
    let engine = world
        .engine(
            EngineOptions {
                alerts_queue_url: Some(alerts.to_string()),
                ..quick()
            },
            Default::default(),
        )
        .await;
    let topic = format!("arn:aws:sns:eu-west-1:{A}:SpaAlertTopic");
    let queues = world.fakes.queues.clone();
    for body in [
        serde_json::json!({"Type": "SubscriptionConfirmation", "TopicArn": topic, "Token": "t0k", "Message": "confirm"}).to_string(),
        serde_json::json!({"Type": "Notification", "TopicArn": topic, "Subject": "AWS Budgets: Monthly has exceeded your alert threshold", "Message": "80% of 500 USD"}).to_string(),
        "not json at all".to_string(),
        serde_json::json!({"Type": "Notification", "TopicArn": "arn:aws:sns:eu-west-1:999999999999:SpaAlertTopic", "Message": "x"}).to_string(),
        "x".repeat(300_000),
    ] {
        queues.push(alerts, &body);
    }
    let tasks = triggers::spawn(&engine, None, Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_secs(2)).await;
    for task in tasks {
        task.abort();
    }
    assert_eq!(queues.len(alerts), 0);
    assert_eq!(
        world.fakes.topics.confirmed(),
        [(topic.clone(), "t0k".to_string())]
    );
    assert_eq!(world.events_of(A), ["BudgetAlertException"]);
    assert_eq!(
        world.events_of("123456789012"),
        ["GenericException", "GenericException"]
    );
    assert_eq!(engine.counters.alerts.get(), 3);
    assert_eq!(engine.counters.alerts_ignored.get(), 1);
    world.assert_contract();
}

/// Console sign-ins forwarded from member accounts: an IAM user's or the root user's is an
/// exception; single sign-on is not; an unmanaged account's is none of spa's business.
#[tokio::test(start_paused = true)]
async fn console_logins_by_iam_users_and_root_are_exceptions() {
    let world = World::new(
        &[(A, &[("account-state", "released")])],
        settings(BOTH, "rate(7 days)"),
        FakeMember::default,
    );
    let engine = world.engine(quick(), Default::default()).await;
    let queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/events";
    let sign_in = |account: &str, identity: serde_json::Value| {
        serde_json::json!({
            "source": "aws.signin",
            "detail-type": "AWS Console Sign In via CloudTrail",
            "account": account,
            "detail": {
                "eventName": "ConsoleLogin",
                "userIdentity": identity,
                "sourceIPAddress": "203.0.113.7",
                "responseElements": {"ConsoleLogin": "Success"},
            },
        })
        .to_string()
    };
    for body in [
        sign_in(A, serde_json::json!({"type": "IAMUser", "userName": "bob"})),
        sign_in(A, serde_json::json!({"type": "Root"})),
        sign_in(
            A,
            serde_json::json!({"type": "AssumedRole", "arn": "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin/ana"}),
        ),
        sign_in("999999999999", serde_json::json!({"type": "Root"})),
    ] {
        world.fakes.queues.push(queue, &body);
    }
    let consumer = tokio::spawn(triggers::consume(
        engine.clone(),
        world.aws(),
        queue.to_string(),
        0,
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    consumer.abort();
    assert_eq!(world.fakes.queues.len(queue), 0);
    assert_eq!(
        world.events_of(A),
        [
            "ConsoleLoginWithIamUserException",
            "ConsoleLoginWithRootException"
        ]
    );
    let put = world.events.put.lock().unwrap().clone();
    assert_eq!(
        put[0].1.detail["Payload"]["title"],
        format!("Console login by the IAM user bob on account {A}")
    );
    assert!(world.events_of("999999999999").is_empty());
    world.assert_contract();
    // Nothing woke the account.
    assert_eq!(engine.counters.wakes.get(), 0);
}

/// A storm of 10,000 budget alerts of one account gives one notification on the exceptions
/// topic; the next one after the window says how many were held back. Every alert is still
/// an event on the bus.
#[tokio::test(start_paused = true)]
async fn a_storm_of_budget_alerts_gives_one_notification_per_window() {
    let world = World::new(
        &[(A, &[("account-state", "released")])],
        settings(BOTH, "rate(7 days)"),
        FakeMember::default,
    );
    let alerts = "https://sqs.eu-west-1.amazonaws.com/123456789012/SpaTestAlerts";
    let topic = "arn:aws:sns:eu-west-1:123456789012:SpaTestExceptions";
    let (engine, notifier) = world
        .engine_notifying(EngineOptions {
            alerts_queue_url: Some(alerts.to_string()),
            exceptions_topic_arn: Some(topic.to_string()),
            ..quick()
        })
        .await;
    let alert = serde_json::json!({
        "Type": "Notification",
        "TopicArn": format!("arn:aws:sns:eu-west-1:{A}:SpaAlertTopic"),
        "Subject": "AWS Budgets: Monthly has exceeded your alert threshold",
        "Message": "80% of 500 USD",
    })
    .to_string();
    let queues = world.fakes.queues.clone();
    let storm = 10_000;
    for _ in 0..storm {
        queues.push(alerts, &alert);
    }
    let started = std::time::Instant::now();
    let tasks = triggers::spawn(&engine, None, Duration::from_secs(24 * 3600));
    while queues.len(alerts) > 0 {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    eprintln!(
        "{storm} budget alerts: {} notification(s), {} held back, {:?} of wall time",
        world.fakes.topics.published().len(),
        notifier.counters.held_back.get(),
        started.elapsed()
    );
    assert_eq!(world.events_of(A).len(), storm);
    let published = world.fakes.topics.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].0, topic);
    assert!(
        published[0].1.contains("BudgetAlertException"),
        "{:?}",
        published[0]
    );
    assert_eq!(notifier.counters.held_back.get(), storm as u64 - 1);

    // After the window, the next alert goes out and counts the ones held back.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    queues.push(alerts, &alert);
    while queues.len(alerts) > 0 {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    for task in tasks {
        task.abort();
    }
    let published = world.fakes.topics.published();
    assert_eq!(published.len(), 2);
    assert!(
        published[1]
            .2
            .contains(&format!("and {} more times", storm - 1)),
        "{}",
        published[1].2
    );
}

/// A parked account becomes an Incident Manager incident, tagged with what is known of the
/// account; a response plan that does not exist shows on the notifier, and the life cycle
/// goes on.
#[tokio::test(start_paused = true)]
async fn an_exception_becomes_an_incident_tagged_with_the_account() {
    let plan = "arn:aws:ssm-incidents::123456789012:response-plan/SpaTestPlan";
    let items = format!("{BOTH}features:\n  with_response_plan_arn: {plan}\n");
    let world = World::new(
        &[
            (A, &[("account-state", "assigned"), ("cost-center", "CC-1")]),
            (B, &[("account-state", "assigned")]),
        ],
        settings(&items, "rate(7 days)"),
        FakeMember::default,
    );
    world.builds.account(A).script(&[
        BuildStatus::Failed,
        BuildStatus::Failed,
        BuildStatus::Failed,
    ]);
    let (engine, notifier) = world.engine_notifying(quick()).await;
    run(&engine).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = world.fakes.incidents.started();
    assert_eq!(started.len(), 1, "{started:?}");
    let (record, spec) = &started[0];
    assert_eq!(spec.response_plan_arn, plan);
    assert_eq!(spec.impact, 4);
    assert!(
        spec.title.contains("FailedCodebuildException"),
        "{}",
        spec.title
    );
    assert!(
        spec.raw_data
            .contains("the preparation build failed 3 times")
    );
    let tags: BTreeMap<String, String> = world
        .fakes
        .incidents
        .tags_of(record)
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    assert_eq!(tags["spa-label"], "FailedCodebuildException");
    assert_eq!(tags["spa-account"], A);
    assert_eq!(tags["spa-account-email"], format!("person-{A}@example.com"));
    assert_eq!(tags["spa-organizational-unit"], "ou-test-sandboxes");
    assert_eq!(tags["cost-center"], "CC-1");
    assert_eq!(world.state(B).as_deref(), Some("released"));

    // A response plan that does not exist: the failure shows, nothing else stops.
    world
        .fakes
        .incidents
        .with_plans(&["arn:aws:ssm-incidents::123456789012:response-plan/Other"]);
    engine
        .raise(
            spa_controller::lifecycle::machine::Event::GenericException,
            &spa_controller::lifecycle::events::Exception {
                account: B.into(),
                title: "t".into(),
                message: "m".into(),
                impact: Some(2),
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let errors = notifier.counters.last_errors.lock().unwrap().clone();
    assert!(errors["incidents"].contains("not found"), "{errors:?}");
    assert_eq!(
        world.events_of(B).last().map(String::as_str),
        Some("GenericException")
    );
}

/// An incident links the month-to-date costs of its account by service: a workbook in the
/// reports bucket under the exceptions prefix, behind the S3 console (credentials needed),
/// written once a day per account (Cost Explorer bills each request); an exception about an
/// account without costs gets an empty one; without Cost Explorer the incident still starts.
#[tokio::test(start_paused = true)]
async fn an_incident_links_the_month_to_date_costs_of_its_account() {
    let plan = "arn:aws:ssm-incidents::123456789012:response-plan/SpaTestPlan";
    let items = format!("{BOTH}features:\n  with_response_plan_arn: {plan}\n");
    let world = World::new(
        &[
            (A, &[("account-state", "assigned")]),
            (B, &[("account-state", "assigned")]),
        ],
        settings(&items, "rate(7 days)"),
        FakeMember::default,
    );
    let today = jiff::tz::Offset::UTC
        .to_datetime(jiff::Timestamp::now())
        .date();
    let (start, _) = spa_controller::costs::fetch::month_to_date(today);
    let line = |account: &str, service: &str, record: &str, amount: &str| LineItem {
        day: start.clone(),
        account: account.into(),
        service: service.into(),
        usage_type: format!("{service}-Usage"),
        record_type: record.into(),
        amount: amount.into(),
    };
    world.fakes.costs.extend([
        line(A, "Amazon EC2", "Usage", "41.5"),
        line(A, "Amazon EC2", "Usage", "0.25"),
        line(A, "Amazon S3", "Usage", "3.2E-7"),
        line(A, "AWS Key Management Service", "Usage", "1"),
        line(A, "Amazon EC2", "Credit", "-40"),
        line(B, "Amazon EC2", "Usage", "999"),
    ]);
    let bucket = "spatest-reports";
    let options = EngineOptions {
        reports_bucket: Some(bucket.into()),
        ..quick()
    };
    let (engine, _notifier) = world.engine_notifying(options).await;
    let exception = |account: &str, title: &str| spa_controller::lifecycle::events::Exception {
        account: account.into(),
        title: title.into(),
        message: "m".into(),
        impact: None,
    };
    let generic = spa_controller::lifecycle::machine::Event::GenericException;
    engine.raise(generic, &exception(A, "first")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;

    let started = world.fakes.incidents.started();
    assert_eq!(started.len(), 1, "{started:?}");
    let related = &started[0].1.related;
    assert_eq!(related.len(), 1, "{related:?}");
    let key = format!(
        "SpaReports/Exceptions/{A}/{}/{today}-{A}-costs.xlsx",
        today.strftime("%Y/%m")
    );
    let encoded: String =
        percent_encoding::utf8_percent_encode(&key, percent_encoding::NON_ALPHANUMERIC).collect();
    assert_eq!(
        related[0].url,
        format!(
            "https://eu-west-1.console.aws.amazon.com/s3/object/{bucket}?region=eu-west-1&prefix={encoded}"
        )
    );
    assert!(related[0].title.contains(A), "{}", related[0].title);
    let (bytes, content_type) = world.fakes.objects.get(bucket, &key).expect("the workbook");
    assert!(content_type.contains("spreadsheetml"), "{content_type}");
    let read = crate::workbooks::read(&bytes, "Services");
    let column =
        |c: usize| -> Vec<String> { read.values.iter().map(|r| r[c].to_string()).collect() };
    // The costliest first, credits left out, one row per service, then the total.
    assert_eq!(
        column(2),
        [
            "Service",
            "Amazon EC2",
            "AWS Key Management Service",
            "Amazon S3",
            "TOTAL"
        ]
    );
    assert_eq!(read.values[1][3], calamine::Data::Float(41.75));
    assert_eq!(read.values[4][3], calamine::Data::Float(42.75000032));
    assert!(
        read.formulas[4][3].starts_with("SUBTOTAL(9,"),
        "{:?}",
        read.formulas[4]
    );
    assert_eq!(
        world
            .fakes
            .costs
            .behaviour
            .served
            .calls(api::GET_COST_AND_USAGE),
        1
    );

    // Another exception about A the same day: the same file, no second request.
    engine
        .raise(
            spa_controller::lifecycle::machine::Event::FailedCodebuildException,
            &exception(A, "second"),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let started = world.fakes.incidents.started();
    assert_eq!(started.len(), 2);
    assert_eq!(started[1].1.related, started[0].1.related);
    assert_eq!(
        world
            .fakes
            .costs
            .behaviour
            .served
            .calls(api::GET_COST_AND_USAGE),
        1
    );

    // Cost Explorer refuses (no data yet): the incident starts without the link.
    world.fakes.costs.set_today("2000-01-01");
    engine.raise(generic, &exception(B, "third")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let started = world.fakes.incidents.started();
    assert_eq!(started.len(), 3);
    assert!(
        started[2].1.related.is_empty(),
        "{:?}",
        started[2].1.related
    );
    assert_eq!(world.fakes.objects.keys(bucket).len(), 1);

    // The costs are asked once per notification, not once per attempt of a failing start.
    let asked = world
        .fakes
        .costs
        .behaviour
        .served
        .calls(api::GET_COST_AND_USAGE);
    world
        .fakes
        .incidents
        .with_plans(&["arn:aws:ssm-incidents::123456789012:response-plan/Other"]);
    engine
        .raise(
            spa_controller::lifecycle::machine::Event::FailedCodebuildException,
            &exception(B, "fourth"),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(world.fakes.incidents.started().len(), 3, "the start failed");
    assert_eq!(
        world
            .fakes
            .costs
            .behaviour
            .served
            .calls(api::GET_COST_AND_USAGE),
        asked + 1
    );
}

/// A new account moved into a managed OU is enrolled from its event, without a full
/// observation; one moved elsewhere is not touched; an incremental observation that does
/// not know it yet does not drop it.
#[tokio::test(start_paused = true)]
async fn a_moved_account_is_enrolled_from_its_event() {
    const N: &str = "444444444444";
    const M: &str = "555555555555";
    let world = World::new(
        &[(A, &[("account-state", "released")])],
        settings(
            "organizational_units:\n  - identifier: ou-test-sandboxes\n    account_tags:\n      team: platform\n",
            "rate(7 days)",
        ),
        FakeMember::default,
    );
    let engine = world.engine(quick(), Default::default()).await;
    let root = world.organizations.root_id();
    world
        .organizations
        .add_unit("ou-test-other", "Other", &root);
    world
        .organizations
        .add_account(N, "newcomer", "ou-test-sandboxes", &[]);
    world
        .organizations
        .add_account(M, "elsewhere", "ou-test-other", &[]);
    let queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/events";
    for account in [N, M] {
        world.fakes.queues.push(
            queue,
            &format!(
                r#"{{"source":"aws.organizations","detail":{{"eventName":"MoveAccount","requestParameters":{{"accountId":"{account}","sourceParentId":"{root}","destinationParentId":"ou"}}}}}}"#
            ),
        );
    }
    let consumer = tokio::spawn(triggers::consume(
        engine.clone(),
        world.aws(),
        queue.to_string(),
        0,
    ));
    let start = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    engine.work(true).await;
    consumer.abort();
    eprintln!(
        "moved account released after {:?} of virtual time",
        start.elapsed()
    );
    assert_eq!(world.state(N).as_deref(), Some("released"));
    assert_eq!(world.organizations.tags_of(N)["team"], "platform");
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
    assert!(world.organizations.tags_of(M).is_empty());
    assert!(!engine.is_managed(M));
    assert_eq!(
        world.events_of(N),
        ["CreatedAccount", "AssignedAccount", "ReleasedAccount"]
    );
    // An incremental observation from before the move keeps it; a full one decides.
    let mut before = engine_accounts_without(&engine, N);
    engine.set_observed_accounts(std::mem::take(&mut before), 0, false);
    assert!(engine.is_managed(N));
}

fn engine_accounts_without(
    engine: &Engine,
    account: &str,
) -> BTreeMap<String, spa_controller::lifecycle::engine::Known> {
    engine
        .managed()
        .into_iter()
        .filter(|a| a != account)
        .map(|a| (a, Default::default()))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_lost_event_is_recovered_by_the_sweep() {
    let world = World::new(
        &[(A, &[("account-state", "released")])],
        settings(BOTH, "rate(7 days)"),
        FakeMember::default,
    );
    let engine = world.engine(quick(), Default::default()).await;
    run(&engine).await;
    assert_eq!(world.builds.account(A).started(), 0);
    // An operator resets the account by hand; the TagResource event never arrives.
    world.organizations.add_account(
        A,
        "person",
        "ou-test-sandboxes",
        &[("account-state", "vanilla")],
    );
    engine.work(true).await;
    assert_eq!(
        world.state(A).as_deref(),
        Some("vanilla"),
        "nothing woke the account"
    );
    // The next observation feeds the sweep, which queues every account not released.
    let observation = observe(&world.aws(), &world.settings).await;
    engine.set_accounts(accounts_from(&observation));
    assert_eq!(triggers::sweep_once(&engine), 1);
    engine.work(true).await;
    assert_eq!(world.state(A).as_deref(), Some("released"));
    assert_eq!(world.builds.account(A).started(), 1);
}

#[tokio::test(start_paused = true)]
async fn one_broken_account_never_stops_the_fleet() {
    let world = World::new(
        &[
            (A, &[("account-state", "assigned")]),
            (B, &[("account-state", "assigned")]),
            (C, &[("account-state", "assigned")]),
        ],
        settings(BOTH, "rate(7 days)"),
        FakeMember::default,
    );
    world.builds.refuse(B);
    let engine = world.engine(quick(), Default::default()).await;
    run(&engine).await;
    assert_eq!(world.state(A).as_deref(), Some("released"));
    assert_eq!(world.state(C).as_deref(), Some("released"));
    assert_eq!(world.state(B).as_deref(), Some("assigned"));
    let reason = &world.organizations.tags_of(B)["account-parked"];
    assert!(
        reason.starts_with("assuming the role to manage CodeBuild"),
        "{reason}"
    );
    assert_eq!(world.events_of(B), ["FailedCodebuildException"]);
}

#[tokio::test(start_paused = true)]
async fn the_maintenance_window_expires_released_accounts_and_no_other() {
    // The world's clock starts on Saturday 01:00, seven hours after the window.
    let a_week_ago = ((FRIDAY_18 - 7 * 86_400 + 3600) * 1000).to_string();
    let after_window = ((FRIDAY_18 + 60) * 1000).to_string();
    let world = World::new(
        &[
            (
                A,
                &[
                    ("account-state", "released"),
                    ("account-since", &a_week_ago),
                ],
            ),
            (
                B,
                &[
                    ("account-state", "released"),
                    ("account-since", &after_window),
                ],
            ),
        ],
        settings(BOTH, "cron(0 18 ? * FRI *)"),
        FakeMember::default,
    );
    let engine = world.engine(quick(), Default::default()).await;
    run(&engine).await;
    assert_eq!(
        world.builds.account(A).started_of(Job::Purge.project()),
        1,
        "released before the window: purged"
    );
    assert_eq!(
        world.builds.account(B).started(),
        0,
        "released after the window: kept"
    );
    assert_eq!(world.state(B).as_deref(), Some("released"));
}

/// The maintenance window of 10,000 released accounts with purge enabled, against fakes
/// that enforce the published quotas. The bound is TagResource: one write per account at
/// 4/s after a burst of 6: (10,000 − 6) / 4 = 2,498.5 s ≈ 41.6 min. Purges run an hour.
#[tokio::test(start_paused = true)]
async fn ten_thousand_accounts_expire_within_ten_percent_of_the_tag_bound() {
    let organizations = Arc::new(FakeOrganizations::new(Behaviour::with_quotas()));
    let root = organizations.root_id();
    // Every account also has a CSV row: each reconcile resolves one account among
    // 10,000 rows. (Their account parameters would pass the standard tier's quota.)
    let mut yaml = String::from(
        "features:\n  with_account_parameters: false\n  with_csv_files:\n    - finops.csv\ndefaults:\n  purge:\n    feature: enabled\n    variables:\n      MAXIMUM_AGE: 5d\norganizational_units:\n",
    );
    let mut csv = String::from("Account,Purge: MAXIMUM_AGE\n");
    let since = ((FRIDAY_18 - 3 * 86_400) * 1000).to_string();
    for unit in 0..100 {
        let ou = format!("ou-scal-unit{unit:04}");
        organizations.add_unit(&ou, "unit", &root);
        let _ = writeln!(yaml, "  - identifier: {ou}");
        for index in 0..100 {
            let id = format!("{:012}", 400_000_000_000usize + unit * 100 + index);
            organizations.add_account(
                &id,
                "p",
                &ou,
                &[
                    ("account-state", "released"),
                    ("account-since", &since),
                    ("account-holder", "p@example.com"),
                ],
            );
            let _ = writeln!(csv, "{id},2w");
        }
    }
    let clock = fake::virtual_clock(FRIDAY_18 * 1000 + 1);
    let run_clock = clock.clone();
    let fakes = Fakes {
        organizations: organizations.clone(),
        ..Fakes::new(Behaviour::with_quotas, move || {
            FakeMember::with_run_time(Duration::from_secs(3600), run_clock.clone())
        })
    };
    let builds = fakes.members.clone();
    let settings = settings_with(&yaml, "cron(0 18 ? * FRI *)", &[("finops.csv", &csv)]);
    let aws = fakes.aws();
    let observation = observe(&aws, &settings).await;
    assert_eq!(observation.accounts.len(), 10_000);
    let start = tokio::time::Instant::now();
    let expired = Arc::new(Mutex::new((0usize, Duration::ZERO)));
    let seen = expired.clone();
    let options = EngineOptions {
        poll: Duration::from_secs(600),
        ..EngineOptions::default()
    };
    let engine = Engine::new(aws, clock, options, settings).with_observer(move |step| {
        if let Step::Transition {
            to: State::Expired, ..
        } = step
        {
            let mut seen = seen.lock().unwrap();
            seen.0 += 1;
            seen.1 = start.elapsed();
        }
    });
    engine.set_accounts(accounts_from(&observation));
    let engine = Arc::new(engine);
    let windows = tokio::spawn(triggers::maintenance_window(engine.clone()));
    // The window fires the next Friday; this one is already due for every account.
    engine.queue_all();
    engine.work(true).await;
    windows.abort();
    let (count, at) = *expired.lock().unwrap();
    assert_eq!(count, 10_000);
    let elapsed = at.as_secs_f64();
    let bound = (10_000.0 - 6.0) / 4.0;
    assert!(
        elapsed <= bound * 1.1,
        "{elapsed:.0} s against a bound of {bound:.0} s"
    );
    assert_eq!(
        builds.accounts_with(Job::Purge.project()),
        10_000,
        "a purge in every account"
    );
    assert_eq!(builds.started(), 10_000, "one purge each");
    let project = builds
        .account("400000009999")
        .project(Job::Purge.project())
        .unwrap();
    assert_eq!(project.environment["MAXIMUM_AGE"], "2w", "the CSV row wins");
    assert_eq!(
        organizations
            .behaviour
            .served
            .count(api::TAG_RESOURCE, "throttled"),
        0
    );
    assert_eq!(
        organizations
            .behaviour
            .served
            .count(api::LIST_TAGS_FOR_RESOURCE, "throttled"),
        0
    );
    let states: BTreeMap<String, usize> = (0..10_000)
        .map(|i| {
            organizations.tags_of(&format!("{:012}", 400_000_000_000usize + i))["account-state"]
                .clone()
        })
        .fold(BTreeMap::new(), |mut m, s| {
            *m.entry(s).or_default() += 1;
            m
        });
    assert_eq!(states, BTreeMap::from([("released".to_string(), 10_000)]));
    eprintln!(
        "10,000 accounts expired in {elapsed:.1} s of virtual time ({:.1} min, bound {bound:.1} s); all purged and released again after {:.1} min",
        elapsed / 60.0,
        start.elapsed().as_secs_f64() / 60.0
    );
}

/// An incremental observation reuses older reads: it never rolls back what the engine
/// wrote; a full observation read after the engine's write wins.
#[tokio::test(start_paused = true)]
async fn an_incremental_observation_never_rolls_back_the_engines_tags() {
    let world = World::new(
        &[(A, &[("account-state", "vanilla")])],
        settings(BOTH, "rate(7 days)"),
        || FakeMember::with_duration(100),
    );
    let stale = accounts_from(&observe(&world.aws(), &world.settings).await);
    let engine = world.engine(quick(), Default::default()).await;
    let before = (world.clock)();
    tokio::time::sleep(Duration::from_millis(10)).await;
    engine.reconcile(A, false).await;
    assert_eq!(engine.known_states()[A].as_deref(), Some("assigned"));
    engine.set_observed_accounts(stale.clone(), before, false);
    assert_eq!(
        engine.known_states()[A].as_deref(),
        Some("assigned"),
        "incremental: ours"
    );
    engine.set_observed_accounts(stale, before, true);
    assert_eq!(
        engine.known_states()[A].as_deref(),
        Some("assigned"),
        "full, but older than our write"
    );
    // Someone else moves it; a full observation after that wins.
    world.organizations.add_account(
        A,
        "person",
        "ou-test-sandboxes",
        &[("account-state", "released")],
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
    let after = (world.clock)();
    let fresh = accounts_from(&observe(&world.aws(), &world.settings).await);
    engine.set_observed_accounts(fresh, after, true);
    assert_eq!(engine.known_states()[A].as_deref(), Some("released"));
}

const FREEZE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":["arn:aws:iam::*:role/AWSControlTowerExecution","arn:aws:iam::*:role/SpaCodeBuildServiceRole"]}}}]}"#;

#[tokio::test(start_paused = true)]
async fn a_per_state_policy_follows_each_account_round_the_cycle() {
    let items = format!(
        "{BOTH}service_control_policies:\n  - name: Freeze\n    file: freeze.json\n    organizational_units: [ou-test-sandboxes]\n    states: [expired]\n"
    );
    let world = World::new(
        &[
            (A, &[("account-state", "released")]),
            (B, &[("account-state", "released")]),
        ],
        settings_with(&items, "cron(0 18 ? * FRI *)", &[("freeze.json", FREEZE)]),
        FakeMember::default,
    );
    // The settings loop creates the policy (no account is expired: attached nowhere).
    let (plan, scope) = world.settings_plan().await;
    assert_eq!(plan.policies.len(), 1);
    assert!(plan.attachments.is_empty(), "{:?}", plan.attachments);
    let report = world.settings_apply(&plan, &scope, None).await;
    assert_eq!(report.failed, 0, "{report:?}");

    // While each account is expired (its purge running), the policy is attached to it.
    let organizations = world.organizations.clone();
    // (account, the state it entered, the policies attached to it then)
    type Seen = Vec<(String, State, Vec<String>)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let record = seen.clone();
    let aws = world.aws();
    let observation = observe(&aws, &world.settings).await;
    let engine = Engine::new(
        aws,
        world.clock.clone(),
        EngineOptions {
            expire_now: true,
            ..quick()
        },
        world.settings.clone(),
    )
    .with_observer(move |step| {
        if let Step::Transition { account, to, .. } = step {
            record
                .lock()
                .unwrap()
                .push((account.clone(), *to, organizations.policies_of(account)));
        }
    });
    engine.set_accounts(accounts_from(&observation));
    let engine = Arc::new(engine);
    run(&engine).await;
    let seen = seen.lock().unwrap().clone();
    for account in [A, B] {
        let path: Vec<(State, bool)> = seen
            .iter()
            .filter(|(a, ..)| a == account)
            .map(|(_, to, policies)| (*to, policies.contains(&"SpaTest-Freeze".to_string())))
            .collect();
        assert_eq!(
            path,
            [
                (State::Expired, true),
                (State::Assigned, false),
                (State::Released, false)
            ],
            "{account}"
        );
        assert_eq!(world.state(account).as_deref(), Some("released"));
    }
    // Two writes per account and cycle: attached on entering expired, detached on leaving.
    let served = &world.organizations.behaviour.served;
    assert_eq!(served.count(api::ATTACH_POLICY, "ok"), 2);
    assert_eq!(served.count(api::DETACH_POLICY, "ok"), 2);
    // One listing found the policy's id for both accounts.
    assert_eq!(
        served.calls(api::LIST_POLICIES),
        1 + 2,
        "two observations, one lookup"
    );
    assert!(engine.take_policies_written());
    // The settings loop agrees with the life cycle: nothing to do.
    let (plan, _) = world.settings_plan().await;
    assert!(plan.attachments.is_empty(), "{:?}", plan.attachments);
}

/// Two per-state policies on one account, beside an idle life cycle: the apply writes
/// both, one after the other (it never finds its own hold on the account).
#[tokio::test(start_paused = true)]
async fn an_apply_writes_two_per_state_policies_of_one_account() {
    let items = format!(
        "{BOTH}service_control_policies:\n  - name: Freeze\n    file: freeze.json\n    organizational_units: [ou-test-sandboxes]\n    states: [expired]\n  - name: Still\n    file: freeze.json\n    organizational_units: [ou-test-sandboxes]\n    states: [expired]\n"
    );
    let world = World::new(
        &[(A, &[("account-state", "expired")])],
        settings_with(&items, "cron(0 18 ? * FRI *)", &[("freeze.json", FREEZE)]),
        FakeMember::default,
    );
    let engine = world.engine(quick(), Arc::default()).await;
    let (plan, scope) = world.settings_plan().await;
    assert_eq!(plan.attachments.len(), 2, "{:?}", plan.attachments);
    // Calls that take time: the two attachments are in flight together.
    world
        .organizations
        .behaviour
        .set_latency(Duration::from_millis(50));
    let report = world.settings_apply(&plan, &scope, Some(&engine)).await;
    assert_eq!((report.skipped, report.failed), (0, 0), "{report:?}");
    let mut attached = world.organizations.policies_of(A);
    attached.sort();
    assert_eq!(
        attached,
        ["FullAWSAccess", "SpaTest-Freeze", "SpaTest-Still"]
    );
}

/// The settings loop and the life cycle both write per-state attachments. A plan made
/// after a transition detached the policy but before it wrote the new state (here, the
/// state write is throttled) would attach the policy again to an account that has left
/// `expired`; beside the life cycle, the apply leaves such an attachment to the next plan.
#[tokio::test(start_paused = true)]
async fn a_plan_made_mid_transition_never_puts_back_what_the_life_cycle_removed() {
    let items = format!(
        "{BOTH}service_control_policies:\n  - name: Freeze\n    file: freeze.json\n    organizational_units: [ou-test-sandboxes]\n    states: [expired]\n"
    );
    let world = World::new(
        &[(A, &[("account-state", "expired")])],
        settings_with(&items, "cron(0 18 ? * FRI *)", &[("freeze.json", FREEZE)]),
        || FakeMember::with_duration(60),
    );
    let freeze = || {
        world
            .organizations
            .policies_of(A)
            .contains(&"SpaTest-Freeze".to_string())
    };
    // The settings loop creates the policy and attaches it to the expired account.
    let (plan, scope) = world.settings_plan().await;
    world.settings_apply(&plan, &scope, None).await;
    assert!(freeze(), "attached while expired");

    let steps: Arc<Mutex<Vec<Step>>> = Arc::default();
    let engine = world.engine(quick(), steps.clone()).await;
    let worker = {
        let engine = engine.clone();
        tokio::spawn(async move { run(&engine).await })
    };
    // Once the purge runs, the state write that will end it is throttled for a while.
    while !steps
        .lock()
        .unwrap()
        .iter()
        .any(|s| matches!(s, Step::BuildStarted { job: Job::Purge, account, .. } if account == A))
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    world.organizations.behaviour.inject(fake::Fault {
        api: Some(api::TAG_RESOURCE),
        resource: Some(A.to_string()),
        kind: spa_controller::aws::ErrorKind::Throttled,
        times: Some(4),
    });
    // The purge ends; the transition detaches the policy, then waits to write the state.
    while freeze() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        world.state(A).as_deref(),
        Some("expired"),
        "not written yet"
    );
    let (plan, scope) = world.settings_plan().await;
    let plan = plan.without_stale_states(|a| engine.known_state(a));
    let stale: Vec<_> = plan
        .attachments
        .iter()
        .map(|a| (a.target.as_str(), a.action, a.state.as_deref()))
        .collect();
    assert_eq!(
        stale,
        [(A, AttachAction::Attach, Some("expired"))],
        "the window: the state still reads expired, the policy is detached"
    );
    // The state still reads expired, in AWS and to the life cycle: what skips the write is
    // the life cycle's hold on the account.
    assert_eq!(world.state(A).as_deref(), Some("expired"));
    assert_eq!(engine.known_state(A).as_deref(), Some("expired"));
    let report = world.settings_apply(&plan, &scope, Some(&engine)).await;
    assert_eq!((report.skipped, report.failed), (1, 0), "{report:?}");
    assert!(!freeze(), "the apply did not put it back");

    worker.await.unwrap();
    assert_eq!(world.state(A).as_deref(), Some("released"));
    // The same plan applied late: the account is no longer expired, so still nothing.
    let report = world.settings_apply(&plan, &scope, Some(&engine)).await;
    assert_eq!(report.skipped, 1, "{report:?}");
    assert!(!freeze());
    let (plan, _) = world.settings_plan().await;
    assert!(plan.attachments.is_empty(), "{:?}", plan.attachments);
}

impl World {
    /// What the settings loop would do now: its plan from a fresh observation, and the
    /// scope its apply writes in.
    async fn settings_plan(&self) -> (spa_controller::plan::Plan, spa_controller::apply::Scope) {
        let observed = observe(&self.aws(), &self.settings).await;
        let plan = spa_controller::plan::plan(
            &spa_controller::desired::desired(&self.settings, &observed, None),
            &observed,
        );
        (
            plan,
            spa_controller::apply::Scope::new("SpaTest", &observed),
        )
    }

    /// Applies `plan` as the controller does, beside `engine` when there is one.
    async fn settings_apply(
        &self,
        plan: &spa_controller::plan::Plan,
        scope: &spa_controller::apply::Scope,
        engine: Option<&Engine>,
    ) -> spa_controller::apply::ApplyReport {
        let options = spa_controller::apply::ApplyOptions {
            allow_destructive: true,
            concurrency: 4,
        };
        let moves = engine.map(|e| e as &dyn spa_controller::apply::Moves);
        spa_controller::apply::apply_beside(&self.aws(), plan, scope, options, moves, &|_, _| {})
            .await
            .unwrap()
    }

    /// The record tables of the automation stack, in the fakes.
    fn record_tables(&self) -> spa_controller::records::Tables {
        let tables = spa_controller::records::Tables::of(&self.settings);
        let records = &self.fakes.records;
        records.create_table(&tables.shadows, &["account"]);
        records.create_table(&tables.activities, &["day", "stamp"]);
        records.create_table(&tables.transactions, &["account"]);
        tables
    }

    /// An engine that records what happens, told first what the observation says.
    async fn engine_recording(
        &self,
        options: EngineOptions,
        metrics: &Arc<spa_controller::monitoring::FleetMetrics>,
    ) -> Arc<Engine> {
        let aws = self.aws();
        let observation = observe(&aws, &self.settings).await;
        let recorder = spa_controller::records::Recorder::start(
            aws.clone(),
            self.clock.clone(),
            spa_controller::records::RecordsConfig::of(&self.settings, "default"),
            metrics.clone(),
        );
        recorder.record(spa_controller::records::Fact::Accounts(
            spa_controller::records::accounts_of(&observation),
        ));
        let engine = Engine::new(aws, self.clock.clone(), options, self.settings.clone())
            .with_recorder(recorder);
        engine.set_accounts(accounts_from(&observation));
        Arc::new(engine)
    }

    fn records<T: serde::de::DeserializeOwned>(&self, table: &str) -> Vec<T> {
        spa_controller::records::parse_all(table, self.fakes.records.items(table)).0
    }

    fn put_labels(&self) -> Vec<String> {
        self.events
            .put
            .lock()
            .unwrap()
            .iter()
            .map(|(_, e)| e.detail_type.clone())
            .collect()
    }
}

/// The value a metric added up to, by metric and its one dimension besides Environment.
fn metric(data: &[spa_controller::aws::monitoring::Datum], name: &str, value: &str) -> f64 {
    data.iter()
        .filter(|d| d.name == name && d.dimensions.iter().any(|(_, v)| v == value))
        .map(|d| d.value)
        .sum()
}

/// A restarted recorder that cannot read the shadows writes none until it can: one written
/// from nothing would drop the history the table keeps (here, a purge report).
#[tokio::test(start_paused = true)]
async fn a_recorder_that_cannot_read_the_shadows_keeps_their_history() {
    use spa_controller::records::{Fact, Recorder, RecordsConfig, Shadow, accounts_of};
    let world = World::new(
        &[(A, &[("account-state", "released")])],
        settings(BOTH, "cron(0 18 ? * FRI *)"),
        FakeMember::default,
    );
    let tables = world.record_tables();
    let metrics = Arc::new(spa_controller::monitoring::FleetMetrics::new("SpaTest"));
    let start = || {
        Recorder::start(
            world.aws(),
            world.clock.clone(),
            RecordsConfig::of(&world.settings, "default"),
            metrics.clone(),
        )
    };
    let first = start();
    first.record(Fact::Report {
        account: A.into(),
        label: "PurgeReport".into(),
        message: "12 resources deleted".into(),
        at_ms: (world.clock)(),
    });
    first.flush().await;
    drop(first);
    let shadow = |world: &World| {
        let shadows: Vec<Shadow> = world.records(&tables.shadows);
        assert_eq!(shadows.len(), 1);
        shadows[0].clone()
    };
    assert!(shadow(&world).stamps.contains_key("PurgeReport"));

    // The next controller's first read of the shadows fails.
    world.fakes.records.behaviour.inject(fake::Fault {
        api: Some(api::SCAN),
        resource: Some(tables.shadows.clone()),
        kind: spa_controller::aws::ErrorKind::Terminal,
        times: Some(1),
    });
    let second = start();
    let observation = observe(&world.aws(), &world.settings).await;
    second.record(Fact::Accounts(accounts_of(&observation)));
    second.flush().await;
    let kept = shadow(&world);
    assert_eq!(kept.name, "", "not written");
    assert!(kept.stamps.contains_key("PurgeReport"));
    assert!(
        second
            .counters
            .errors
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );

    // Half a minute on, it reads them again, then writes: the history stays.
    tokio::time::sleep(Duration::from_secs(31)).await;
    second.record(Fact::Accounts(accounts_of(&observation)));
    second.flush().await;
    let written = shadow(&world);
    assert_eq!(written.name, format!("person-{A}"));
    assert_eq!(
        written.purge_report.as_deref(),
        Some("12 resources deleted"),
        "history kept"
    );
    assert!(written.stamps.contains_key("PurgeReport"));
}

#[tokio::test(start_paused = true)]
async fn records_follow_every_cycle_and_a_replay_counts_once() {
    use spa_controller::records::{Activity, Fact, Shadow, Transaction};
    let world = World::new(
        &[(A, &[]), (B, &[("account-state", "vanilla")])],
        settings(BOTH, "cron(0 18 ? * FRI *)"),
        FakeMember::default,
    );
    let tables = world.record_tables();
    let metrics = Arc::new(spa_controller::monitoring::FleetMetrics::new("SpaTest"));
    let engine = world.engine_recording(quick(), &metrics).await;
    run(&engine).await;
    let recorder = engine.recorder().unwrap().clone();
    recorder.flush().await;

    // On-boarding: opened by CreatedAccount, closed by ReleasedAccount.
    let shadows: Vec<Shadow> = world.records(&tables.shadows);
    assert_eq!(shadows.len(), 2);
    let a = shadows.iter().find(|s| s.account == A).unwrap();
    assert_eq!(a.name, format!("person-{A}"));
    assert_eq!(a.organizational_unit_name.as_deref(), Some("Sandbox"));
    assert_eq!(a.last_event.as_deref(), Some("ReleasedAccount"));
    for label in [
        "CreatedAccount",
        "AssignedAccount",
        "PreparedAccount",
        "ReleasedAccount",
    ] {
        assert!(a.stamps.contains_key(label), "{label}: {:?}", a.stamps);
    }
    assert!(
        world
            .records::<Transaction>(&tables.transactions)
            .is_empty()
    );
    let activities: Vec<Activity> = world.records(&tables.activities);
    assert_eq!(activities.len(), 2, "{activities:?}");
    assert!(
        activities
            .iter()
            .all(|a| a.label == "SuccessfulOnBoardingEvent"
                && a.transaction == "OnBoardingTransaction"
                && a.identifier == format!("person-{}@example.com", a.account))
    );
    assert_eq!(
        world
            .put_labels()
            .iter()
            .filter(|l| *l == "SuccessfulOnBoardingEvent")
            .count(),
        2
    );
    world.assert_contract();
    let counted = metrics.take(0);
    assert_eq!(
        metric(&counted, "TransactionsByLabel", "OnBoardingTransaction"),
        2.0
    );
    assert_eq!(
        metric(&counted, "AccountEventsByLabel", "CreatedAccount"),
        2.0
    );
    assert_eq!(metric(&counted, "AccountEventsByAccount", A), 4.0);

    // Every event of the bus again (a replay from the past), the last one again at its own
    // time, and a sign-in twice: nothing is counted twice.
    let again: Vec<spa_controller::aws::EventEntry> = world
        .events
        .put
        .lock()
        .unwrap()
        .iter()
        .map(|(_, e)| e.clone())
        .collect();
    let released = again
        .iter()
        .find(|e| e.detail_type == "ReleasedAccount" && e.detail["Account"] == A)
        .cloned()
        .unwrap();
    recorder.record(Fact::Emitted {
        entries: again,
        at_ms: 0,
    });
    let released_at = a.stamps["ReleasedAccount"]
        .parse::<jiff::Timestamp>()
        .unwrap();
    recorder.record(Fact::Emitted {
        entries: vec![released],
        at_ms: released_at.as_millisecond(),
    });
    for _ in 0..2 {
        recorder.record(Fact::Login {
            account: A.to_string(),
            identity: "ana@example.com".to_string(),
            id: "3f1c-login".to_string(),
            at_ms: world.clock.as_ref()(),
        });
    }
    recorder.flush().await;
    let activities: Vec<Activity> = world.records(&tables.activities);
    assert_eq!(
        activities.len(),
        3,
        "two on-boardings and one login: {activities:?}"
    );
    let counted = metrics.take(0);
    assert_eq!(
        metric(&counted, "TransactionsByLabel", "OnBoardingTransaction"),
        0.0
    );
    assert_eq!(
        metric(&counted, "AccountEventsByLabel", "ReleasedAccount"),
        0.0
    );
    assert_eq!(
        metric(&counted, "TransactionsByLabel", "ConsoleLoginTransaction"),
        1.0
    );
    let a: Shadow = world
        .records::<Shadow>(&tables.shadows)
        .into_iter()
        .find(|s| s.account == A)
        .unwrap();
    assert_eq!(a.console_login.unwrap().identity, "ana@example.com");

    // The maintenance window: a maintenance opened by ExpiredAccount, closed by
    // ReleasedAccount, for each account.
    let engine = world
        .engine_recording(
            EngineOptions {
                expire_now: true,
                ..quick()
            },
            &metrics,
        )
        .await;
    run(&engine).await;
    engine.recorder().unwrap().flush().await;
    let activities: Vec<Activity> = world.records(&tables.activities);
    let maintenances: Vec<&Activity> = activities
        .iter()
        .filter(|a| a.label == "SuccessfulMaintenanceEvent")
        .collect();
    assert_eq!(maintenances.len(), 2, "{activities:?}");
    assert!(
        maintenances
            .iter()
            .all(|m| m.duration >= 0 && m.begin <= m.end)
    );
    assert!(
        world
            .records::<Transaction>(&tables.transactions)
            .is_empty()
    );
    world.assert_contract();
}

#[tokio::test(start_paused = true)]
async fn a_transaction_open_past_its_lifetime_is_a_failure_once() {
    let items = format!("metering:\n  transactions_ttl_in_seconds: 3600\n{BOTH}");
    let world = World::new(
        &[(A, &[("account-state", "released")])],
        settings(&items, "rate(7 days)"),
        FakeMember::default,
    );
    world.builds.account(A).script(&[
        BuildStatus::Failed,
        BuildStatus::Failed,
        BuildStatus::Failed,
    ]);
    let tables = world.record_tables();
    let metrics = Arc::new(spa_controller::monitoring::FleetMetrics::new("SpaTest"));
    let engine = world
        .engine_recording(
            EngineOptions {
                expire_now: true,
                ..quick()
            },
            &metrics,
        )
        .await;
    run(&engine).await;
    let recorder = engine.recorder().unwrap().clone();
    recorder.flush().await;
    // The purge failed: the account is parked, its maintenance stays open.
    assert_eq!(world.state(A).as_deref(), Some("expired"));
    assert_eq!(recorder.open_transactions().len(), 1);
    assert_eq!(
        triggers::raise_stale_transactions(&engine).await,
        0,
        "not yet"
    );
    tokio::time::sleep(Duration::from_secs(3601)).await;
    assert_eq!(triggers::raise_stale_transactions(&engine).await, 1);
    // Once, even before the writer has deleted it.
    assert_eq!(triggers::raise_stale_transactions(&engine).await, 0, "once");
    recorder.flush().await;
    assert!(
        world
            .records::<spa_controller::records::Transaction>(&tables.transactions)
            .is_empty()
    );
    assert_eq!(
        world
            .put_labels()
            .iter()
            .filter(|l| *l == "FailedMaintenanceException")
            .count(),
        1
    );
    world.assert_contract();
    assert_eq!(
        metric(
            &metrics.take(0),
            "ExceptionsByLabel",
            "FailedMaintenanceException"
        ),
        1.0
    );
}
