//! The e-mail subscriptions of the exceptions topic on the fakes, for what the emulator does
//! not show: a subscription that waits for its confirmation (the emulator confirms every
//! one at once), and a plan edited to unsubscribe what is not spa's.

use spa_controller::apply::{ApplyOptions, Refusal, Scope, apply};
use spa_controller::aws::api;
use spa_controller::aws::fake::Fakes;
use spa_controller::desired::desired;
use spa_controller::observe::observe;
use spa_controller::plan::{Plan, SubscriptionAction, plan};
use spa_schema::Settings;

use crate::common::settings_yaml;

const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:SpaTestExceptions";
const QUEUE: &str = "arn:aws:sqs:eu-west-1:123456789012:chat-bridge";

const OPTIONS: ApplyOptions = ApplyOptions {
    allow_destructive: false,
    concurrency: 4,
};

fn settings(emails: &[&str]) -> Settings {
    let list: String = emails.iter().map(|e| format!("    - {e}\n")).collect();
    settings_yaml(&format!(
        "environment_identifier: SpaTest\nautomation:\n  account_id: \"123456789012\"\n  region: eu-west-1\nfeatures:\n  with_email_subscriptions_on_alerts:\n{list}"
    ))
}

async fn plan_and_scope(fakes: &Fakes, settings: &Settings) -> (Plan, Scope) {
    let observed = observe(&fakes.aws(), settings).await;
    assert!(observed.complete, "{:?}", observed.errors);
    let plan = plan(&desired(settings, &observed, None), &observed);
    (plan, Scope::new("SpaTest", &observed))
}

/// The plan's subscription lines: (action, address).
fn lines(plan: &Plan) -> Vec<(SubscriptionAction, &str)> {
    plan.subscriptions
        .iter()
        .map(|s| (s.action, s.email.as_str()))
        .collect()
}

fn endpoints(fakes: &Fakes) -> Vec<(String, String)> {
    let mut endpoints: Vec<(String, String)> = fakes
        .topics
        .subscriptions_of(TOPIC)
        .into_iter()
        .map(|s| (s.protocol, s.endpoint))
        .collect();
    endpoints.sort();
    endpoints
}

#[tokio::test(start_paused = true)]
async fn listed_addresses_are_subscribed_and_the_others_removed_but_never_other_protocols() {
    let fakes = Fakes::default();
    fakes.topics.create_topic(TOPIC);
    fakes.topics.add_subscription(TOPIC, "sqs", QUEUE);
    fakes
        .topics
        .add_subscription(TOPIC, "email", "Former@Example.com");
    fakes
        .topics
        .add_subscription(TOPIC, "email", "sre@example.com");

    let settings = settings(&["sre@example.com", "FinOps@example.com"]);
    let (plan, scope) = plan_and_scope(&fakes, &settings).await;
    assert_eq!(
        lines(&plan),
        [
            (SubscriptionAction::Subscribe, "finops@example.com"),
            (SubscriptionAction::Unsubscribe, "former@example.com"),
        ]
    );
    assert!(plan.destructive.is_empty(), "{:?}", plan.destructive);
    // What a reviewer reads on the pull request.
    let markdown = spa_controller::render::markdown(&plan, 60_000, "");
    assert!(
        markdown.contains("- \u{2795} `finops@example.com` (a confirmation e-mail is sent)")
            && markdown.contains("- \u{2796} `former@example.com`"),
        "{markdown}"
    );
    // The dashboard is created by the same first plan.
    let dashboard = usize::from(plan.dashboard.is_some());
    assert_eq!((plan.summary.add, plan.summary.remove), (1 + dashboard, 1));
    let report = apply(&fakes.aws(), &plan, &scope, OPTIONS, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(
        endpoints(&fakes),
        [
            ("email".into(), "finops@example.com".into()),
            ("email".into(), "sre@example.com".into()),
            ("sqs".into(), QUEUE.into()),
        ]
    );

    // The new address has not confirmed yet: it is subscribed all the same, nothing to do.
    let (again, _) = plan_and_scope(&fakes, &settings).await;
    assert!(again.no_changes, "{again:?}");

    // Dropped from settings before confirming: AWS cannot remove it, the plan says so.
    let (dropped, scope) = plan_and_scope(&fakes, &self::settings(&["sre@example.com"])).await;
    assert!(dropped.subscriptions.is_empty(), "{dropped:?}");
    assert!(
        dropped
            .skipped
            .iter()
            .any(|s| s.contains("finops@example.com") && s.contains("waits for its confirmation")),
        "{:?}",
        dropped.skipped
    );
    apply(&fakes.aws(), &dropped, &scope, OPTIONS, &|_, _| {})
        .await
        .unwrap();
    let served = &fakes.topics.behaviour.served;
    assert_eq!(served.count(api::SUBSCRIBE, "ok"), 1);
    assert_eq!(served.count(api::UNSUBSCRIBE, "ok"), 1);
    assert_eq!(
        served.calls(api::UNSUBSCRIBE),
        1,
        "the pending one was never tried"
    );
}

#[tokio::test(start_paused = true)]
async fn without_the_topic_nothing_is_planned_and_the_plan_says_why() {
    let fakes = Fakes::default();
    let (plan, _) = plan_and_scope(&fakes, &settings(&["sre@example.com"])).await;
    assert!(plan.subscriptions.is_empty());
    assert!(
        plan.skipped
            .iter()
            .any(|s| s.contains(TOPIC) && s.contains("does not exist")),
        "{:?}",
        plan.skipped
    );
}

#[tokio::test(start_paused = true)]
async fn settings_without_addresses_leave_the_topic_unread_and_untouched() {
    let fakes = Fakes::default();
    fakes.topics.create_topic(TOPIC);
    fakes
        .topics
        .add_subscription(TOPIC, "email", "sre@example.com");
    let settings = settings_yaml(
        "environment_identifier: SpaTest\nautomation:\n  account_id: \"123456789012\"\n",
    );
    let (plan, _) = plan_and_scope(&fakes, &settings).await;
    assert!(plan.subscriptions.is_empty());
    let served = &fakes.topics.behaviour.served;
    assert_eq!(served.count(api::LIST_SUBSCRIPTIONS_BY_TOPIC, "ok"), 0);
    assert_eq!(endpoints(&fakes).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_plan_edited_to_unsubscribe_from_another_topic_is_refused_whole() {
    let fakes = Fakes::default();
    fakes.topics.create_topic(TOPIC);
    fakes
        .topics
        .add_subscription(TOPIC, "email", "former@example.com");
    let other = "arn:aws:sns:eu-west-1:123456789012:Payroll";
    fakes.topics.create_topic(other);
    fakes
        .topics
        .add_subscription(other, "email", "boss@example.com");
    let (mut plan, scope) = plan_and_scope(&fakes, &settings(&["sre@example.com"])).await;
    assert_eq!(plan.subscriptions.len(), 2);
    // The unsubscription now names the other topic's subscription, under spa's topic.
    let foreign = fakes.topics.subscriptions_of(other)[0].arn.clone();
    let line = plan
        .subscriptions
        .iter_mut()
        .find(|s| s.action == SubscriptionAction::Unsubscribe)
        .unwrap();
    line.arn = Some(foreign.clone());
    let refused = apply(&fakes.aws(), &plan, &scope, OPTIONS, &|_, _| {}).await;
    match refused {
        Err(Refusal::NotOwned { targets, .. }) => assert_eq!(targets, [foreign]),
        other => panic!("{other:?}"),
    }
    let served = &fakes.topics.behaviour.served;
    assert_eq!(
        served.count(api::SUBSCRIBE, "ok"),
        0,
        "nothing is half-applied"
    );
    assert_eq!(fakes.topics.subscriptions_of(other).len(), 1);
}
