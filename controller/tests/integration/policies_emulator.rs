//! Service control policies end to end on the emulator, as a team uses them: the example's
//! guardrails are created and attached, a pull request that adds, edits and removes one is
//! reviewed in Markdown and applied, a per-state policy follows an account round its life
//! cycle, and a policy spa does not own is never touched. (The emulator attaches twice
//! silently and counts no quota: those are the fakes' tests.)

use aws_sdk_organizations::types::PolicyType;
use spa_controller::aws::sdk::{AwsOptions, assume_role, sdk_config};
use spa_tests::{Emulator, GitRepo, Run};

const ENGINEERING: &str = "ou-1rb4-yu9tf5hp";
const CHEN: &str = "201172121298"; // chen-eng, released, in Engineering Sandboxes

async fn organizations(emulator: &Emulator) -> aws_sdk_organizations::Client {
    let base = sdk_config(&AwsOptions::emulator(&emulator.endpoint)).await;
    let management = assume_role(
        &base,
        "arn:aws:iam::111111111111:role/SpaAccountsManagementRole",
        "test",
    )
    .await;
    aws_sdk_organizations::Client::new(&management)
}

/// The SCPs attached to a target, by name, sorted.
async fn policies_of(client: &aws_sdk_organizations::Client, target: &str) -> Vec<String> {
    let output = client
        .list_policies_for_target()
        .target_id(target)
        .filter(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .unwrap();
    let mut names: Vec<String> = output
        .policies()
        .iter()
        .filter_map(|p| p.name().map(str::to_string))
        .collect();
    names.sort();
    names
}

/// The id of the SCP named `name`, if it exists.
async fn policy_id(client: &aws_sdk_organizations::Client, name: &str) -> Option<String> {
    let output = client
        .list_policies()
        .filter(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .unwrap();
    output
        .policies()
        .iter()
        .find(|p| p.name() == Some(name))
        .and_then(|p| p.id().map(str::to_string))
}

fn assert_ok(run: &Run) {
    assert_eq!(run.code, 0, "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guardrails_by_pull_request_and_through_the_life_cycle() {
    let emulator = Emulator::start();
    let repo = GitRepo::example();
    assert_ok(&emulator.spa(repo.path(), &["dev", "seed", "--org", "organization.yaml"]));
    let client = organizations(&emulator).await;

    // Someone's own guardrail on the engineering OU: not spa's, never touched.
    let custom = client
        .create_policy()
        .name("SecurityTeamGuardrail")
        .description("not spa's")
        .content(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:CreateUser","Resource":"*"}]}"#)
        .r#type(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .unwrap();
    let custom_id = custom
        .policy()
        .unwrap()
        .policy_summary()
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    client
        .attach_policy()
        .policy_id(&custom_id)
        .target_id(ENGINEERING)
        .send()
        .await
        .unwrap();

    assert_ok(&emulator.spa(repo.path(), &["apply", "--yes", "--allow-destructive"]));
    assert_eq!(
        policies_of(&client, ENGINEERING).await,
        vec![
            "FullAWSAccess",
            "SecurityTeamGuardrail",
            "SpaDemo-DenyCostlyServices",
            "SpaDemo-DenyRootUser",
            "SpaDemo-ProtectTheOrganization",
            "SpaDemo-RestrictRegions",
        ]
    );
    // Converged: a second apply writes nothing.
    let run = emulator.spa(repo.path(), &["apply", "--yes"]);
    assert_ok(&run);
    assert!(run.stdout.contains("No changes"), "{}", run.stdout);

    // A pull request: a new guardrail, RestrictRegions opened to one more region (loosened),
    // DenyCostlyServices removed.
    let settings = std::fs::read_to_string(repo.path().join("settings.yaml")).unwrap();
    let removed = settings
        .split_once("  # No long commitments")
        .map(|(before, after)| {
            let rest = after.split_once("\n\n").unwrap().1;
            format!("{before}{rest}")
        })
        .unwrap();
    let added = removed.replacen(
        "service_control_policies:\n",
        "service_control_policies:\n\n  # No IAM users: people sign in through Identity Center.\n  - name: DenyIamUsers\n    file: policies/deny-iam-users.json\n    organizational_units: [ou-1rb4-yu9tf5hp]\n",
        1,
    );
    repo.write("settings.yaml", added);
    repo.write(
        "policies/deny-iam-users.json",
        r#"{"Version": "2012-10-17", "Statement": [{"Sid": "NoIamUsers", "Effect": "Deny", "Action": ["iam:CreateUser", "iam:CreateAccessKey"], "Resource": "*", "Condition": {"ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::*:role/AWSControlTowerExecution", "arn:aws:iam::*:role/SpaCodeBuildServiceRole"]}}}]}"#,
    );
    let regions =
        std::fs::read_to_string(repo.path().join("policies/restrict-regions.json")).unwrap();
    let opened = regions.replacen("\"us-east-1\"", "\"us-east-1\", \"us-west-2\"", 1);
    assert_ne!(opened, regions);
    repo.write("policies/restrict-regions.json", opened);
    repo.commit("Guardrails: no IAM users, us-west-2, no more cost guardrail");

    let run = emulator.spa(repo.path(), &["plan", "--format", "markdown"]);
    assert_ok(&run);
    let markdown = run.stdout;
    let destructive = markdown
        .split_once("#### ⚠️ Destructive changes")
        .and_then(|(_, rest)| rest.split_once("####"))
        .map(|(section, _)| section.to_string())
        .expect("a destructive section");
    assert!(
        destructive.contains("policy SpaDemo-DenyCostlyServices is removed from settings"),
        "{destructive}"
    );
    assert!(
        destructive.contains("policy SpaDemo-RestrictRegions is loosened"),
        "{destructive}"
    );
    assert!(
        !destructive.contains("DenyIamUsers"),
        "adding a guardrail is not destructive: {destructive}"
    );
    assert!(
        markdown.contains("<summary>+ policy <code>SpaDemo-DenyIamUsers</code></summary>"),
        "{markdown}"
    );
    assert!(
        markdown
            .lines()
            .any(|l| l.starts_with('+') && l.contains("\"us-west-2\"")),
        "the document's diff: {markdown}"
    );
    assert!(
        markdown.contains(
            "| - ⚠️ | `SpaDemo-DenyCostlyServices` | Engineering Sandboxes `ou-1rb4-yu9tf5hp` |"
        ),
        "{markdown}"
    );

    // Removing and loosening need the confirmation of a destructive change.
    let run = emulator.spa(repo.path(), &["apply", "--yes"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("--allow-destructive"), "{}", run.stderr);
    assert!(policy_id(&client, "SpaDemo-DenyIamUsers").await.is_none());
    assert_ok(&emulator.spa(repo.path(), &["apply", "--yes", "--allow-destructive"]));
    assert_eq!(
        policies_of(&client, ENGINEERING).await,
        vec![
            "FullAWSAccess",
            "SecurityTeamGuardrail",
            "SpaDemo-DenyIamUsers",
            "SpaDemo-DenyRootUser",
            "SpaDemo-ProtectTheOrganization",
            "SpaDemo-RestrictRegions",
        ]
    );
    assert!(
        policy_id(&client, "SpaDemo-DenyCostlyServices")
            .await
            .is_none()
    );
    let run = emulator.spa(repo.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "converged: {run:?}");
    let run = emulator.spa(repo.path(), &["apply", "--yes"]);
    assert!(run.stdout.contains("No changes"), "{}", run.stdout);

    // The per-state policy follows an account round its cycle: attached when the account
    // is expired, detached when it is assigned again, absent once released.
    assert_eq!(policies_of(&client, CHEN).await, vec!["FullAWSAccess"]);
    assert_ok(&emulator.spa(
        repo.path(),
        &["lifecycle", "set-state", CHEN, "expired", "--yes"],
    ));
    assert_eq!(
        policies_of(&client, CHEN).await,
        vec!["FullAWSAccess", "SpaDemo-DenyWorkDuringPurge"],
        "closed while it is purged"
    );
    let run = emulator.spa(
        repo.path(),
        &["lifecycle", "run", "--until-idle", "--poll", "1s", "--yes"],
    );
    assert_ok(&run);
    let run = emulator.spa(repo.path(), &["status", "--format", "json"]);
    let status = run.json();
    let chen = status["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == CHEN)
        .unwrap()
        .clone();
    assert_eq!(chen["state"], "released", "{chen}");
    assert_eq!(
        policies_of(&client, CHEN).await,
        vec!["FullAWSAccess"],
        "opened again after the purge"
    );
    // And the settings loop agrees with the life cycle.
    let run = emulator.spa(repo.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{run:?}");

    // Never touched: the security team's policy, where it was.
    let content = client
        .describe_policy()
        .policy_id(&custom_id)
        .send()
        .await
        .unwrap();
    assert!(
        content
            .policy()
            .and_then(|p| p.content())
            .unwrap()
            .contains("iam:CreateUser")
    );
}
