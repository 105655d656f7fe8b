//! The life cycle end to end on the emulator, through the real SDK: accounts go round the
//! whole cycle, preparation and purge projects are created inside each member account
//! through the assumed role, spa's events reach the bus and come back through an
//! EventBridge rule to the SQS queue the engine consumes. The emulator has no CodeBuild
//! events: build outcomes are polled.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use spa_controller::aws::sdk::{AwsOptions, assume_role, connect, sdk_config};
use spa_controller::aws::seed::{AccountSpec, OrganizationSpec, UnitSpec, seed};
use spa_controller::aws::{Aws, Limiters, system_clock};
use spa_controller::lifecycle::engine::{Engine, EngineOptions, accounts_from};
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
