//! Benchmark: desired state and plan for 10,000 accounts in 100 OUs, in memory.
//! `cargo bench -p spa-controller --bench plan` (docs/benchmarks.md).

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use spa_controller::desired::desired;
use spa_controller::observe::{Observation, ObservedAccount, ObservedParameter, ObservedUnit};
use spa_controller::plan::plan;
use spa_schema::{MemoryFiles, load};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut yaml = String::from(
        "environment_identifier: SpaBench\ndefaults:\n  account_tags:\n    managed-by: spa\n  unset_tags: [obsolete]\norganizational_units:\n",
    );
    let mut csv = String::from("Account,Tag: cost-center,Preparation: BUDGET_AMOUNT\n");
    let mut units = BTreeMap::new();
    let mut accounts = BTreeMap::new();
    for unit in 0..100 {
        let ou = format!("ou-bnch-{unit:08}");
        let _ = writeln!(
            yaml,
            "  - identifier: {ou}\n    account_tags:\n      team: team-{unit}\n    purge:\n      feature: enabled"
        );
        let mut ids = Vec::new();
        for index in 0..100 {
            let id = format!("{:012}", 500_000_000_000usize + unit * 100 + index);
            let _ = writeln!(csv, "{id},CC-{},{}", index % 7, 100 + index);
            // Half the accounts already converged, half drifting on one tag.
            let mut tags: BTreeMap<String, String> = [
                ("managed-by", "spa"),
                ("account-state", "released"),
                ("account-holder", "someone@example.com"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
            tags.insert(
                "team".into(),
                if index % 2 == 0 {
                    format!("team-{unit}")
                } else {
                    "old".into()
                },
            );
            tags.insert("cost-center".into(), format!("CC-{}", index % 7));
            accounts.insert(
                id.clone(),
                ObservedAccount {
                    id: id.clone(),
                    name: format!("person {id}"),
                    email: format!("{id}@example.com"),
                    status: "ACTIVE".into(),
                    parent: Some(ou.clone()),
                    listed: true,
                    tags: Some(tags),
                },
            );
            ids.push(id);
        }
        units.insert(
            ou.clone(),
            ObservedUnit {
                id: ou.clone(),
                name: format!("unit {unit}"),
                accounts: ids,
            },
        );
    }
    yaml.push_str("features:\n  with_csv_files: [finops.csv]\n");
    let loaded = load(
        &MemoryFiles::new()
            .with("settings.yaml", yaml)
            .with("finops.csv", csv),
        "settings.yaml",
    );
    let settings = loaded.valid().expect("valid settings");
    let mut observation = Observation {
        environment: "SpaBench".into(),
        root_id: Some("r-bnch".into()),
        organizational_units: units,
        accounts,
        parameters: BTreeMap::new(),
        parameter_usage: None,
        policies: Default::default(),
        dashboard: None,
        exceptions_topic: None,
        missing_organizational_units: Vec::new(),
        missing_accounts: Vec::new(),
        errors: Vec::new(),
        complete: true,
        fingerprint: String::new(),
    }
    .fingerprinted();
    // Parameters as a previous apply wrote them, for the converged half of the comparison.
    let first = desired(settings, &observation, None);
    for (name, parameter) in first.parameters.iter().step_by(2) {
        observation.parameters.insert(
            name.clone(),
            ObservedParameter {
                value: parameter.value.clone(),
                version: 1,
                tier: None,
            },
        );
    }
    let mut times: Vec<Duration> = Vec::new();
    let mut summary = None;
    for _ in 0..15 {
        let start = Instant::now();
        let wanted = desired(
            settings,
            &observation,
            Some("0123456789abcdef0123456789abcdef01234567"),
        );
        let computed = plan(&wanted, &observation);
        times.push(start.elapsed());
        summary = Some(computed.summary);
    }
    times.sort();
    println!(
        "desired + plan for 10,000 accounts in 100 OUs ({:?}): min {:.1} ms, median {:.1} ms",
        summary.unwrap_or_default(),
        times[0].as_secs_f64() * 1000.0,
        times[times.len() / 2].as_secs_f64() * 1000.0
    );
}
