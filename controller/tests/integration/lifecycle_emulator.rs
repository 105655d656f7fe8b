//! The life cycle end to end on the emulator, through the real SDK: accounts go round the
//! whole cycle, preparation and purge projects are created inside each member account
//! through the assumed role, spa's events reach the bus and come back through an
//! EventBridge rule to the SQS queue the engine consumes. The emulator has no CodeBuild
//! events: build outcomes are polled.
#![allow(clippy::print_stderr)] // the enrolment test reports its latencies

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use spa_controller::aws::sdk::{AwsOptions, assume_role, connect, sdk_config};
use spa_controller::aws::seed::{AccountSpec, OrganizationSpec, UnitSpec, seed};
use spa_controller::aws::{Aws, Limiters, system_clock};
use spa_controller::lifecycle::engine::{Engine, EngineOptions, Step, accounts_from};
use spa_controller::lifecycle::machine::State;
use spa_controller::lifecycle::triggers;
use spa_controller::observe::observe;
use spa_schema::{MemoryFiles, Settings};
use spa_tests::Emulator;

use crate::common::{queue_for, valid_settings};

const MEMBER_ROLE: &str = "AWSControlTowerExecution";

fn settings(ou: &str) -> Arc<Settings> {
    let yaml = format!(
        "environment_identifier: SpaE2E\nautomation:\n  account_id: \"123456789012\"\n  region: eu-west-1\n  role_name_to_manage_codebuild: {MEMBER_ROLE}\n  maintenance_window_expression: \"cron(0 18 ? * SAT *)\"\nworker:\n  preparation_buildspec_template_file: prep.yaml\n  purge_buildspec_template_file: purge.yaml\norganizational_units:\n  - identifier: {ou}\n    preparation:\n      feature: enabled\n      variables:\n        BUDGET_AMOUNT: 300\n    purge:\n      feature: enabled\n      variables:\n        MAXIMUM_AGE: 5d\n"
    );
    let files = MemoryFiles::new()
        .with("settings.yaml", yaml.as_str())
        .with(
            "prep.yaml",
            std::fs::read_to_string(spa_tests::workspace().join("buildspecs/preparation.yaml"))
                .unwrap()
                .as_str(),
        )
        .with(
            "purge.yaml",
            std::fs::read_to_string(spa_tests::workspace().join("buildspecs/purge.yaml"))
                .unwrap()
                .as_str(),
        );
    Arc::new(valid_settings(&files))
}

/// A project inside `account` (through the member role), and its environment variables.
async fn project_in(
    base: &aws_config::SdkConfig,
    account: &str,
    name: &str,
) -> (aws_sdk_codebuild::types::Project, BTreeMap<String, String>) {
    let member = assume_role(
        base,
        &format!("arn:aws:iam::{account}:role/{MEMBER_ROLE}"),
        "test",
    )
    .await;
    let projects = aws_sdk_codebuild::Client::new(&member)
        .batch_get_projects()
        .names(name)
        .send()
        .await
        .unwrap();
    let project = projects.projects()[0].clone();
    let variables = project
        .environment()
        .unwrap()
        .environment_variables()
        .iter()
        .map(|v| (v.name().to_string(), v.value().to_string()))
        .collect();
    (project, variables)
}

/// Every message of `queue`, as (detail-type, account), consumed.
async fn drain(aws: &Aws, queue: &str) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    loop {
        let messages = aws.receive_messages(queue, 10, 0).await.unwrap();
        if messages.is_empty() {
            return seen;
        }
        for message in messages {
            let body: serde_json::Value = serde_json::from_str(&message.body).unwrap();
            seen.push((
                body["detail-type"].as_str().unwrap_or_default().to_string(),
                body["detail"]["Account"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ));
            aws.delete_message(queue, &message.receipt).await.unwrap();
        }
    }
}

async fn run_engine(
    options: &AwsOptions,
    settings: &Arc<Settings>,
    engine_options: EngineOptions,
    queue: String,
) -> Arc<Engine> {
    let mut options = options.clone();
    options.member_role_name = Some(MEMBER_ROLE.to_string());
    let aws = connect(&options, Arc::new(Limiters::default())).await;
    let observation = observe(&aws, settings).await;
    assert!(observation.complete, "{:?}", observation.errors);
    let engine = Arc::new(Engine::new(
        aws.clone(),
        system_clock(),
        engine_options,
        settings.clone(),
    ));
    engine.set_accounts(accounts_from(&observation));
    let consumer = tokio::spawn(triggers::consume(engine.clone(), aws, queue, 1));
    engine.queue_all();
    tokio::time::timeout(Duration::from_secs(120), engine.work(true))
        .await
        .expect("idle within two minutes");
    consumer.abort();
    engine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_go_round_the_cycle_with_builds_inside_them_and_events_through_the_queue() {
    let emulator = Emulator::start();
    let options = AwsOptions::emulator(&emulator.endpoint);
    let account = |name: &str, state: Option<&str>| AccountSpec {
        name: name.into(),
        email: format!("{name}@example.com"),
        id: None,
        tags: state
            .map(|s| BTreeMap::from([("account-state".to_string(), s.to_string())]))
            .unwrap_or_default(),
    };
    let spec = OrganizationSpec {
        seed: 17,
        management_account: "123456789012".into(),
        management_role: "SpaAccountsManagementRole".into(),
        member_role: MEMBER_ROLE.into(),
        accounts: vec![account("outside", Some("vanilla"))],
        organizational_units: vec![UnitSpec {
            name: "Sandboxes".into(),
            id: None,
            accounts: vec![
                account("ana", None),
                account("ben", Some("vanilla")),
                account("cleo", Some("expired")),
            ],
            organizational_units: Vec::new(),
        }],
    };
    let seeded = seed(&options, spec).await.unwrap();
    let ou = seeded.organizational_units[0].1.clone();
    let members: Vec<String> = seeded
        .accounts
        .iter()
        .filter(|(name, _)| name != "outside")
        .map(|(_, id)| id.clone())
        .collect();
    let outside = seeded
        .accounts
        .iter()
        .find(|(name, _)| name == "outside")
        .unwrap()
        .1
        .clone();
    let settings = settings(&ou);
    let base = sdk_config(&options).await;
    let inbox = queue_for(
        &base,
        "spa-inbox",
        &[
            "SustainablePersonalAccounts",
            "aws.codebuild",
            "aws.organizations",
        ],
    )
    .await;
    let observer = queue_for(&base, "spa-observer", &["SustainablePersonalAccounts"]).await;

    let quick = EngineOptions {
        poll: Duration::from_millis(500),
        backoff: Duration::from_secs(1),
        concurrency: 4,
        ..EngineOptions::default()
    };
    let engine = run_engine(&options, &settings, quick.clone(), inbox.clone()).await;
    let aws = connect(&options, Arc::new(Limiters::default())).await;
    let state = |tags: Vec<spa_controller::aws::Tag>| {
        tags.into_iter()
            .find(|t| t.key == "account-state")
            .map(|t| t.value)
    };
    for id in &members {
        assert_eq!(
            state(aws.tags(id).await.unwrap()).as_deref(),
            Some("released"),
            "{id}"
        );
        // The project lives inside the member account, with the effective variables.
        let (project, variables) = project_in(&base, id, "SpaProjectForAccountPreparation").await;
        assert!(
            project.arn().unwrap().contains(&format!(":{id}:")),
            "{:?}",
            project.arn()
        );
        assert_eq!(variables["BUDGET_AMOUNT"], "300");
        assert_eq!(variables["ENVIRONMENT_IDENTIFIER"], "SpaE2E");
        assert!(
            project
                .source()
                .unwrap()
                .buildspec()
                .unwrap()
                .contains("PreparationReport")
        );
    }
    // The account outside the managed OU was not touched.
    assert_eq!(
        state(aws.tags(&outside).await.unwrap()).as_deref(),
        Some("vanilla")
    );
    // spa's own events came back through the rule and the queue, and woke their accounts.
    assert!(engine.counters.wakes.get() > 0);
    let seen = drain(&aws, &observer).await;
    let of = |account: &str| {
        seen.iter()
            .filter(|(_, a)| a == account)
            .map(|(t, _)| t.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of(&members[0]),
        [
            "CreatedAccount",
            "AssignedAccount",
            "PreparedAccount",
            "ReleasedAccount"
        ]
    );
    assert_eq!(
        of(&members[2]),
        [
            "PurgedAccount",
            "AssignedAccount",
            "PreparedAccount",
            "ReleasedAccount"
        ]
    );

    // The maintenance window, now: every account is purged and goes round again.
    let engine = run_engine(
        &options,
        &settings,
        EngineOptions {
            expire_now: true,
            ..quick
        },
        inbox,
    )
    .await;
    assert_eq!(
        engine.counters.builds_started.get(),
        6,
        "a purge and a preparation in each account"
    );
    for id in &members {
        assert_eq!(
            state(aws.tags(id).await.unwrap()).as_deref(),
            Some("released"),
            "{id}"
        );
        let (_, variables) = project_in(&base, id, "SpaProjectForAccountPurge").await;
        assert_eq!(variables["MAXIMUM_AGE"], "5d");
    }
    let seen = drain(&aws, &observer).await;
    for id in &members {
        let kinds: Vec<&str> = seen
            .iter()
            .filter(|(_, a)| a == id)
            .map(|(t, _)| t.as_str())
            .collect();
        assert_eq!(
            kinds,
            [
                "ExpiredAccount",
                "PurgedAccount",
                "AssignedAccount",
                "PreparedAccount",
                "ReleasedAccount"
            ],
            "{id}"
        );
    }
}

/// The EventBridge event of CloudTrail's MoveAccount, as the forwarding rule delivers it.
fn move_account_event(account: &str, from: &str, to: &str) -> String {
    serde_json::json!({
        "version": "0",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.organizations",
        "account": "123456789012",
        "region": "us-east-1",
        "detail": {
            "eventSource": "organizations.amazonaws.com",
            "eventName": "MoveAccount",
            "requestParameters": {
                "accountId": account,
                "sourceParentId": from,
                "destinationParentId": to
            }
        }
    })
    .to_string()
}

/// A new account moved into a managed OU is enrolled from its event, without waiting for a
/// full observation. The emulator emits no Organizations events: the event is put on the
/// queue as the forwarding rule would deliver it, after the account really moved. Measured:
/// event to released (preparation disabled) and event to preparation started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_account_is_enrolled_from_its_event_in_seconds() {
    let emulator = Emulator::start();
    let options = AwsOptions::emulator(&emulator.endpoint);
    let account = |name: &str| AccountSpec {
        name: name.into(),
        email: format!("{name}@example.com"),
        id: None,
        tags: BTreeMap::from([("account-state".to_string(), "released".to_string())]),
    };
    let unit = |name: &str, accounts| UnitSpec {
        name: name.into(),
        id: None,
        accounts,
        organizational_units: Vec::new(),
    };
    let newcomer = |name: &str| AccountSpec {
        tags: BTreeMap::new(),
        ..account(name)
    };
    let seeded = seed(
        &options,
        OrganizationSpec {
            seed: 29,
            management_account: "123456789012".into(),
            management_role: "SpaAccountsManagementRole".into(),
            member_role: MEMBER_ROLE.into(),
            accounts: vec![newcomer("quick"), newcomer("prepared")],
            organizational_units: vec![
                unit("Quick", vec![account("ana")]),
                unit("Prepared", vec![account("ben")]),
            ],
        },
    )
    .await
    .unwrap();
    let ou = |name: &str| {
        seeded
            .organizational_units
            .iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1
            .clone()
    };
    let id = |name: &str| {
        seeded
            .accounts
            .iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1
            .clone()
    };
    let (quick_ou, prepared_ou) = (ou("Quick"), ou("Prepared"));
    let yaml = format!(
        "environment_identifier: SpaE2E\nautomation:\n  account_id: \"123456789012\"\n  region: eu-west-1\n  role_name_to_manage_codebuild: {MEMBER_ROLE}\nworker:\n  preparation_buildspec_template_file: prep.yaml\norganizational_units:\n  - identifier: {quick_ou}\n    account_tags:\n      team: quick\n  - identifier: {prepared_ou}\n    preparation:\n      feature: enabled\n"
    );
    let settings = Arc::new(valid_settings(
        &MemoryFiles::new()
            .with("settings.yaml", yaml.as_str())
            .with(
                "prep.yaml",
                "version: 0.2\nphases:\n  build:\n    commands:\n      - echo prepare\n",
            ),
    ));

    // The engine runs as in the controller: the queue consumed, workers forever.
    let mut member_options = options.clone();
    member_options.member_role_name = Some(MEMBER_ROLE.to_string());
    let aws = connect(&member_options, Arc::new(Limiters::default())).await;
    let observation = observe(&aws, &settings).await;
    assert_eq!(
        observation.accounts.len(),
        2,
        "the newcomers are not managed yet"
    );
    let base = sdk_config(&options).await;
    let queue = queue_for(&base, "spa-moves", &["aws.organizations"]).await;
    let steps: Arc<std::sync::Mutex<Vec<(std::time::Instant, Step)>>> = Arc::default();
    let record = steps.clone();
    let engine = Arc::new(
        Engine::new(
            aws.clone(),
            system_clock(),
            EngineOptions {
                poll: Duration::from_millis(500),
                backoff: Duration::from_secs(1),
                concurrency: 4,
                ..EngineOptions::default()
            },
            settings.clone(),
        )
        .with_observer(move |step| {
            record
                .lock()
                .unwrap()
                .push((std::time::Instant::now(), step.clone()))
        }),
    );
    engine.set_accounts(accounts_from(&observation));
    let consumer = tokio::spawn(triggers::consume(
        engine.clone(),
        aws.clone(),
        queue.clone(),
        1,
    ));
    let worker = engine.clone();
    let workers = tokio::spawn(async move { worker.work(false).await });

    // Both newcomers move into the managed OUs; their events reach the queue.
    let management = assume_role(
        &base,
        "arn:aws:iam::123456789012:role/SpaAccountsManagementRole",
        "test",
    )
    .await;
    let organizations = aws_sdk_organizations::Client::new(&management);
    let root = observation.root_id.clone().unwrap();
    let sqs = aws_sdk_sqs::Client::new(&base);
    let sent = std::time::Instant::now();
    for (name, to) in [("quick", &quick_ou), ("prepared", &prepared_ou)] {
        organizations
            .move_account()
            .account_id(id(name))
            .source_parent_id(&root)
            .destination_parent_id(to)
            .send()
            .await
            .unwrap();
        sqs.send_message()
            .queue_url(&queue)
            .message_body(move_account_event(&id(name), &root, to))
            .send()
            .await
            .unwrap();
    }
    let released = |account: String| {
        let steps = steps.clone();
        move || {
            steps
                .lock()
                .unwrap()
                .iter()
                .find_map(|(at, step)| match step {
                    Step::Transition { account: a, to, .. }
                        if *a == account && *to == State::Released =>
                    {
                        Some(*at)
                    }
                    _ => None,
                })
        }
    };
    let quick_released = released(id("quick"));
    let prepared_released = released(id("prepared"));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while (quick_released().is_none() || prepared_released().is_none())
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    consumer.abort();
    workers.abort();
    let quick_at = quick_released().expect("quick released within a minute");
    let prepared_at = prepared_released().expect("prepared released within a minute");
    let build_at = steps
        .lock()
        .unwrap()
        .iter()
        .find_map(|(at, step)| match step {
            Step::BuildStarted { account, .. } if *account == id("prepared") => Some(*at),
            _ => None,
        })
        .expect("a preparation build started");
    eprintln!(
        "event to released (no preparation): {:?}; event to preparation started: {:?}; event to released after preparation: {:?}",
        quick_at - sent,
        build_at - sent,
        prepared_at - sent
    );
    let tags: BTreeMap<String, String> = aws
        .tags(&id("quick"))
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    assert_eq!(tags["account-state"], "released");
    assert_eq!(tags["team"], "quick", "enrolled with the tags of its OU");
    let (project, _) = project_in(&base, &id("prepared"), "SpaProjectForAccountPreparation").await;
    assert!(project.name().is_some());
    assert!(engine.is_managed(&id("quick")) && engine.is_managed(&id("prepared")));
}
