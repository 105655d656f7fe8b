//! Benchmark: observe 1,000 managed accounts in 10 OUs, plus 1,000 parameters, on the local
//! emulator through the real SDK. `cargo bench -p spa-controller --bench observe_emulator`.
//! Prints the calls made and the wall time (docs/benchmarks.md).

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use spa_controller::aws::sdk::{AwsOptions, connect, sdk_config};
use spa_controller::aws::seed::{AccountSpec, OrganizationSpec, UnitSpec, seed};
use spa_controller::aws::{Family, Limiters, Quota};
use spa_controller::observe::observe;
use spa_schema::{MemoryFiles, load};
use spa_tests::Emulator;

const UNITS: usize = 10;
const PER_UNIT: usize = 100;

#[tokio::main]
async fn main() {
    let emulator = Emulator::start();
    let options = AwsOptions {
        management_role_arn: Some(
            "arn:aws:iam::111111111111:role/SpaAccountsManagementRole".into(),
        ),
        ..AwsOptions::emulator(&emulator.endpoint)
    };
    let units = (0..UNITS)
        .map(|u| UnitSpec {
            name: format!("unit-{u}"),
            id: None,
            accounts: (0..PER_UNIT)
                .map(|a| AccountSpec {
                    name: format!("person-{u}-{a}"),
                    email: format!("person-{u}-{a}@example.com"),
                    id: None,
                    tags: [("account-state".to_string(), "released".to_string())].into(),
                })
                .collect(),
            organizational_units: Vec::new(),
        })
        .collect();
    let spec = OrganizationSpec {
        seed: 1,
        management_account: "111111111111".into(),
        management_role: "SpaAccountsManagementRole".into(),
        member_role: "AWSControlTowerExecution".into(),
        accounts: Vec::new(),
        organizational_units: units,
    };
    let start = Instant::now();
    let seeded = seed(&options, spec).await.expect("seed");
    println!(
        "seeded {} accounts in {:.1} s",
        seeded.accounts.len(),
        start.elapsed().as_secs_f64()
    );

    let ssm =
        aws_sdk_ssm::Client::new(&sdk_config(&AwsOptions::emulator(&emulator.endpoint)).await);
    for (_, id) in &seeded.accounts {
        ssm.put_parameter()
            .name(format!("/SpaBench/Accounts/{id}"))
            .value("{}")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await
            .expect("put parameter");
    }

    let mut yaml = String::from(
        "environment_identifier: SpaBench\nautomation:\n  role_arn_to_manage_accounts: arn:aws:iam::111111111111:role/SpaAccountsManagementRole\norganizational_units:\n",
    );
    for (_, id) in &seeded.organizational_units {
        let _ = writeln!(yaml, "  - identifier: {id}");
    }
    let loaded = load(
        &MemoryFiles::new().with("settings.yaml", yaml),
        "settings.yaml",
    );
    let settings = loaded.valid().expect("valid settings");
    // First with the published quotas (what AWS would allow), then with the limits lifted
    // (what the emulator itself costs).
    let lifted: std::collections::BTreeMap<Family, Quota> = Family::ALL
        .iter()
        .map(|f| (*f, Quota::new(100_000.0, 100_000.0)))
        .collect();
    for (round, limiters) in [
        ("published quotas", Limiters::default()),
        ("limits lifted", Limiters::new(&lifted)),
    ] {
        let aws = connect(&options, Arc::new(limiters)).await;
        let start = Instant::now();
        let observation = observe(&aws, settings).await;
        let elapsed = start.elapsed().as_secs_f64();
        assert!(observation.complete, "{:?}", observation.errors);
        println!(
            "{round}: observed {} accounts and {} parameters in {elapsed:.2} s with {} calls: {}",
            observation.accounts.len(),
            observation.parameters.len(),
            aws.calls().total(),
            aws.calls().to_json()
        );
    }
}
