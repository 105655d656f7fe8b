//! Benchmark: a full resync of 10,000 managed accounts that are converged (observation and
//! plan, no writes) against fakes that enforce the published quotas, on tokio's paused
//! clock; and the memory a controller holds for them (settings with a 10,000-row CSV file,
//! the observation, the desired state, the plan, the life cycle's accounts). Run it with
//! `cargo bench -p spa-controller --bench resync_10k` (docs/benchmarks.md).

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use spa_controller::apply::{ApplyOptions, Scope, apply};
use spa_controller::aws::fake::{self, Behaviour, FakeOrganizations, FakeParameters};
use spa_controller::aws::{Limiters, system_clock};
use spa_controller::desired::desired;
use spa_controller::lifecycle::engine::{Engine, EngineOptions, accounts_from};
use spa_controller::observe::observe;
use spa_controller::plan::plan;
use spa_schema::{MemoryFiles, load};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

// Counts live heap bytes, so that what the resync's structures hold is measured exactly,
// whatever the allocator keeps in its pools.
#[global_allocator]
static ALLOCATOR: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

mod common;
use common::memory;

fn main() {
    let (base, _) = memory();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let organizations = Arc::new(FakeOrganizations::new(Behaviour::with_quotas()));
        let root = organizations.root_id();
        let mut yaml = String::from(
            "environment_identifier: SpaScale\nautomation:\n  parameter_tier: intelligent-tiering\ndefaults:\n  account_tags:\n    cost-center: CC-2027\norganizational_units:\n",
        );
        let mut csv = String::from("Account,Note,Tag: team\n");
        for unit in 0..100 {
            let ou = format!("ou-scal-unit{unit:04}");
            organizations.add_unit(&ou, "unit", &root);
            let _ = writeln!(yaml, "  - identifier: {ou}");
            for index in 0..100 {
                let id = format!("{:012}", 400_000_000_000usize + unit * 100 + index);
                organizations.add_account(
                    &id,
                    &format!("person-{unit}-{index}"),
                    &ou,
                    &[
                        ("account-state", "released"),
                        ("account-holder", "p@example.com"),
                    ],
                );
                let _ = writeln!(csv, "{id},sandbox of person {unit}-{index},team-{unit}");
            }
        }
        yaml.push_str("features:\n  with_csv_files: [accounts.csv]\n");
        let loaded = load(
            &MemoryFiles::new()
                .with("settings.yaml", yaml.as_str())
                .with("accounts.csv", csv.as_str()),
            "settings.yaml",
        );
        let settings = loaded.valid().expect("valid settings").clone();
        let parameters = Arc::new(FakeParameters::new(Behaviour::with_quotas()));
        let aws = fake::aws(organizations.clone(), parameters.clone());

        // Converge first (tags and 10,100 parameters), then measure a full resync.
        let observed = observe(&aws, &settings).await;
        let first = plan(&desired(&settings, &observed, None), &observed);
        let scope = Scope::new("SpaScale", &observed);
        let options = ApplyOptions {
            allow_destructive: true,
            concurrency: 16,
        };
        let report = apply(&aws, &first, &scope, options, &|_, _| {})
            .await
            .expect("applied");
        assert_eq!(report.failed, 0);
        drop((observed, first));

        let region = Region::new(ALLOCATOR);
        let calls_before = aws.calls().snapshot().values().sum::<u64>();
        let virtual_start = tokio::time::Instant::now();
        let wall = Instant::now();
        let observed = observe(&aws, &settings).await;
        let observed_after = virtual_start.elapsed();
        let plan_wall = Instant::now();
        let wanted = desired(&settings, &observed, Some("c0ffee"));
        let resynced = plan(&wanted, &observed);
        let plan_seconds = plan_wall.elapsed().as_secs_f64();
        let virtual_seconds = virtual_start.elapsed().as_secs_f64();
        let wall_seconds = wall.elapsed().as_secs_f64();
        let calls = aws.calls().snapshot().values().sum::<u64>() - calls_before;
        assert!(observed.complete, "{:?}", observed.errors);
        assert!(resynced.no_changes, "{:?}", resynced.summary);

        // What a controller keeps between reconciles: settings, observation, plan, and the
        // life cycle's view of every account.
        let engine = Engine::new(
            aws.clone(),
            system_clock(),
            EngineOptions::default(),
            Arc::new(settings.clone()),
        );
        engine.set_accounts(accounts_from(&observed));
        let (rss, peak) = memory();
        let change = region.change();
        // Reallocations are already in both totals.
        let held =
            (change.bytes_allocated as f64 - change.bytes_deallocated as f64) / (1024.0 * 1024.0);
        println!(
            "full resync of {} accounts, converged: observation {:.1} s of virtual time ({:.1} min), plan {:.3} s, {calls} AWS calls, 0 writes; wall time {wall_seconds:.1} s",
            observed.accounts.len(),
            observed_after.as_secs_f64(),
            virtual_seconds / 60.0,
            plan_seconds,
        );
        println!(
            "memory: the resync's observation, desired state, plan and the life cycle's accounts hold {held:.1} MiB of heap; the process is {rss:.1} MiB resident (peak {peak:.1} MiB; {base:.1} MiB at start), which includes the settings and the fakes' own copy of the organization and parameters"
        );
        let _keep = (settings, observed, wanted, resynced, engine, Limiters::default());
    });
}
