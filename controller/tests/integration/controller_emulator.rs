//! The long-running controller end to end: a real local Git repository as the remote, the
//! emulator as AWS, bounded waits on /status.

use spa_tests::{ADMIN_TOKEN, ControllerProcess, Emulator, GitRepo};

const DANA: &str = "785090654109";

fn origin(emulator: &Emulator) -> GitRepo {
    let repo = GitRepo::example();
    let run = emulator.spa(repo.path(), &["dev", "seed", "--org", "organization.yaml"]);
    assert_eq!(run.code, 0, "{run:?}");
    repo
}

fn url(repo: &GitRepo) -> String {
    format!("file://{}", repo.path().display())
}

fn applied(commit: &str) -> impl Fn(&serde_json::Value) -> bool + '_ {
    move |s| s["applied_commit"] == commit
}

fn start(emulator: &Emulator, repo: &GitRepo, extra: &[&str]) -> ControllerProcess {
    let url = url(repo);
    let mut args = vec![
        "--repo",
        url.as_str(),
        "--interval",
        "1s",
        "--build-poll",
        "1s",
        "--allow-destructive",
    ];
    args.extend_from_slice(extra);
    emulator.controller(repo.path(), &args)
}

fn change_dana_cost_center(repo: &GitRepo, value: &str) -> String {
    let finops = std::fs::read_to_string(repo.path().join("finops.csv")).unwrap();
    let line = finops
        .lines()
        .find(|l| l.starts_with(DANA))
        .unwrap()
        .to_string();
    let fields: Vec<&str> = line.split(',').collect();
    let changed = line.replacen(fields[2], value, 1);
    repo.write("finops.csv", finops.replace(&line, &changed));
    repo.commit(&format!("FinOps: Dana to {value}"))
}

#[test]
fn follows_the_branch_skips_invalid_commits_and_obeys_operators() {
    let emulator = Emulator::start();
    let repo = origin(&emulator);
    let first = repo.git(&["rev-parse", "HEAD"]);
    let controller = start(&emulator, &repo, &["--resync-interval", "1h"]);

    // The first commit is applied.
    let status = controller.wait_for("the first commit applied", 60, applied(&first));
    assert_eq!(status["leader"], true);
    assert_eq!(status["last_error"], serde_json::Value::Null);

    // A new commit is applied within the interval (plus the apply).
    let second = change_dana_cost_center(&repo, "CC-7777");
    controller.wait_for("the second commit applied", 30, applied(&second));
    let run = emulator.spa(repo.path(), &["status", "--format", "json"]);
    let dana = run.json()["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == DANA)
        .cloned()
        .unwrap();
    assert_eq!(dana["cost_center"], "CC-7777");

    // An invalid commit is not applied; /status names it, the last good one stays.
    let settings = std::fs::read_to_string(repo.path().join("settings.yaml")).unwrap();
    repo.write(
        "settings.yaml",
        settings.replace("  verbosity: INFO", "  verbosity: LOUD"),
    );
    change_dana_cost_center(&repo, "CC-8888");
    let invalid = repo.git(&["rev-parse", "HEAD"]);
    let status = controller.wait_for("the invalid commit reported", 30, |s| {
        s["last_error"]["commit"] == invalid.as_str()
    });
    assert_eq!(status["desired_commit"], invalid.as_str());
    assert_eq!(status["applied_commit"], second.as_str());
    assert_eq!(status["last_good_commit"], second.as_str());
    assert!(
        status["last_error"]["message"]
            .as_str()
            .unwrap()
            .contains("verbosity: `LOUD` is not a log level")
    );
    std::thread::sleep(std::time::Duration::from_secs(3));
    let run = emulator.spa(
        repo.path(),
        &["status", "--ref", &second, "--format", "json"],
    );
    let dana = run.json()["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == DANA)
        .cloned()
        .unwrap();
    assert_eq!(
        dana["cost_center"], "CC-7777",
        "nothing of the invalid commit was applied"
    );

    // A fix is applied.
    repo.write("settings.yaml", settings);
    let fixed = repo.commit("fix verbosity");
    let status = controller.wait_for("the fix applied", 30, applied(&fixed));
    assert_eq!(status["last_error"], serde_json::Value::Null);

    // A resync re-observes every managed account; a plain poll reads none of them.
    let tags = "spa_aws_calls_total{api=\"ListTagsForResource\",outcome=\"ok\"}";
    // Quiet: no trigger waiting and the life cycle idle (every account released), so that
    // only the resync reads tags.
    controller.wait_for("quiet", 60, |s| {
        s["queue"].as_array().is_some_and(|q| q.is_empty()) && s["lifecycle"]["queued"] == 0
    });
    let mut before = controller.metric(tags);
    loop {
        std::thread::sleep(std::time::Duration::from_secs(2));
        let now = controller.metric(tags);
        if now == before {
            break;
        }
        before = now;
    }
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(controller.metric(tags), before, "quiet polls read no tags");
    let (code, _) = controller.request("POST", "/resync", None, None);
    assert_eq!(code, 401, "no token, no resync");
    let (code, _) = controller.request("POST", "/resync", Some(ADMIN_TOKEN), None);
    assert_eq!(code, 202);
    // The 22 managed accounts' tags, and the tags of the example's 5 policies (the same
    // API): each once. Counted once the reads have stopped, so that none is missed.
    let expected = before + 22.0 + 5.0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while controller.metric(tags) < expected && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(
        controller.metric(tags),
        expected,
        "a resync reads the tags of each managed account and of each of spa's policies once"
    );

    // Suspended: nothing is applied; resumed: the pending commit is applied.
    let (code, body) = controller.request(
        "POST",
        "/suspend",
        Some(ADMIN_TOKEN),
        Some(r#"{"reason": "audit"}"#),
    );
    assert_eq!(code, 400, "who is required: {body}");
    let (code, _) = controller.request(
        "POST",
        "/suspend",
        Some(ADMIN_TOKEN),
        Some(r#"{"reason": "quarterly audit", "who": "ops@example.com"}"#),
    );
    assert_eq!(code, 200);
    let suspended = change_dana_cost_center(&repo, "CC-9999");
    let status = controller.wait_for("the commit seen while suspended", 30, |s| {
        s["desired_commit"] == suspended.as_str()
    });
    assert_eq!(status["suspension"]["who"], "ops@example.com");
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(
        controller.status().unwrap()["applied_commit"],
        fixed.as_str(),
        "nothing applied while suspended"
    );
    let (code, _) = controller.request("POST", "/resume", Some(ADMIN_TOKEN), None);
    assert_eq!(code, 200);
    controller.wait_for(
        "the pending commit applied after resume",
        30,
        applied(&suspended),
    );

    // Metrics are Prometheus text.
    let metrics = controller.metrics();
    for name in [
        "spa_reconciles_total{outcome=\"applied\"}",
        "spa_reconcile_duration_seconds_count",
        "spa_plan_changes{action=\"add\"}",
        "spa_applied_commit_timestamp_seconds",
        "spa_aws_throttles_total",
    ] {
        assert!(metrics.contains(name), "{name} missing:\n{metrics}");
    }
}

#[test]
fn one_of_two_controllers_applies_and_a_crash_mid_apply_converges() {
    let emulator = Emulator::start();
    let repo = origin(&emulator);
    let first = repo.git(&["rev-parse", "HEAD"]);
    let setup = emulator.spa(
        repo.path(),
        &["dev", "create-lease-table", "--name", "spa-leases"],
    );
    assert_eq!(setup.code, 0, "{setup:?}");
    let lease = ["--lease-table", "spa-leases", "--lease-duration", "6s"];

    // Killed (SIGKILL) in the middle of its first apply: 24 parameters at 3 per second
    // take about eight seconds.
    let mut crashed = start(&emulator, &repo, &lease);
    crashed.wait_for("the apply under way", 60, |s| s["leader"] == true);
    std::thread::sleep(std::time::Duration::from_secs(4));
    crashed.kill();
    let run = emulator.spa(repo.path(), &["plan", "--format", "json"]);
    assert_eq!(run.json()["no_changes"], false, "the crash left work to do");

    // Two replicas: the one that gets the lease (once the dead one's lease expires) applies;
    // the other stays a standby.
    let a = start(&emulator, &repo, &lease);
    let b = start(&emulator, &repo, &lease);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let (leader, standby) = loop {
        let (sa, sb) = (
            a.status().unwrap_or_default(),
            b.status().unwrap_or_default(),
        );
        if sa["applied_commit"] == first.as_str() {
            break (a, b);
        }
        if sb["applied_commit"] == first.as_str() {
            break (b, a);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nobody applied: {sa:#?} {sb:#?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    assert_eq!(
        leader.status().unwrap()["leader"],
        true,
        "leader {:#?}\nstandby {:#?}\n{}",
        leader.status(),
        standby.status(),
        std::fs::read_to_string(&leader.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("leader") || l.contains("lease"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let status = standby.status().unwrap();
    assert_eq!(status["leader"], false);
    assert_eq!(
        status["applied_commit"],
        serde_json::Value::Null,
        "the standby never applied"
    );
    assert_eq!(
        standby.metric("spa_aws_calls_total{api=\"TagResource\",outcome=\"ok\"}"),
        0.0
    );
    assert!(standby.metric("spa_reconciles_total{outcome=\"standby\"}") > 0.0);

    // Converged: nothing left to plan.
    let run = emulator.spa(repo.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{run:?}");

    // The leader stops on SIGTERM and gives the lease up: the standby takes over.
    let mut leader = leader;
    assert_eq!(leader.terminate(), Some(0));
    let second = change_dana_cost_center(&repo, "CC-4242");
    standby.wait_for("the standby taking over", 40, applied(&second));
}

fn states(emulator: &Emulator, repo: &GitRepo) -> std::collections::BTreeMap<String, usize> {
    let run = emulator.spa(repo.path(), &["status", "--format", "json"]);
    let mut counts = std::collections::BTreeMap::new();
    for account in run.json()["accounts"].as_array().unwrap() {
        let state = account["state"].as_str().unwrap_or("(none)").to_string();
        *counts.entry(state).or_default() += 1;
    }
    counts
}

fn all_released(counts: &std::collections::BTreeMap<String, usize>) -> bool {
    counts.len() == 1 && counts.contains_key("released")
}

/// The controller applies the settings and drives every account to released, with a
/// preparation build inside each account that has preparation; a suspended controller
/// moves nothing while an operator runs the maintenance window by hand.
#[test]
fn the_controller_drives_the_life_cycle_of_every_account() {
    let emulator = Emulator::start();
    let repo = origin(&emulator);
    let controller = start(&emulator, &repo, &[]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let mut counts = states(&emulator, &repo);
    while !all_released(&counts) {
        assert!(
            std::time::Instant::now() < deadline,
            "not all released: {counts:?}\n{}",
            std::fs::read_to_string(&controller.log).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
        counts = states(&emulator, &repo);
    }
    assert_eq!(counts["released"], 22);
    let status = controller.status().unwrap();
    assert!(
        status["lifecycle"]["builds_started"].as_u64().unwrap() >= 10,
        "{status:#}"
    );
    assert_eq!(status["lifecycle"]["parked"], 0);
    assert!(controller.metric("spa_lifecycle_transitions_total") >= 22.0);
    let run = emulator.spa(repo.path(), &["lifecycle", "builds", DANA]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "arn:aws:codebuild:eu-west-1:{DANA}:project/SpaProjectForAccountPreparation"
        )),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("succeeded"), "{}", run.stdout);

    let (code, _) = controller.request(
        "POST",
        "/suspend",
        Some(ADMIN_TOKEN),
        Some(r#"{"reason": "maintenance by hand", "who": "ops@example.com"}"#),
    );
    assert_eq!(code, 200);
    let started = controller.status().unwrap()["lifecycle"]["builds_started"].clone();
    // Without --yes nothing moves.
    let run = emulator.spa(repo.path(), &["lifecycle", "expire-now"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("nothing was changed"), "{run:?}");
    assert!(all_released(&states(&emulator, &repo)));
    let run = emulator.spa(
        repo.path(),
        &["lifecycle", "expire-now", "--yes", "--poll", "1s"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Now: 22 released"), "{}", run.stdout);
    assert!(run.stderr.contains("released → expired"), "{}", run.stderr);
    let run = emulator.spa(repo.path(), &["lifecycle", "builds", DANA]);
    assert!(
        run.stdout.contains("project/SpaProjectForAccountPurge"),
        "{}",
        run.stdout
    );
    assert_eq!(
        controller.status().unwrap()["lifecycle"]["builds_started"],
        started,
        "a suspended controller starts nothing"
    );
    let (code, _) = controller.request("POST", "/resume", Some(ADMIN_TOKEN), None);
    assert_eq!(code, 200);
    let run = emulator.spa(repo.path(), &["lifecycle", "check"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("22 managed account(s), 0 anomalies."),
        "{}",
        run.stdout
    );
}

/// Reconciles counted on /metrics, whatever their outcome.
fn reconciles(controller: &ControllerProcess) -> f64 {
    controller
        .metrics()
        .lines()
        .filter(|l| l.starts_with("spa_reconciles_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// On a local working copy the controller watches the files: a commit is applied at once,
/// and idle means idle — its own reads of `.git` never wake it.
#[test]
fn a_watched_working_copy_reconciles_on_changes_only() {
    let emulator = Emulator::start();
    let repo = origin(&emulator);
    let path = repo.path().display().to_string();
    let controller = emulator.controller(
        repo.path(),
        &[
            "--repo",
            path.as_str(),
            "--interval",
            "1h",
            "--allow-destructive",
            "--no-lifecycle",
        ],
    );
    let first = repo.git(&["rev-parse", "HEAD"]);
    controller.wait_for("the first commit applied", 60, applied(&first));
    // Let the start settle, then nothing may happen for a while.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let before = reconciles(&controller);
    std::thread::sleep(std::time::Duration::from_secs(6));
    assert_eq!(
        reconciles(&controller),
        before,
        "no reconcile without a change: {:#?}",
        controller.status()
    );
    let second = change_dana_cost_center(&repo, "CC-4242");
    controller.wait_for("the commit applied through the watch", 30, applied(&second));
}

/// `spa approve` as an operator runs it, with the admin token.
fn approve(controller: &ControllerProcess, repo: &GitRepo, fingerprint: &str) -> spa_tests::Run {
    let url = controller.url();
    spa_tests::spa_env(
        repo.path(),
        &[
            "approve",
            fingerprint,
            "--reason",
            "CHG-1234: sandboxes are purged from now on",
            "--who",
            "alice",
            "--controller",
            &url,
        ],
        &[("SPA_ADMIN_TOKEN", ADMIN_TOKEN)],
    )
}

fn withheld(status: &serde_json::Value) -> Option<String> {
    status["withheld"]["fingerprint"]
        .as_str()
        .map(str::to_string)
}

#[test]
fn an_approval_applies_exactly_the_approved_plan_and_nothing_else() {
    let emulator = Emulator::start();
    let repo = origin(&emulator);
    let url = url(&repo);
    // No --allow-destructive: the example's purge paths are withheld.
    let controller = emulator.controller(
        repo.path(),
        &["--repo", url.as_str(), "--interval", "1s", "--no-lifecycle"],
    );
    let status = controller.wait_for("destructive changes withheld", 60, |s| {
        withheld(s).is_some() && s["applied_commit"].is_string()
    });
    let first = withheld(&status).unwrap();
    assert_eq!(status["withheld"]["count"], 20, "{status:#}");
    assert_eq!(controller.metric("spa_withheld_destructive"), 20.0);
    // Dana's OU enters a purge path: her parameter is part of what is withheld.
    let dana_parameter = format!("/SpaDemo/Accounts/{DANA}");
    assert_eq!(parameter(&emulator, &dana_parameter), None);

    // Only the plan withheld now can be approved.
    let run = approve(&controller, &repo, "0123456789abcdef");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("409"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&first),
        "names the plan to review: {}",
        run.stderr
    );

    // Approved, then the plan moves on before the controller applies it: a new commit
    // puts more accounts on a purge path. Nothing destructive is applied, the approval
    // waits, and the new plan is withheld under another fingerprint.
    let run = spa_tests::spa_env(
        repo.path(),
        &[
            "suspend",
            "--reason",
            "approval test",
            "--controller",
            &controller.url(),
        ],
        &[("SPA_ADMIN_TOKEN", ADMIN_TOKEN)],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let run = approve(&controller, &repo, &first[..16]);
    assert_eq!(run.code, 0, "{run:?}");
    let settings = std::fs::read_to_string(repo.path().join("settings.yaml")).unwrap();
    let changed = settings.replacen(
        "        PURGE_MODE: '--dry-run'",
        "        PURGE_MODE: '--force'",
        1,
    );
    assert_ne!(changed, settings);
    repo.write("settings.yaml", changed);
    let forced = repo.commit("data science purges for real");
    let run = spa_tests::spa_env(
        repo.path(),
        &["resume", "--controller", &controller.url()],
        &[("SPA_ADMIN_TOKEN", ADMIN_TOKEN)],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let status = controller.wait_for("the new plan withheld", 30, |s| {
        s["last_plan"]["commit"] == forced.as_str() && withheld(s).is_some_and(|w| w != first)
    });
    let second = withheld(&status).unwrap();
    assert_eq!(status["approval"]["outcome"], "pending", "{status:#}");
    assert_eq!(status["approval"]["who"], "alice");
    assert!(
        status["approval"]["token"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert!(
        !status.to_string().contains(ADMIN_TOKEN),
        "the token itself is never shown"
    );
    assert!(
        status["approval"]["note"]
            .as_str()
            .unwrap()
            .contains(&second),
        "{status:#}"
    );
    assert_eq!(
        parameter(&emulator, &dana_parameter),
        None,
        "nothing destructive was applied"
    );

    // The plan withheld now is approved: applied, and nothing is withheld any more.
    let run = approve(&controller, &repo, &second);
    assert_eq!(run.code, 0, "{run:?}");
    let status = controller.wait_for("the approved plan applied", 30, |s| {
        s["approval"]["outcome"] == "applied"
    });
    assert_eq!(status["withheld"], serde_json::Value::Null, "{status:#}");
    assert_eq!(status["approval"]["fingerprint"], second.as_str());
    assert!(parameter(&emulator, &dana_parameter).is_some());
    assert_eq!(controller.metric("spa_withheld_destructive"), 0.0);
    assert_eq!(
        controller.metric("spa_approvals_total{outcome=\"applied\"}"),
        1.0
    );
    let run = emulator.spa(repo.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "converged: {run:?}");
}

/// A parameter's value in the emulator, read through the SDK.
fn parameter(emulator: &Emulator, name: &str) -> Option<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let options = spa_controller::aws::sdk::AwsOptions::emulator(&emulator.endpoint);
        let config = spa_controller::aws::sdk::sdk_config(&options).await;
        aws_sdk_ssm::Client::new(&config)
            .get_parameter()
            .name(name)
            .send()
            .await
            .ok()
            .and_then(|o| o.parameter().and_then(|p| p.value()).map(str::to_string))
    })
}
