//! Our CodeBuild, EventBridge and SQS implementations through the real SDK on the emulator:
//! projects live inside the member account, the missing UpdateProject takes the replace
//! path, and events reach the queue through a rule.

use std::sync::Arc;

use spa_controller::aws::sdk::{AwsOptions, connect, sdk_config};
use spa_controller::aws::seed::{AccountSpec, OrganizationSpec, seed};
use spa_controller::aws::{BuildStatus, EventEntry, Limiters, ProjectSpec, api};
use spa_tests::Emulator;

use crate::common::queue_for;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codebuild_inside_a_member_account() {
    let emulator = Emulator::start();
    let options = AwsOptions::emulator(&emulator.endpoint);
    let spec = OrganizationSpec {
        seed: 11,
        management_account: "111111111111".into(),
        management_role: "SpaAccountsManagementRole".into(),
        member_role: "AWSControlTowerExecution".into(),
        accounts: vec![AccountSpec {
            name: "member".into(),
            email: "member@example.com".into(),
            id: None,
            tags: Default::default(),
        }],
        organizational_units: Vec::new(),
    };
    let seeded = seed(&options, spec).await.unwrap();
    let account = &seeded.accounts[0].1;
    let base = sdk_config(&options).await;
    let aws = connect(&options, Arc::new(Limiters::default())).await;
    let builds = aws.member(account).await.unwrap();

    let role = builds
        .ensure_service_role("SpaCodeBuildServiceRole")
        .await
        .unwrap();
    assert_eq!(
        role,
        format!("arn:aws:iam::{account}:role/SpaCodeBuildServiceRole")
    );
    assert_eq!(
        builds
            .ensure_service_role("SpaCodeBuildServiceRole")
            .await
            .unwrap(),
        role,
        "idempotent"
    );

    let mut project = ProjectSpec {
        name: "SpaProjectForAccountPreparation".into(),
        buildspec: "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hello\n".into(),
        service_role_arn: role.clone(),
        environment: [("BUDGET_AMOUNT".to_string(), "500.0".to_string())].into(),
        arm: false,
        timeout_minutes: 60,
    };
    builds.ensure_project(&project).await.unwrap();
    project
        .environment
        .insert("ALERT_THRESHOLD".into(), "80".into());
    builds
        .ensure_project(&project)
        .await
        .expect("an existing project is updated or replaced");

    let id = builds.start_build(&project.name, "cycle-1").await.unwrap();
    assert!(id.starts_with("SpaProjectForAccountPreparation:"), "{id}");
    let status = builds.builds(std::slice::from_ref(&id)).await.unwrap();
    assert_eq!(status.len(), 1);
    assert!(matches!(
        status[0].status,
        BuildStatus::Succeeded | BuildStatus::InProgress
    ));
    assert!(
        builds
            .recent_builds(&project.name)
            .await
            .unwrap()
            .contains(&id)
    );

    // The project is in the member account, not in the caller's.
    let own = aws_sdk_codebuild::Client::new(&base)
        .list_projects()
        .send()
        .await
        .unwrap();
    assert!(own.projects().is_empty(), "{:?}", own.projects());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_the_queue_through_a_rule() {
    let emulator = Emulator::start();
    let options = AwsOptions::emulator(&emulator.endpoint);
    let config = sdk_config(&options).await;
    let queue = queue_for(&config, "spa-events", &["SustainablePersonalAccounts"]).await;
    let aws = connect(&options, Arc::new(Limiters::default())).await;
    let entry = EventEntry {
        source: "SustainablePersonalAccounts".into(),
        detail_type: "ReleasedAccount".into(),
        detail: serde_json::json!({"Account": "123456789012", "Environment": "SpaTest", "Message": "released"}),
    };
    aws.put_events("default", &[entry]).await.unwrap();

    let messages = aws.receive_messages(&queue, 10, 1).await.unwrap();
    assert_eq!(messages.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&messages[0].body).unwrap();
    assert_eq!(body["detail-type"], "ReleasedAccount");
    assert_eq!(body["detail"]["Account"], "123456789012");
    aws.delete_message(&queue, &messages[0].receipt)
        .await
        .unwrap();
    assert!(
        aws.receive_messages(&queue, 10, 0)
            .await
            .unwrap()
            .is_empty()
    );
    // Every call went through the door and was counted.
    assert_eq!(aws.calls().count(api::PUT_EVENTS, "ok"), 1);
    assert_eq!(aws.calls().count(api::RECEIVE_MESSAGE, "ok"), 2);
}
