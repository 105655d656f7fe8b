//! Our implementations through the real SDK on the emulator: a member account prepared
//! through the role chain (roles, rules, topic, projects), read back inside the account;
//! events reaching the queue through a rule.

use std::sync::Arc;

use spa_controller::aws::sdk::{AwsOptions, assume_role, connect, sdk_config};
use spa_controller::aws::seed::{AccountSpec, OrganizationSpec, seed};
use spa_controller::aws::{
    BuildStatus, EventEntry, Limiters, ProjectChange, ProjectSpec, Tag, api,
};
use spa_controller::lifecycle::member::{Desired, ensure};
use spa_tests::Emulator;

use crate::common::queue_for;

/// The member account as spa prepares it, through the role chain (automation identity →
/// management role → member role), read back with the member's own credentials.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_account_is_prepared_through_the_role_chain_and_idempotently() {
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
    let account = seeded.accounts[0].1.clone();
    let base = sdk_config(&options).await;
    let chained = AwsOptions {
        management_role_arn: Some(
            "arn:aws:iam::111111111111:role/SpaAccountsManagementRole".into(),
        ),
        member_role_name: Some("AWSControlTowerExecution".into()),
        ..options.clone()
    };
    let aws = connect(&chained, Arc::new(Limiters::default())).await;
    let member = aws.member(&account).await.unwrap();
    let desired = Desired {
        region: "eu-west-1".into(),
        bus_arn: "arn:aws:events:eu-west-1:123456789012:event-bus/default".into(),
        build_policy_arn: "arn:aws:iam::aws:policy/AdministratorAccess".into(),
        alerts_queue_arn: Some("arn:aws:sqs:eu-west-1:123456789012:SpaTestAlerts".into()),
        tags: vec![Tag {
            key: "managed-by".into(),
            value: "spa".into(),
        }],
    };
    let ready = ensure(&member, &desired).await.unwrap();
    assert_eq!(
        ready.service_role_arn,
        format!("arn:aws:iam::{account}:role/SpaCodeBuildServiceRole")
    );
    assert_eq!(
        ready.topic_arn,
        format!("arn:aws:sns:eu-west-1:{account}:SpaAlertTopic")
    );

    // Read back inside the member account, with its own credentials.
    let inside = assume_role(
        &base,
        &format!("arn:aws:iam::{account}:role/AWSControlTowerExecution"),
        "test",
    )
    .await;
    let iam = aws_sdk_iam::Client::new(&inside);
    let attached = iam
        .list_attached_role_policies()
        .role_name("SpaCodeBuildServiceRole")
        .send()
        .await
        .unwrap();
    let attached: Vec<&str> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    assert_eq!(attached, ["arn:aws:iam::aws:policy/AdministratorAccess"]);
    let inline = iam
        .get_role_policy()
        .role_name("SpaRoleForEvents")
        .policy_name("SpaPutEventsOnAutomationBus")
        .send()
        .await
        .unwrap();
    assert!(inline.policy_document().contains("events"), "{inline:?}");
    let events = aws_sdk_eventbridge::Client::new(&inside);
    for rule in ["SpaForwardBuildStateChanges", "SpaForwardConsoleSignIns"] {
        let targets = events
            .list_targets_by_rule()
            .rule(rule)
            .send()
            .await
            .unwrap();
        let target = &targets.targets()[0];
        assert_eq!(target.arn(), desired.bus_arn, "{rule}");
        assert_eq!(
            target.role_arn().unwrap_or_default(),
            format!("arn:aws:iam::{account}:role/SpaRoleForEvents")
        );
    }
    assert_eq!(
        crate::common::topic_endpoints(&inside, &ready.topic_arn).await,
        ["arn:aws:sqs:eu-west-1:123456789012:SpaTestAlerts"]
    );
    let sns = aws_sdk_sns::Client::new(&inside);
    let attributes = sns
        .get_topic_attributes()
        .topic_arn(&ready.topic_arn)
        .send()
        .await
        .unwrap();
    let policy = &attributes.attributes().unwrap()["Policy"];
    assert!(policy.contains("budgets.amazonaws.com"), "{policy}");

    // A second preparation reads and writes nothing.
    let writes = [
        api::CREATE_ROLE,
        api::UPDATE_ASSUME_ROLE_POLICY,
        api::ATTACH_ROLE_POLICY,
        api::DETACH_ROLE_POLICY,
        api::PUT_ROLE_POLICY,
        api::PUT_RULE,
        api::PUT_TARGETS,
        api::SET_TOPIC_ATTRIBUTES,
        api::MEMBER_SUBSCRIBE,
    ];
    let before: Vec<u64> = writes.iter().map(|w| aws.calls().calls(w)).collect();
    assert_eq!(ensure(&member, &desired).await.unwrap(), ready);
    let after: Vec<u64> = writes.iter().map(|w| aws.calls().calls(w)).collect();
    assert_eq!(before, after, "a second preparation writes nothing");

    // The projects: created, left alone when unchanged, brought to a new spec.
    let mut project = ProjectSpec {
        name: "SpaProjectForAccountPreparation".into(),
        buildspec: "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hello\n".into(),
        service_role_arn: ready.service_role_arn.clone(),
        environment: [("BUDGET_AMOUNT".to_string(), "500.0".to_string())].into(),
        arm: false,
        timeout_minutes: 480,
        concurrency: 1,
        tags: desired.tags.clone(),
    };
    assert_eq!(
        member.ensure_project(&project).await.unwrap(),
        ProjectChange::Created
    );
    project
        .environment
        .insert("ALERT_THRESHOLD".into(), "80".into());
    assert!(matches!(
        member.ensure_project(&project).await.unwrap(),
        ProjectChange::Updated | ProjectChange::Replaced
    ));

    let id = member.start_build(&project.name, "cycle-1").await.unwrap();
    assert!(id.starts_with("SpaProjectForAccountPreparation:"), "{id}");
    let status = member.builds(std::slice::from_ref(&id)).await.unwrap();
    assert_eq!(status.len(), 1);
    assert!(matches!(
        status[0].status,
        BuildStatus::Succeeded | BuildStatus::InProgress
    ));
    assert!(
        member
            .recent_builds(&project.name)
            .await
            .unwrap()
            .contains(&id)
    );

    // Everything is in the member account, not in the caller's.
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
