//! Benchmark: the controller with 1,000 managed accounts on the emulator — CPU and memory
//! when idle, AWS calls of quiet reconciles, and commit-to-applied latency.
//! Run it with `scripts/bench-controller` (release binary; docs/benchmarks.md).

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use spa_controller::aws::sdk::AwsOptions;
use spa_controller::aws::seed::{AccountSpec, OrganizationSpec, UnitSpec, seed};
use spa_tests::{Emulator, GitRepo};

const UNITS: usize = 10;
const PER_UNIT: usize = 100;
const INTERVAL: u64 = 10;

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    // utime and stime are fields 14 and 15 of /proc/PID/stat (11 and 12 after the name).
    fields
        .get(11)
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        + fields
            .get(12)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let emulator = Emulator::start();
    let options = AwsOptions {
        management_role_arn: Some(
            "arn:aws:iam::111111111111:role/SpaAccountsManagementRole".into(),
        ),
        ..AwsOptions::emulator(&emulator.endpoint)
    };
    let spec = OrganizationSpec {
        seed: 3,
        management_account: "111111111111".into(),
        management_role: "SpaAccountsManagementRole".into(),
        member_role: "AWSControlTowerExecution".into(),
        accounts: Vec::new(),
        organizational_units: (0..UNITS)
            .map(|u| UnitSpec {
                name: format!("unit-{u}"),
                id: None,
                accounts: (0..PER_UNIT)
                    .map(|a| AccountSpec {
                        name: format!("p-{u}-{a}"),
                        email: format!("p-{u}-{a}@example.com"),
                        id: None,
                        tags: Default::default(),
                    })
                    .collect(),
                organizational_units: Vec::new(),
            })
            .collect(),
    };
    let seeded = seed(&options, spec).await.expect("seed");
    let repo = GitRepo::new();
    let mut yaml = String::from(
        "environment_identifier: SpaBench\nautomation:\n  role_arn_to_manage_accounts: arn:aws:iam::111111111111:role/SpaAccountsManagementRole\ndefaults:\n  account_tags:\n    managed-by: spa\norganizational_units:\n",
    );
    for (_, id) in &seeded.organizational_units {
        let _ = writeln!(yaml, "  - identifier: {id}");
    }
    yaml.push_str("features:\n  with_csv_files: [finops.csv]\n");
    let mut csv = String::from("Account,Tag: cost-center\n");
    for (_, id) in &seeded.accounts {
        let _ = writeln!(csv, "{id},CC-1");
    }
    repo.write("settings.yaml", &yaml);
    repo.write("finops.csv", &csv);
    let first = repo.commit("1,000 accounts");
    let url = format!("file://{}", repo.path().display());
    let interval = format!("{INTERVAL}s");
    let controller = emulator.controller(
        repo.path(),
        &[
            "--repo",
            &url,
            "--interval",
            &interval,
            "--resync-interval",
            "1h",
            "--allow-destructive",
            // The settings loop only: the life cycle is measured on the fakes.
            "--no-lifecycle",
            "--rate-limit",
            "org-tag=1000/1000",
            "--rate-limit",
            "org-list-tags=1000/1000",
            "--rate-limit",
            "ssm-write=1000/1000",
        ],
    );
    let start = Instant::now();
    controller.wait_for("the first apply", 1800, |s| {
        s["applied_commit"] == first.as_str()
    });
    println!(
        "first full reconcile (observe + tag 1,000 accounts + 1,011 parameters, limits lifted for the emulator): {:.1} s",
        start.elapsed().as_secs_f64()
    );
    std::thread::sleep(Duration::from_secs(2 * INTERVAL));

    // Idle: three poll intervals of nothing to do.
    let pid = controller.pid();
    let calls_before = controller.metrics();
    let ticks_before = cpu_ticks(pid);
    let idle = Duration::from_secs(6 * INTERVAL);
    std::thread::sleep(idle);
    let ticks = cpu_ticks(pid) - ticks_before;
    let cpu = ticks as f64 / 100.0 / idle.as_secs_f64() * 100.0;
    let calls_after = controller.metrics();
    let count = |text: &str, prefix: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let writes = [
        "TagResource",
        "UntagResource",
        "PutParameter",
        "DeleteParameters",
    ]
    .iter()
    .map(|api| {
        count(&calls_after, &format!("spa_aws_calls_total{{api=\"{api}\""))
            - count(
                &calls_before,
                &format!("spa_aws_calls_total{{api=\"{api}\""),
            )
    })
    .sum::<f64>();
    let tag_reads = count(
        &calls_after,
        "spa_aws_calls_total{api=\"ListTagsForResource\"",
    ) - count(
        &calls_before,
        "spa_aws_calls_total{api=\"ListTagsForResource\"",
    );
    let all =
        count(&calls_after, "spa_aws_calls_total{") - count(&calls_before, "spa_aws_calls_total{");
    println!(
        "idle for {} s ({} polls): CPU {cpu:.2}% of one core, RSS {} MB, AWS calls {all}, writes {writes}, tag reads {tag_reads}",
        idle.as_secs(),
        idle.as_secs() / INTERVAL,
        rss_kb(pid) / 1024
    );

    // Commit to applied: one CSV row changes.
    let changed = csv.replacen(",CC-1\n", ",CC-2\n", 1);
    repo.write("finops.csv", &changed);
    let commit = repo.commit("one row");
    let start = Instant::now();
    let status = controller.wait_for("the change applied", 600, |s| {
        s["applied_commit"] == commit.as_str()
    });
    println!(
        "commit to applied: {:.1} s with a {INTERVAL} s poll interval (the apply itself: {} s)",
        start.elapsed().as_secs_f64(),
        status["last_reconcile"]["duration_seconds"]
    );
    println!("peak RSS {} MB", {
        let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        text.lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            / 1024
    });
}
