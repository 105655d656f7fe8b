#![allow(clippy::print_stdout)] // a benchmark reports on stdout
//! Benchmark: validate and resolve a generated repository of 10,000 accounts in 100 OUs,
//! plus a 10,000-row CSV file.
//!
//! `cargo bench -p spa-schema --bench validate` prints the in-process time;
//! `cargo bench -p spa-schema --bench validate -- --write-repo DIR` writes the repository
//! for the whole-process measurement of `scripts/bench-validate`.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use spa_schema::{MemoryFiles, Resolver, load};

// The same allocator as the `spa` binary, so that in-process numbers match it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ACCOUNTS: usize = 10_000;
const OUS: usize = 100;

fn ou_id(index: usize) -> String {
    format!("ou-bench-{index:08}")
}

fn account_id(index: usize) -> String {
    format!("{:012}", 100_000_000_000usize + index)
}

fn generate() -> (String, String) {
    let mut yaml = String::from(
        "environment_identifier: SpaBench
automation:
  account_id: '111111111111'
  region: eu-west-1
  maintenance_window_expression: cron(0 18 ? * SAT *)
defaults:
  account_tags:
    managed-by: spa
  unset_tags: [obsolete]
  preparation:
    feature: disabled
    variables:
      BUDGET_AMOUNT: 500.0
      ALERT_THRESHOLD: 80
  purge:
    feature: disabled
    variables:
      MAXIMUM_AGE: 9M
      PURGE_MODE: --dry-run
organizational_units:
",
    );
    for ou in 0..OUS {
        let _ = write!(
            yaml,
            "  - identifier: {}
    note: organizational unit number {ou}
    account_tags:
      team: team-{ou}
    preparation:
      feature: enabled
      variables:
        BUDGET_NAME: Budget{ou}
",
            ou_id(ou)
        );
    }
    yaml.push_str("accounts:\n");
    for account in 0..ACCOUNTS {
        let _ = write!(
            yaml,
            "  - identifier: '{}'
    note: personal account of person {account}
    account_tags:
      owner: person{account}@example.com
    purge:
      feature: enabled
      variables:
        TAG_KEY: purge
",
            account_id(account)
        );
    }
    yaml.push_str("features:\n  with_csv_files:\n    - finops.csv\n");
    let mut csv = String::from(
        "Account,Note,Tag: cost-center,Preparation: BUDGET_AMOUNT,Purge: MAXIMUM_AGE\n",
    );
    for account in 0..ACCOUNTS {
        let _ = writeln!(
            csv,
            "{},\"row {account}, FinOps\",CC-{},{},2w",
            account_id(account),
            account % 250,
            100 + account % 900
        );
    }
    (yaml, csv)
}

/// Peak resident memory of this process, from Linux's /proc.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let (yaml, csv) = generate();
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|a| a == "--write-repo") {
        let dir = std::path::PathBuf::from(&args[position + 1]);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("settings.yaml"), &yaml).unwrap();
        std::fs::write(dir.join("finops.csv"), &csv).unwrap();
        return;
    }
    if args.iter().any(|a| a == "--phases") {
        let file = spa_schema::diag::intern("settings.yaml");
        for _ in 0..5 {
            let start = Instant::now();
            let events = saphyr_parser::Parser::new_from_str(&yaml).count();
            let scan = start.elapsed();
            let start = Instant::now();
            let mut diagnostics = Vec::new();
            let node = spa_schema::yaml::parse(file, &yaml, &mut diagnostics);
            let tree = start.elapsed();
            let start = Instant::now();
            drop(node);
            let drop_time = start.elapsed();
            let start = Instant::now();
            let rows = spa_schema::csv::parse(
                spa_schema::diag::intern("finops.csv"),
                &csv,
                &mut diagnostics,
            )
            .len();
            println!(
                "events {events}: scan {scan:?}, tree {tree:?}, drop {drop_time:?}, csv {rows} rows {:?}",
                start.elapsed()
            );
        }
        return;
    }
    let files = MemoryFiles::new()
        .with("settings.yaml", yaml.clone())
        .with("finops.csv", csv.clone());
    let mut times: Vec<Duration> = Vec::new();
    let mut load_times: Vec<Duration> = Vec::new();
    let mut resolved = 0;
    for _ in 0..15 {
        let start = Instant::now();
        let loaded = load(&files, "settings.yaml");
        let settings = loaded.valid().expect("generated settings are valid");
        load_times.push(start.elapsed());
        let resolver = Resolver::new(settings);
        resolved = 0;
        for index in 0..ACCOUNTS {
            let effective = resolver.account(&account_id(index), Some(&ou_id(index % OUS)));
            resolved += effective.account_tags.len();
        }
        times.push(start.elapsed());
    }
    times.sort();
    load_times.sort();
    println!(
        "validate + resolve {ACCOUNTS} accounts in {OUS} OUs + {ACCOUNTS} CSV rows ({} KB YAML, {} KB CSV, {resolved} effective tags): min {:.1} ms, median {:.1} ms (of which load and validate: median {:.1} ms); peak RSS of the benchmark process {} MB",
        yaml.len() / 1024,
        csv.len() / 1024,
        times[0].as_secs_f64() * 1000.0,
        times[times.len() / 2].as_secs_f64() * 1000.0,
        load_times[load_times.len() / 2].as_secs_f64() * 1000.0,
        peak_rss_kb().unwrap_or(0) / 1024,
    );
}
