//! The fakes behave like the services they stand for, where tests rely on it.

use spa_aws::fake::{FakeEvents, FakeMember, FakeQueues};
use spa_aws::{BuildStatus, EventEntry, Events, Member, ProjectSpec, Queues};

fn project() -> ProjectSpec {
    ProjectSpec {
        name: "SpaProjectForAccountPurge".into(),
        buildspec: "version: 0.2".into(),
        service_role_arn: "arn:aws:iam::000000000000:role/x".into(),
        environment: Default::default(),
        arm: false,
        timeout_minutes: 60,
        concurrency: 1,
        tags: Vec::new(),
    }
}

#[tokio::test]
async fn builds_honour_idempotency_tokens_and_scripted_outcomes() {
    let builds = FakeMember::with_duration(2);
    assert!(
        builds
            .start_build("SpaProjectForAccountPurge", "t")
            .await
            .is_err(),
        "no project yet"
    );
    builds.ensure_project(&project()).await.unwrap();
    builds.script(&[BuildStatus::Failed]);
    let first = builds
        .start_build("SpaProjectForAccountPurge", "cycle-1")
        .await
        .unwrap();
    let again = builds
        .start_build("SpaProjectForAccountPurge", "cycle-1")
        .await
        .unwrap();
    assert_eq!(first, again, "the same token starts no second build");
    assert_eq!(builds.started(), 1);
    let ids = vec![first.clone()];
    assert_eq!(
        builds.builds(&ids).await.unwrap()[0].status,
        BuildStatus::InProgress
    );
    assert_eq!(
        builds.builds(&ids).await.unwrap()[0].status,
        BuildStatus::InProgress
    );
    assert_eq!(
        builds.builds(&ids).await.unwrap()[0].status,
        BuildStatus::Failed
    );
    let second = builds
        .start_build("SpaProjectForAccountPurge", "cycle-1-retry")
        .await
        .unwrap();
    assert_ne!(second, first);
    assert_eq!(
        builds
            .recent_builds("SpaProjectForAccountPurge")
            .await
            .unwrap(),
        vec![second, first]
    );
}

#[tokio::test]
async fn queue_and_events() {
    let queues = FakeQueues::default();
    queues.push("q1", "a");
    queues.push("q1", "b");
    queues.push("q2", "c");
    let messages = queues.receive("q1", 10, 0).await.unwrap();
    assert_eq!(messages.len(), 2);
    queues.delete("q1", &messages[0].receipt).await.unwrap();
    assert_eq!(queues.len("q1"), 1);
    assert_eq!(queues.len("q2"), 1, "queues are apart");
    let events = FakeEvents::default();
    let entry = EventEntry {
        source: "SustainablePersonalAccounts".into(),
        detail_type: "PurgedAccount".into(),
        detail: serde_json::json!({}),
    };
    events.put_events("default", &[entry]).await.unwrap();
    assert_eq!(events.put.lock().unwrap()[0].1.detail_type, "PurgedAccount");
}
