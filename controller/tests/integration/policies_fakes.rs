//! Service control policies on the fakes, for what the emulator lets through and AWS
//! refuses: a sixth SCP on a target, a second attachment, a policy of spa's name made by
//! someone else, a plan that names a policy spa does not own.

use spa_controller::apply::{ApplyOptions, Refusal, Scope, apply};
use spa_controller::aws::fake::Fakes;
use spa_controller::aws::{Aws, api};
use spa_controller::desired::desired;
use spa_controller::observe::observe;
use spa_controller::plan::{AttachAction, Plan, plan};
use spa_schema::{MemoryFiles, Settings};

use crate::common::valid_settings;

const OU: &str = "ou-test-sandboxes";
const ACCOUNT: &str = "111111111111";
const DENY_S3: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}"#;

const ALLOW: ApplyOptions = ApplyOptions {
    allow_destructive: true,
    concurrency: 4,
};

fn settings(policies: &str) -> Settings {
    let yaml = format!(
        "environment_identifier: SpaTest\norganizational_units:\n  - identifier: {OU}\nservice_control_policies:\n{policies}"
    );
    valid_settings(
        &MemoryFiles::new()
            .with("settings.yaml", yaml.as_str())
            .with("deny.json", DENY_S3),
    )
}

fn fakes() -> Fakes {
    let fakes = Fakes::default();
    let root = fakes.organizations.root_id();
    fakes.organizations.add_unit(OU, "Sandboxes", &root);
    fakes
        .organizations
        .add_account(ACCOUNT, "alice", OU, &[("account-state", "released")]);
    fakes
}

async fn plan_and_scope(aws: &Aws, settings: &Settings) -> (Plan, Scope) {
    let observed = observe(aws, settings).await;
    let plan = plan(&desired(settings, &observed, None), &observed);
    (plan, Scope::new("SpaTest", &observed))
}

/// Applies the plan of now; its policy writes (operation, target, error) in order.
async fn apply_now(aws: &Aws, settings: &Settings) -> Vec<(String, String, Option<String>)> {
    let (plan, scope) = plan_and_scope(aws, settings).await;
    let report = apply(aws, &plan, &scope, ALLOW, &|_, _| {}).await.unwrap();
    report
        .results
        .into_iter()
        .filter(|r| r.operation.contains("Policy"))
        .map(|r| (r.operation.to_string(), r.target, r.error))
        .collect()
}

fn ok(operation: &str, target: &str) -> (String, String, Option<String>) {
    (operation.to_string(), target.to_string(), None)
}

const ONE: &str =
    "  - name: DenyS3\n    file: deny.json\n    organizational_units: [ou-test-sandboxes]\n";

#[tokio::test(start_paused = true)]
async fn a_policy_is_created_attached_and_a_second_apply_writes_nothing() {
    let fakes = fakes();
    let aws = fakes.aws();
    let settings = settings(ONE);
    let written = apply_now(&aws, &settings).await;
    assert_eq!(
        written,
        [
            ok("CreatePolicy", "SpaTest-DenyS3"),
            ok("AttachPolicy", "SpaTest-DenyS3 ou-test-sandboxes")
        ]
    );
    assert_eq!(
        fakes.organizations.policies_of(OU),
        ["FullAWSAccess", "SpaTest-DenyS3"]
    );
    let (again, _) = plan_and_scope(&aws, &settings).await;
    assert!(again.no_changes, "{again:?}");
    let served = &fakes.organizations.behaviour.served;
    assert_eq!(served.count(api::CREATE_POLICY, "ok"), 1);
    assert_eq!(served.count(api::ATTACH_POLICY, "ok"), 1);

    // Drift by hand: the document edited, the attachment removed. Both are repaired.
    let (id, _) = fakes.organizations.policy_named("SpaTest-DenyS3").unwrap();
    fakes
        .organizations
        .set_content_by_hand(&id, r#"{"Version":"2012-10-17","Statement":[]}"#);
    fakes.organizations.set_attached_by_hand(&id, OU, false);
    let (drift, _) = plan_and_scope(&aws, &settings).await;
    assert_eq!(drift.policies.len(), 1);
    assert_eq!(drift.attachments.len(), 1);
    let written = apply_now(&aws, &settings).await;
    assert_eq!(
        written,
        [
            ok("UpdatePolicy", "SpaTest-DenyS3"),
            ok("AttachPolicy", "SpaTest-DenyS3 ou-test-sandboxes")
        ]
    );
    assert_eq!(
        fakes
            .organizations
            .policy_named("SpaTest-DenyS3")
            .unwrap()
            .1,
        DENY_S3
    );
}

#[tokio::test(start_paused = true)]
async fn a_sixth_policy_on_a_target_is_refused_by_name_and_the_rest_is_applied() {
    let fakes = fakes();
    let aws = fakes.aws();
    // FullAWSAccess and four guardrails of the security team: the OU is full.
    for n in 0..4 {
        let id = fakes
            .organizations
            .create_policy_by_hand(&format!("Security{n}"), DENY_S3, &[]);
        fakes.organizations.set_attached_by_hand(&id, OU, true);
    }
    let written = apply_now(&aws, &settings(ONE)).await;
    assert_eq!(written.len(), 2, "{written:?}");
    assert_eq!(written[0], ok("CreatePolicy", "SpaTest-DenyS3"));
    let (operation, target, error) = &written[1];
    assert_eq!(operation, "AttachPolicy");
    assert_eq!(target, &format!("SpaTest-DenyS3 {OU}"));
    let error = error.as_deref().unwrap();
    assert!(error.contains("POLICY_NUMBER_LIMIT_EXCEEDED"), "{error}");
    assert!(error.contains("ConstraintViolationException"), "{error}");
    // The security team's policies are where they were.
    assert_eq!(fakes.organizations.policies_of(OU).len(), 5);
}

#[tokio::test(start_paused = true)]
async fn an_attachment_made_meanwhile_is_not_an_error() {
    let fakes = fakes();
    let aws = fakes.aws();
    let settings = settings(ONE);
    apply_now(&aws, &settings).await;
    let (id, _) = fakes.organizations.policy_named("SpaTest-DenyS3").unwrap();
    fakes.organizations.set_attached_by_hand(&id, OU, false);
    let (plan, scope) = plan_and_scope(&aws, &settings).await;
    assert_eq!(plan.attachments.len(), 1);
    // Someone attaches it again between the plan and the apply: AWS refuses a second
    // attachment, which is what the plan wanted anyway.
    fakes.organizations.set_attached_by_hand(&id, OU, true);
    let report = apply(&aws, &plan, &scope, ALLOW, &|_, _| {}).await.unwrap();
    assert_eq!(report.failed, 0, "{report:?}");
}

#[tokio::test(start_paused = true)]
async fn a_policy_spa_did_not_make_is_never_touched() {
    let fakes = fakes();
    let aws = fakes.aws();
    // Named like spa's, without its tags.
    let foreign = fakes.organizations.create_policy_by_hand(
        "SpaTest-DenyS3",
        DENY_S3,
        &[("managed-by", "someone")],
    );
    let settings = settings(ONE);
    let (plan, scope) = plan_and_scope(&aws, &settings).await;
    assert!(
        plan.policies.is_empty() && plan.attachments.is_empty(),
        "{plan:?}"
    );
    assert!(
        plan.skipped[0].contains("spa did not create it"),
        "{:?}",
        plan.skipped
    );

    // A plan edited to attach it anyway is refused whole: nothing is written.
    let mut forged = plan.clone();
    forged
        .attachments
        .push(spa_controller::plan::AttachmentChange {
            policy: "SpaTest-DenyS3".to_string(),
            policy_id: Some(foreign.clone()),
            target: OU.to_string(),
            target_kind: spa_controller::aws::TargetKind::OrganizationalUnit,
            target_name: "Sandboxes".to_string(),
            action: AttachAction::Attach,
            state: None,
            destructive: None,
        });
    let refused = apply(&aws, &forged, &scope, ALLOW, &|_, _| {}).await;
    assert!(
        matches!(refused, Err(Refusal::NotOwned { .. })),
        "{refused:?}"
    );
    // Nor created over, nor attached to the root or an OU settings do not list.
    let mut forged = plan;
    forged.policies.push(spa_controller::plan::PolicyChange {
        name: "SpaTest-DenyS3".to_string(),
        action: spa_controller::plan::Action::Create,
        id: None,
        description: String::new(),
        before: None,
        after: Some(DENY_S3.to_string()),
        destructive: None,
    });
    let refused = apply(&aws, &forged, &scope, ALLOW, &|_, _| {}).await;
    assert!(
        matches!(refused, Err(Refusal::NotOwned { .. })),
        "{refused:?}"
    );
    assert_eq!(fakes.organizations.policies_of(OU), ["FullAWSAccess"]);
    let served = &fakes.organizations.behaviour.served;
    assert_eq!(served.calls(api::ATTACH_POLICY), 0);
    assert_eq!(served.calls(api::CREATE_POLICY), 0);
}

#[tokio::test(start_paused = true)]
async fn a_removed_policy_is_detached_then_deleted() {
    let fakes = fakes();
    let aws = fakes.aws();
    apply_now(&aws, &settings(ONE)).await;
    let emptied = settings("");
    let (plan, _) = plan_and_scope(&aws, &emptied).await;
    assert_eq!(plan.destructive.len(), 1, "{:?}", plan.destructive);
    assert!(plan.without_destructive().no_changes);
    let written = apply_now(&aws, &emptied).await;
    assert_eq!(
        written,
        [
            ok("DetachPolicy", "SpaTest-DenyS3 ou-test-sandboxes"),
            ok("DeletePolicy", "SpaTest-DenyS3")
        ],
        "in the order AWS needs, whatever the order of the results"
    );
    assert!(fakes.organizations.policy_named("SpaTest-DenyS3").is_none());
    assert_eq!(fakes.organizations.policies_of(OU), ["FullAWSAccess"]);
}
