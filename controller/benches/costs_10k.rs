//! Benchmark: the monthly cost report of an organization of 10,000 accounts × 40 services ×
//! 3 record types (usage, tax, credit), against fakes that enforce the published quotas on
//! tokio's paused clock: Cost Explorer requests (and their price), Organizations calls, time
//! (virtual, for what the quotas bound; real, for the work), memory, and the size of each
//! file. 9,500 accounts are known from the records' shadows, 500 are looked up in
//! Organizations. Run it with `cargo bench -p spa-controller --bench costs_10k`
//! (docs/benchmarks.md).

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::collections::BTreeMap;
use std::time::Instant;

use spa_controller::aws::fake::{Behaviour, FakeMember, Fakes, LineItem};
use spa_controller::costs::report::{self, CostSettings};
use spa_controller::records::{Shadow, Tables, to_item};
use spa_controller::reports::activities::Month;
use spa_schema::{MemoryFiles, load};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const ACCOUNTS: usize = 10_000;
const SERVICES: usize = 40;
const UNITS: usize = 50;
const CENTERS: usize = 200;
const UNMANAGED: usize = 500;

mod common;
use common::memory;

fn main() {
    let settings = load(
        &MemoryFiles::new().with(
            "settings.yaml",
            "environment_identifier: SpaScale\nfeatures:\n  with_cost_management_tag: cost-center\n",
        ),
        "settings.yaml",
    )
    .valid()
    .expect("valid settings")
    .clone();
    let fakes = Fakes::new(Behaviour::with_quotas, FakeMember::default);
    let root = fakes.organizations.root_id();
    let tables = Tables::of(&settings);
    fakes.records.create_table(&tables.shadows, &["account"]);
    let mut items = Vec::with_capacity(ACCOUNTS * SERVICES * 3);
    for unit in 0..UNITS {
        fakes.organizations.add_unit(
            &format!("ou-scal-unit{unit:04}"),
            &format!("unit {unit}"),
            &root,
        );
    }
    for index in 0..ACCOUNTS {
        let account = format!("{:012}", 400_000_000_000usize + index);
        let unit = index % UNITS;
        let center = format!("CC-{:03}", index % CENTERS);
        fakes.organizations.add_account(
            &account,
            &format!("person-{index}"),
            &format!("ou-scal-unit{unit:04}"),
            &[("cost-center", center.as_str())],
        );
        if index >= UNMANAGED {
            let shadow = Shadow {
                account: account.clone(),
                name: format!("person-{index}"),
                organizational_unit_name: Some(format!("unit {unit}")),
                tags: [("cost-center".to_string(), center)].into(),
                ..Shadow::default()
            };
            fakes.records.insert(&tables.shadows, to_item(&shadow));
        }
        for service in 0..SERVICES {
            for (record, amount) in [
                ("Usage", format!("{}.{:04}", index % 97, service * 13)),
                ("Tax", format!("0.{:04}", service + 1)),
                ("Credit", "-0.5".to_string()),
            ] {
                items.push(LineItem {
                    day: "2026-11-15".into(),
                    account: account.clone(),
                    service: format!("Service {service:02}"),
                    usage_type: format!("EU-Service{service:02}-Usage"),
                    record_type: record.into(),
                    amount,
                });
            }
        }
    }
    fakes.costs.extend(items);
    let costs = CostSettings::of(&settings);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime");
    let (rss_before, _) = memory();
    let region = Region::new(ALLOCATOR);
    let wall = Instant::now();
    let (made, virtual_time) = runtime.block_on(async {
        let aws = fakes.aws();
        let started = tokio::time::Instant::now();
        let made = report::make(
            &aws,
            &reqwest::Client::new(),
            &costs,
            Month {
                year: 2026,
                month: 11,
            },
            "2026-12-14",
        )
        .await
        .expect("the report");
        (made, started.elapsed())
    });
    let wall = wall.elapsed();
    let allocated = region.change().bytes_allocated as f64 / 1024.0 / 1024.0;
    let (rss, peak) = memory();
    let served = &fakes.costs.behaviour.served;
    let requests = served.calls("GetCostAndUsage");
    let organizations = fakes.organizations.behaviour.served.snapshot();
    let org_calls: u64 = organizations.values().sum();
    let mut sizes: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for file in &made.files {
        let kind = if file.key.contains("/Summary/") {
            if file.key.contains("charges") {
                "summary of charges"
            } else {
                "summary of services"
            }
        } else if file.key.contains("-usages.") {
            "usages of a cost center"
        } else {
            "services of a cost center"
        };
        let entry = sizes.entry(kind).or_default();
        entry.0 += 1;
        if file.key.ends_with(".csv") {
            entry.1 = entry.1.max(file.bytes.len());
        } else {
            entry.2 = entry.2.max(file.bytes.len());
        }
    }
    let total: usize = made.files.iter().map(|f| f.bytes.len()).sum();
    println!(
        "costs of a month: {ACCOUNTS} accounts × {SERVICES} services × 3 record types ({} line items), {UNITS} units, {CENTERS} cost centers",
        ACCOUNTS * SERVICES * 3
    );
    println!(
        "Cost Explorer: {requests} requests (${:.2}) at 1,000 groups a page; Organizations: {org_calls} calls ({UNMANAGED} accounts not in the records)",
        requests as f64 * 0.01
    );
    println!(
        "time: {:.1} s virtual (quota-bound calls), {:.2} s real (the work, the fakes included)",
        virtual_time.as_secs_f64(),
        wall.as_secs_f64()
    );
    println!(
        "memory: {allocated:.0} MiB allocated during the run; resident {rss_before:.0} → {rss:.0} MiB (peak {peak:.0} MiB, the fakes' 1.2 million line items included)"
    );
    println!(
        "files: {} ({:.1} MiB in all)",
        made.files.len(),
        total as f64 / 1024.0 / 1024.0
    );
    for (kind, (count, csv, xlsx)) in sizes {
        println!(
            "  {kind}: {count} files, largest CSV {:.1} KiB, largest workbook {:.1} KiB",
            csv as f64 / 1024.0,
            xlsx as f64 / 1024.0
        );
    }
    assert_eq!(made.accounts, ACCOUNTS);
    assert_eq!(made.cost_centers, CENTERS);
}
