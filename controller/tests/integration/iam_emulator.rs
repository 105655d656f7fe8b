//! The life cycle with IAM enforced: the emulator authorizes every request once told to
//! (`/moto-api/reset-auth`), and spa runs as an identity holding exactly the actions of
//! the task role of `deploy/automation.yaml`, through a management role holding exactly
//! those of `deploy/management.yaml`, into member roles holding exactly those of
//! `deploy/member-role.yaml`. The emulator's resource matching is basic (a statement scoped
//! to a parameter path was denied for that very parameter), so each role gets its actions on
//! `*`: this test checks that no action is missing; `scripts/check-policies.py` checks the
//! resource scoping of the shipped policies.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use spa_controller::aws::sdk::{AwsOptions, assume_role, connect, sdk_config};
use spa_controller::aws::seed::{AccountSpec, OrganizationSpec, UnitSpec, seed};
use spa_controller::aws::{Limiters, system_clock};
use spa_controller::lifecycle::engine::{Engine, EngineOptions, accounts_from};
use spa_controller::observe::observe;
use spa_schema::{MemoryFiles, Settings};
use spa_tests::{Emulator, workspace};

use crate::common::valid_settings;

const MANAGEMENT: &str = "111111111111";
const MANAGEMENT_ROLE: &str = "SpaAccountsManagementRole";
const MEMBER_ROLE: &str = "AWSControlTowerExecution";

/// The actions each role of the templates is allowed, by `<template>:<role>`.
fn granted() -> BTreeMap<String, Vec<String>> {
    let output = std::process::Command::new(workspace().join(".venv/bin/python"))
        .arg(workspace().join("scripts/check-policies.py"))
        .arg("--actions")
        .args(
            ["automation", "management", "member-role"]
                .map(|t| workspace().join(format!("deploy/{t}.yaml"))),
        )
        .output()
        .expect("check-policies.py runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn policy(actions: &[String]) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
    })
    .to_string()
}

fn settings(ou: &str) -> Arc<Settings> {
    let yaml = format!(
        "environment_identifier: SpaIam\nautomation:\n  account_id: \"123456789012\"\n  region: eu-west-1\n  role_arn_to_manage_accounts: arn:aws:iam::{MANAGEMENT}:role/{MANAGEMENT_ROLE}\n  role_name_to_manage_codebuild: {MEMBER_ROLE}\nfeatures:\n  with_email_subscriptions_on_alerts: [sre@example.com]\n  with_cost_management_tag: cost-center\n  with_cost_email_recipients: [finops@example.com]\n  with_origin_email_recipient: '\"SPA\" <spa@example.com>'\nworker:\n  preparation_buildspec_template_file: prep.yaml\norganizational_units:\n  - identifier: {ou}\n    preparation:\n      feature: enabled\nservice_control_policies:\n  - name: NoRoot\n    file: deny.json\n    organizational_units: [{ou}]\n  - name: WhilePrepared\n    file: deny.json\n    organizational_units: [{ou}]\n    states: [assigned]\n"
    );
    let files = MemoryFiles::new()
        .with("settings.yaml", yaml.as_str())
        .with(
            "deny.json",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"}}}]}"#,
        )
        .with(
            "prep.yaml",
            "version: 0.2\nphases:\n  build:\n    commands:\n      - echo prepare\n",
        );
    Arc::new(valid_settings(&files))
}

/// Tells the emulator to authorize every request from now on (`f64::INFINITY` turns it off).
fn enforce(emulator: &Emulator, after: &str) {
    let url = format!("{}/moto-api/reset-auth", emulator.endpoint);
    let (code, body) = spa_tests::http::request("POST", &url, None, Some(after)).unwrap();
    assert_eq!(code, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_life_cycle_runs_with_exactly_the_permissions_of_the_templates() {
    let emulator = Emulator::start();
    let admin = AwsOptions::emulator(&emulator.endpoint);
    let account = |name: &str| AccountSpec {
        name: name.into(),
        email: format!("{name}@example.com"),
        id: None,
        tags: Default::default(),
    };
    let seeded = seed(
        &admin,
        OrganizationSpec {
            seed: 23,
            management_account: MANAGEMENT.into(),
            management_role: MANAGEMENT_ROLE.into(),
            member_role: MEMBER_ROLE.into(),
            accounts: Vec::new(),
            organizational_units: vec![UnitSpec {
                name: "Sandboxes".into(),
                id: None,
                accounts: vec![account("ana"), account("ben")],
                organizational_units: Vec::new(),
            }],
        },
    )
    .await
    .unwrap();
    let ou = seeded.organizational_units[0].1.clone();
    let members: Vec<String> = seeded.accounts.iter().map(|(_, id)| id.clone()).collect();
    let (ana, ben) = (members[0].clone(), members[1].clone());

    // The identities, while the emulator still lets anything in.
    let roles = granted();
    let base = sdk_config(&admin).await;
    let iam = aws_sdk_iam::Client::new(&base);
    iam.create_user()
        .user_name("spa-controller")
        .send()
        .await
        .unwrap();
    iam.put_user_policy()
        .user_name("spa-controller")
        .policy_name("task-role")
        .policy_document(policy(&roles["automation.yaml:TaskRole"]))
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name("spa-controller")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    let management = assume_role(
        &base,
        &format!("arn:aws:iam::{MANAGEMENT}:role/{MANAGEMENT_ROLE}"),
        "setup",
    )
    .await;
    // The seed creates member roles only; the management stack creates this one.
    aws_sdk_iam::Client::new(&management)
        .create_role()
        .role_name(MANAGEMENT_ROLE)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    aws_sdk_iam::Client::new(&management)
        .put_role_policy()
        .role_name(MANAGEMENT_ROLE)
        .policy_name("management-role")
        .policy_document(policy(&roles["management.yaml:ManagementRole"]))
        .send()
        .await
        .unwrap();
    let member_actions = &roles["member-role.yaml:MemberRole"];
    // ben's member role lacks one action: its preparation must fail, naming it.
    let without_create: Vec<String> = member_actions
        .iter()
        .filter(|a| *a != "codebuild:CreateProject")
        .cloned()
        .collect();
    for (id, actions) in [(&ana, member_actions), (&ben, &without_create)] {
        let member = assume_role(
            &management,
            &format!("arn:aws:iam::{id}:role/{MEMBER_ROLE}"),
            "setup",
        )
        .await;
        aws_sdk_iam::Client::new(&member)
            .put_role_policy()
            .role_name(MEMBER_ROLE)
            .policy_name("member-role")
            .policy_document(policy(actions))
            .send()
            .await
            .unwrap();
    }

    // The records and the reports bucket of the automation stack.
    crate::common::record_tables(&base, "SpaIam").await;
    crate::common::bucket(&base, "spaiam-reports").await;

    let alerts = aws_sdk_sqs::Client::new(&base)
        .create_queue()
        .queue_name("SpaIamAlerts")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();

    // The exceptions topic, with the subscription of an address settings no longer list.
    let sns = aws_sdk_sns::Client::new(&base);
    let exceptions = sns
        .create_topic()
        .name("SpaIamExceptions")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    sns.subscribe()
        .topic_arn(&exceptions)
        .protocol("email")
        .endpoint("former@example.com")
        .send()
        .await
        .unwrap();

    // The sender identity of the cost e-mail; a month of costs in Cost Explorer.
    aws_sdk_sesv2::Client::new(&base)
        .create_email_identity()
        .email_identity("spa@example.com")
        .send()
        .await
        .unwrap();
    emulator.give_costs(
        MANAGEMENT,
        &[serde_json::json!({
            "ResultsByTime": [{
                "TimePeriod": {"Start": "2026-11-01", "End": "2026-12-01"},
                "Groups": [{"Keys": [ana.clone(), "AWS Lambda"],
                            "Metrics": {"UnblendedCost": {"Amount": "1.25", "Unit": "USD"}}}],
                "Estimated": false
            }]
        })],
    );

    enforce(&emulator, "0");
    let spa = AwsOptions {
        static_credentials: Some((
            key.access_key_id().to_string(),
            key.secret_access_key().to_string(),
        )),
        management_role_arn: Some(format!("arn:aws:iam::{MANAGEMENT}:role/{MANAGEMENT_ROLE}")),
        member_role_name: Some(MEMBER_ROLE.into()),
        ..admin.clone()
    };
    // The emulator refuses what it does not know: the default key is no identity.
    let stranger = connect(&admin, Arc::new(Limiters::default())).await;
    assert!(stranger.tags(&ana).await.is_err());

    let settings = settings(&ou);
    let aws = connect(&spa, Arc::new(Limiters::default())).await;
    let observation = observe(&aws, &settings).await;
    assert!(observation.complete, "{:?}", observation.errors);
    // The settings loop: parameters, enrolment tags, the two policies and the OU's attachment.
    let plan = spa_controller::plan::plan(
        &spa_controller::desired::desired(&settings, &observation, None),
        &observation,
    );
    let report = spa_controller::apply::apply(
        &aws,
        &plan,
        &spa_controller::apply::Scope::new("SpaIam", &observation),
        spa_controller::apply::ApplyOptions {
            allow_destructive: true,
            concurrency: 4,
        },
        &|_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(report.failed, 0, "{report:?}");
    for operation in ["AttachPolicy", "Subscribe", "Unsubscribe"] {
        assert!(
            report.results.iter().any(|r| r.operation == operation),
            "{operation}: {report:?}"
        );
    }
    let observation = observe(&aws, &settings).await;
    let metrics = Arc::new(spa_controller::monitoring::FleetMetrics::new("SpaIam"));
    let recorder = spa_controller::records::Recorder::start(
        aws.clone(),
        system_clock(),
        spa_controller::records::RecordsConfig::of(&settings, "default"),
        metrics.clone(),
    );
    recorder.record(spa_controller::records::Fact::Accounts(
        spa_controller::records::accounts_of(&observation),
    ));
    let engine = Arc::new(
        Engine::new(
            aws.clone(),
            system_clock(),
            EngineOptions {
                poll: Duration::from_millis(500),
                backoff: Duration::from_millis(200),
                concurrency: 4,
                alerts_queue_url: Some(alerts.clone()),
                ..EngineOptions::default()
            },
            settings.clone(),
        )
        .with_recorder(recorder.clone()),
    );
    engine.set_accounts(accounts_from(&observation));
    engine.queue_all();
    tokio::time::timeout(Duration::from_secs(120), engine.work(true))
        .await
        .expect("idle within two minutes");

    let tags = |id: &str| {
        let aws = aws.clone();
        let id = id.to_string();
        async move {
            aws.tags(&id)
                .await
                .unwrap()
                .into_iter()
                .map(|t| (t.key, t.value))
                .collect::<BTreeMap<_, _>>()
        }
    };
    // The records, the metrics and a report, with the task role's actions.
    recorder.flush().await;
    let errors = recorder
        .counters
        .errors
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(errors, 0, "every record written");
    assert!(
        recorder
            .counters
            .written
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
    metrics.flush(&aws, system_clock()()).await.unwrap();
    let report = spa_controller::reports::ReportSettings::of(&settings);
    spa_controller::reports::schedule::upload_inventory(
        &aws,
        "spaiam-reports",
        &report,
        "2026-12-03",
    )
    .await
    .unwrap();
    // The cost report: Cost Explorer with the management role, the files and the e-mail
    // with the task role.
    let (made, manifest) = spa_controller::costs::run::monthly(
        &aws,
        &reqwest::Client::new(),
        "spaiam-reports",
        &spa_controller::costs::report::CostSettings::of(&settings),
        spa_controller::reports::activities::Month {
            year: 2026,
            month: 11,
        },
        "2026-12-14",
        // As the schedule runs it: the e-mail's marker looked up, then written.
        spa_controller::costs::run::Mail::Once { since_ms: 0 },
    )
    .await
    .unwrap();
    assert_eq!(made.requests, 3);
    assert!(
        matches!(
            manifest.email,
            spa_controller::costs::run::Mailed::Sent { .. }
        ),
        "{:?}",
        manifest.email
    );
    // An incident's link to an account's costs: HeadObject, Cost Explorer, PutObject.
    let place = spa_controller::costs::exception::Place {
        bucket: "spaiam-reports".into(),
        region: "eu-west-1".into(),
        prefix: settings.reporting.exceptions_prefix.value.clone(),
    };
    let link = spa_controller::costs::exception::month_to_date(
        &aws,
        &place,
        &ana,
        "2026-12-03".parse().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(link.requests, 1);

    // With the templates' actions, the whole preparation went through.
    let ana_tags = tags(&ana).await;
    assert_eq!(
        ana_tags.get("account-state").map(String::as_str),
        Some("released"),
        "{ana_tags:?}"
    );
    assert!(!ana_tags.contains_key("account-parked"), "{ana_tags:?}");
    // Without codebuild:CreateProject, ben is parked with a reason that names the action
    // and the role; nothing else moved it on.
    let ben_tags = tags(&ben).await;
    assert_eq!(
        ben_tags.get("account-state").map(String::as_str),
        Some("assigned")
    );
    let reason = ben_tags.get("account-parked").expect("ben is parked");
    assert!(reason.contains("codebuild:CreateProject"), "{reason}");
    assert!(reason.contains(MEMBER_ROLE), "{reason}");
    // The per-state policy was attached on entering assigned, and detached from ana on
    // leaving it, with the management role's permissions.
    let attached = |id: String| {
        let aws = aws.clone();
        async move {
            let mut on = Vec::new();
            for policy in aws.service_control_policies().await.unwrap() {
                let targets = aws.policy_targets(&policy.id).await.unwrap();
                if policy.name.starts_with("SpaIam-") && targets.iter().any(|t| t.id == id) {
                    on.push(policy.name);
                }
            }
            on
        }
    };
    assert_eq!(attached(ana.clone()).await, Vec::<String>::new());
    assert_eq!(attached(ben.clone()).await, ["SpaIam-WhilePrepared"]);

    // Read back, without enforcement: ana's alert topic is subscribed to the alerts queue.
    enforce(&emulator, "inf");
    let member = assume_role(
        &management,
        &format!("arn:aws:iam::{ana}:role/{MEMBER_ROLE}"),
        "check",
    )
    .await;
    assert_eq!(
        crate::common::topic_endpoints(
            &member,
            &format!("arn:aws:sns:eu-west-1:{ana}:SpaAlertTopic")
        )
        .await,
        ["arn:aws:sqs:eu-west-1:123456789012:SpaIamAlerts"]
    );
    assert_eq!(
        crate::common::topic_endpoints(&base, &exceptions).await,
        ["sre@example.com"]
    );
}
