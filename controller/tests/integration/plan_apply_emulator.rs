//! End to end on the emulator, as a team uses spa: seed → plan → apply → read back → plan
//! empty → a commit changing one CSV row plans exactly that change → apply; drift made by
//! hand is shown and repaired; what spa does not own is never touched.

use std::collections::BTreeMap;

use spa_controller::aws::sdk::{AwsOptions, sdk_config};
use spa_tests::{Emulator, GitRepo, Run};

const DANA: &str = "785090654109"; // dana-eng, listed, in Engineering Sandboxes
const SHOP_PROD: &str = "Production"; // an unmanaged OU

fn plan_json(emulator: &Emulator, repo: &GitRepo) -> serde_json::Value {
    let run = emulator.spa(repo.path(), &["plan", "--format", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    run.json()
}

struct Aws {
    organizations: aws_sdk_organizations::Client,
    ssm: aws_sdk_ssm::Client,
}

async fn clients(emulator: &Emulator) -> Aws {
    let base = sdk_config(&AwsOptions::emulator(&emulator.endpoint)).await;
    let management = spa_controller::aws::sdk::assume_role(
        &base,
        "arn:aws:iam::111111111111:role/SpaAccountsManagementRole",
        "test",
    )
    .await;
    Aws {
        organizations: aws_sdk_organizations::Client::new(&management),
        ssm: aws_sdk_ssm::Client::new(&base),
    }
}

async fn tags(aws: &Aws, account: &str) -> BTreeMap<String, String> {
    let output = aws
        .organizations
        .list_tags_for_resource()
        .resource_id(account)
        .send()
        .await
        .unwrap();
    output
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

async fn parameter(aws: &Aws, name: &str) -> Option<String> {
    aws.ssm
        .get_parameter()
        .name(name)
        .send()
        .await
        .ok()
        .and_then(|o| o.parameter().and_then(|p| p.value()).map(str::to_string))
}

/// The SCPs attached to a target, by name, sorted.
async fn policies_of(aws: &Aws, target: &str) -> Vec<String> {
    let output = aws
        .organizations
        .list_policies_for_target()
        .target_id(target)
        .filter(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
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

fn assert_ok(run: &Run) {
    assert_eq!(run.code, 0, "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gitops_cycle_on_the_emulator() {
    let emulator = Emulator::start();
    let repo = GitRepo::example();
    assert_ok(&emulator.spa(repo.path(), &["dev", "seed", "--org", "organization.yaml"]));
    let aws = clients(&emulator).await;
    let production_accounts: Vec<String> = {
        let roots = aws.organizations.list_roots().send().await.unwrap();
        let root = roots.roots()[0].id().unwrap().to_string();
        let units = aws
            .organizations
            .list_organizational_units_for_parent()
            .parent_id(root)
            .send()
            .await
            .unwrap();
        let production = units
            .organizational_units()
            .iter()
            .find(|u| u.name() == Some(SHOP_PROD))
            .unwrap()
            .id()
            .unwrap()
            .to_string();
        let accounts = aws
            .organizations
            .list_accounts_for_parent()
            .parent_id(production)
            .send()
            .await
            .unwrap();
        accounts
            .accounts()
            .iter()
            .map(|a| a.id().unwrap().to_string())
            .collect()
    };
    let production_before: Vec<_> =
        futures::future::join_all(production_accounts.iter().map(|a| tags(&aws, a))).await;
    aws.ssm
        .put_parameter()
        .name("/Elsewhere/Accounts/x")
        .value("not ours")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();

    // The first plan: every managed account gets its tags, every parameter is created.
    let plan = plan_json(&emulator, &repo);
    assert_eq!(plan["no_changes"], false);
    assert_eq!(
        plan["summary"]["parameters"], 24,
        "16 accounts + 4 OUs + 2 buildspecs + 2 documents"
    );
    assert_eq!(plan["summary"]["accounts"], 22);
    assert!(
        plan["summary"]["destructive"].as_u64().unwrap() > 0,
        "accounts enter purge paths"
    );
    let run = emulator.spa(repo.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 4, "{run:?}");

    // A saved plan edited by hand, its fingerprints kept, is refused whole: apply carries out
    // only the plan it computes now, and nothing is written.
    let reviewed_path = repo.path().join("reviewed.json");
    assert_ok(&emulator.spa(
        repo.path(),
        &["plan", "--out", reviewed_path.to_str().unwrap()],
    ));
    let reviewed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&reviewed_path).unwrap()).unwrap();
    type Tampering<'a> = (&'a str, Box<dyn Fn(&mut serde_json::Value) + 'a>);
    let tamperings: Vec<Tampering> = vec![
        (
            "deletes a parameter outside /SpaDemo/",
            Box::new(|plan| {
                plan["parameters"]
                    .as_array_mut()
                    .unwrap()
                    .push(serde_json::json!({
                        "name": "/Elsewhere/Accounts/x", "action": "delete", "kind": "text",
                        "before": "not ours", "after": null, "tier": "standard",
                        "tier_change": false, "destructive": false
                    }))
            }),
        ),
        (
            "tags an account settings do not manage",
            Box::new(|plan| {
                let production = production_accounts[0].clone();
                plan["accounts"].as_array_mut().unwrap().push(serde_json::json!({
                    "account": production, "name": "shop", "organizational_unit": null,
                    "tags": [{"key": "owner", "action": "add", "before": null, "after": "attacker"}],
                    "destructive": []
                }))
            }),
        ),
        (
            "turns a published PURGE_MODE into --force",
            Box::new(|plan| {
                let parameters = plan["parameters"].as_array_mut().unwrap();
                let change = parameters
                    .iter_mut()
                    .find(|p| p["after"].as_str().is_some_and(|v| v.contains("--dry-run")))
                    .unwrap();
                let forced = change["after"]
                    .as_str()
                    .unwrap()
                    .replace("--dry-run", "--force");
                change["after"] = forced.into();
            }),
        ),
        (
            "hides its destructive changes from the gate",
            Box::new(|plan| {
                plan["destructive"] = serde_json::json!([]);
                plan["summary"]["destructive"] = 0.into();
                for account in plan["accounts"].as_array_mut().unwrap() {
                    account["destructive"] = serde_json::json!([]);
                }
            }),
        ),
    ];
    for (what, tamper) in &tamperings {
        let mut plan = reviewed.clone();
        tamper(&mut plan);
        let path = repo.path().join("tampered.json");
        std::fs::write(&path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
        let run = emulator.spa(
            repo.path(),
            &[
                "apply",
                "--plan",
                path.to_str().unwrap(),
                "--yes",
                "--allow-destructive",
            ],
        );
        assert_eq!(run.code, 1, "a plan that {what}: {run:?}");
        assert!(
            run.stderr.contains("is not the plan computed now"),
            "a plan that {what}: {}",
            run.stderr
        );
    }
    assert_eq!(
        parameter(&aws, "/Elsewhere/Accounts/x").await.as_deref(),
        Some("not ours")
    );
    let written = aws
        .ssm
        .get_parameters_by_path()
        .path("/SpaDemo")
        .recursive(true)
        .send()
        .await
        .unwrap();
    assert!(written.parameters().is_empty(), "nothing applied");
    let production_now: Vec<_> =
        futures::future::join_all(production_accounts.iter().map(|a| tags(&aws, a))).await;
    assert_eq!(production_before, production_now);

    // Destructive changes need an explicit confirmation: nothing is written without it.
    let run = emulator.spa(repo.path(), &["apply", "--yes"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("--allow-destructive"), "{}", run.stderr);
    assert_eq!(
        parameter(&aws, &format!("/SpaDemo/Accounts/{DANA}")).await,
        None
    );

    let run = emulator.spa(repo.path(), &["apply", "--yes", "--allow-destructive"]);
    assert_ok(&run);
    // 24 PutParameter, 22 TagResource, one UntagResource (sales-demo has an unset tag), 5
    // CreatePolicy and 12 AttachPolicy: 11 to the OUs, and DenyWorkDuringPurge to the one
    // account that is expired (ds-shared-2); and the dashboard.
    assert!(
        run.stdout.contains("Applied: 65 succeeded, 0 failed."),
        "{}",
        run.stdout
    );
    let attached = policies_of(&aws, "807120191889").await;
    assert_eq!(
        attached,
        vec!["FullAWSAccess", "SpaDemo-DenyWorkDuringPurge"]
    );
    assert_eq!(
        policies_of(&aws, "155545259459").await,
        vec!["FullAWSAccess"],
        "a released account has no per-state policy"
    );

    // Read back through the SDK.
    let dana = tags(&aws, DANA).await;
    assert_eq!(dana["cost-center"], "CC-5200");
    assert_eq!(dana["account-state"], "vanilla");
    assert_eq!(dana["account-holder"], "dana.lee@example.com");
    let published: serde_json::Value = serde_json::from_str(
        &parameter(&aws, &format!("/SpaDemo/Accounts/{DANA}"))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        published["preparation"]["variables"]["BUDGET_AMOUNT"],
        "750.0"
    );
    assert_eq!(
        published["purge"]["variables"]["PURGE_MODE"], "--force",
        "the OU's, through the cascade"
    );

    // Converged: an empty plan, and a second apply writes nothing.
    let run = emulator.spa(repo.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{run:?}");
    let run = emulator.spa(repo.path(), &["apply", "--yes"]);
    assert_ok(&run);
    assert!(run.stdout.contains("No changes"), "{}", run.stdout);

    // A parameter rewritten with other formatting and key order is no change.
    let name = format!("/SpaDemo/Accounts/{DANA}");
    let reformatted = serde_json::to_string_pretty(&published)
        .unwrap()
        .replace("  ", "\t");
    aws.ssm
        .put_parameter()
        .name(&name)
        .value(reformatted)
        .overwrite(true)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    assert_eq!(plan_json(&emulator, &repo)["no_changes"], true);

    // A tag edited by hand is drift: planned, then repaired.
    let tag = aws_sdk_organizations::types::Tag::builder()
        .key("cost-center")
        .value("hand-edited")
        .build()
        .unwrap();
    aws.organizations
        .tag_resource()
        .resource_id(DANA)
        .tags(tag)
        .send()
        .await
        .unwrap();
    let plan = plan_json(&emulator, &repo);
    assert_eq!(plan["accounts"].as_array().unwrap().len(), 1);
    assert_eq!(plan["accounts"][0]["tags"][0]["before"], "hand-edited");
    assert_eq!(plan["accounts"][0]["tags"][0]["after"], "CC-5200");
    // A saved plan is refused once AWS has changed since.
    let saved = repo.path().join("plan.json");
    assert_ok(&emulator.spa(repo.path(), &["plan", "--out", saved.to_str().unwrap()]));
    let tag = aws_sdk_organizations::types::Tag::builder()
        .key("team")
        .value("moved")
        .build()
        .unwrap();
    aws.organizations
        .tag_resource()
        .resource_id(DANA)
        .tags(tag)
        .send()
        .await
        .unwrap();
    let run = emulator.spa(
        repo.path(),
        &["apply", "--plan", saved.to_str().unwrap(), "--yes"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("AWS changed since the plan"),
        "{}",
        run.stderr
    );
    assert_ok(&emulator.spa(repo.path(), &["apply", "--yes"]));
    assert_eq!(tags(&aws, DANA).await["cost-center"], "CC-5200");
    assert_eq!(tags(&aws, DANA).await["team"], "checkout");

    // A commit that changes one CSV row plans exactly that change.
    let finops = std::fs::read_to_string(repo.path().join("finops.csv")).unwrap();
    repo.write(
        "finops.csv",
        finops.replace(&format!("{DANA},,CC-5200,"), &format!("{DANA},,CC-5299,")),
    );
    let commit = repo.commit("FinOps: move Dana to CC-5299");
    let plan = plan_json(&emulator, &repo);
    assert_eq!(plan["commit"], commit);
    let accounts = plan["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["account"], DANA);
    assert_eq!(accounts[0]["tags"].as_array().unwrap().len(), 1);
    let parameters = plan["parameters"].as_array().unwrap();
    assert_eq!(parameters.len(), 1);
    assert_eq!(parameters[0]["name"], format!("/SpaDemo/Accounts/{DANA}"));
    assert_eq!(plan["summary"]["destructive"], 0);
    let saved = repo.path().join("plan2.json");
    assert_ok(&emulator.spa(repo.path(), &["plan", "--out", saved.to_str().unwrap()]));
    let run = emulator.spa(
        repo.path(),
        &["apply", "--plan", saved.to_str().unwrap(), "--yes"],
    );
    assert_ok(&run);
    assert!(
        run.stdout.contains("Applied: 2 succeeded, 0 failed."),
        "{}",
        run.stdout
    );
    assert_eq!(tags(&aws, DANA).await["cost-center"], "CC-5299");

    // Never touched: unmanaged accounts, and parameters outside /SpaDemo/.
    let production_after: Vec<_> =
        futures::future::join_all(production_accounts.iter().map(|a| tags(&aws, a))).await;
    assert_eq!(production_before, production_after);
    assert_eq!(
        parameter(&aws, "/Elsewhere/Accounts/x").await.as_deref(),
        Some("not ours")
    );
}

#[test]
fn diff_needs_no_aws() {
    let repo = GitRepo::example();
    let settings = std::fs::read_to_string(repo.path().join("settings.yaml")).unwrap();
    // Data science switches its purge from dry run to --force: destructive.
    let changed = settings.replacen(
        "        PURGE_MODE: '--dry-run'",
        "        PURGE_MODE: '--force'",
        1,
    );
    assert_ne!(changed, settings);
    repo.write("settings.yaml", changed);
    repo.commit("data science purges for real");
    let run = spa_tests::spa(
        repo.path(),
        &[
            "diff", "--base", "HEAD~1", "--head", "HEAD", "--format", "json",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let diff = run.json();
    assert_eq!(diff["parameters"].as_array().unwrap().len(), 1);
    assert_eq!(
        diff["destructive"][0]["reason"],
        "ou-1rb4-of3ysfig PURGE_MODE becomes --force: resources will be deleted"
    );
    let run = spa_tests::spa(
        repo.path(),
        &[
            "diff", "--base", "HEAD~1", "--head", "HEAD", "--format", "markdown",
        ],
    );
    assert!(
        run.stdout.starts_with("### spa diff for `SpaDemo`"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("-      \"PURGE_MODE\": \"--dry-run\","),
        "{}",
        run.stdout
    );
}
