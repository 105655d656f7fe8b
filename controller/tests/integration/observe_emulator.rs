//! Observation through the real AWS SDK against the local emulator: what is read, how many
//! calls it takes, and what is never touched.

use std::collections::BTreeMap;
use std::sync::Arc;

use spa_controller::aws::sdk::{AwsOptions, connect, sdk_config};
use spa_controller::aws::seed::{AccountSpec, OrganizationSpec, UnitSpec, seed};
use spa_controller::aws::{Limiters, api};
use spa_controller::observe::observe;
use spa_tests::Emulator;

use crate::common::settings_yaml;

fn account(name: &str, tags: &[(&str, &str)]) -> AccountSpec {
    AccountSpec {
        name: name.to_string(),
        email: format!("{name}@example.com"),
        id: None,
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn unit(name: &str, accounts: Vec<AccountSpec>) -> UnitSpec {
    UnitSpec {
        name: name.to_string(),
        id: None,
        accounts,
        organizational_units: Vec::new(),
    }
}

fn organization(units: Vec<UnitSpec>, root_accounts: Vec<AccountSpec>) -> OrganizationSpec {
    OrganizationSpec {
        seed: 7,
        management_account: "111111111111".to_string(),
        management_role: "SpaAccountsManagementRole".to_string(),
        member_role: "AWSControlTowerExecution".to_string(),
        accounts: root_accounts,
        organizational_units: units,
    }
}

fn options(emulator: &Emulator) -> AwsOptions {
    AwsOptions {
        management_role_arn: Some(
            "arn:aws:iam::111111111111:role/SpaAccountsManagementRole".to_string(),
        ),
        ..AwsOptions::emulator(&emulator.endpoint)
    }
}

async fn put_parameters(emulator: &Emulator, names: &[String]) {
    let config = sdk_config(&AwsOptions::emulator(&emulator.endpoint)).await;
    let ssm = aws_sdk_ssm::Client::new(&config);
    for name in names {
        ssm.put_parameter()
            .name(name)
            .value("{}")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observation_reads_exactly_what_settings_manage() {
    let emulator = Emulator::start();
    let data: Vec<AccountSpec> = (0..12)
        .map(|i| account(&format!("data-{i}"), &[("account-state", "released")]))
        .collect();
    let training: Vec<AccountSpec> = (0..5)
        .map(|i| account(&format!("training-{i}"), &[]))
        .collect();
    let production: Vec<AccountSpec> = (0..6)
        .map(|i| account(&format!("prod-{i}"), &[("environment", "production")]))
        .collect();
    let spec = organization(
        vec![
            unit("Data", data),
            unit("Training", training),
            unit("Production", production),
        ],
        vec![
            account("standalone", &[("team", "x")]),
            account("other-root", &[]),
        ],
    );
    let seeded = seed(&options(&emulator), spec).await.unwrap();
    let ou = |name: &str| {
        seeded
            .organizational_units
            .iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1
            .clone()
    };
    let id = |name: &str| {
        seeded
            .accounts
            .iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1
            .clone()
    };

    let mut parameters: Vec<String> = (0..25)
        .map(|i| format!("/SpaTest/Accounts/{i:012}"))
        .collect();
    parameters.push("/SpaTest/OrganizationalUnits/x".to_string());
    put_parameters(&emulator, &parameters).await;
    put_parameters(
        &emulator,
        &["/Other/Accounts/1".to_string(), "/SpaTestX/a".to_string()],
    )
    .await;

    // Two listed OUs (12 and 5 accounts), one listed account at the root, one listed
    // account that does not exist, one listed OU that does not exist.
    let yaml = format!(
        "environment_identifier: SpaTest
automation:
  role_arn_to_manage_accounts: arn:aws:iam::111111111111:role/SpaAccountsManagementRole
organizational_units:
  - identifier: {}
  - identifier: {}
  - identifier: ou-zzzz-doesnotexist
accounts:
  - identifier: '{}'
  - identifier: '999999999999'
  - identifier: '{}'
",
        ou("Data"),
        ou("Training"),
        id("standalone"),
        id("data-3"),
    );
    let settings = settings_yaml(&yaml);
    let aws = connect(&options(&emulator), Arc::new(Limiters::default())).await;
    let observation = observe(&aws, &settings).await;

    assert!(observation.complete, "{:#?}", observation.errors);
    assert_eq!(observation.accounts.len(), 12 + 5 + 1, "managed accounts");
    assert_eq!(
        observation.missing_accounts,
        vec!["999999999999".to_string()]
    );
    assert_eq!(
        observation.missing_organizational_units,
        vec!["ou-zzzz-doesnotexist".to_string()]
    );
    assert_eq!(
        observation.parameters.len(),
        26,
        "only parameters under /SpaTest/"
    );
    let standalone = &observation.accounts[&id("standalone")];
    assert_eq!(standalone.parent, None);
    assert_eq!(standalone.tags.as_ref().unwrap()["team"], "x");
    let data3 = &observation.accounts[&id("data-3")];
    assert_eq!(data3.parent, Some(ou("Data")));
    assert!(data3.listed);
    assert_eq!(
        data3.tags.as_ref().unwrap(),
        &BTreeMap::from([("account-state".to_string(), "released".to_string())])
    );
    for name in ["prod-0", "other-root"] {
        assert!(
            !observation.accounts.contains_key(&id(name)),
            "{name} is not managed"
        );
    }

    // k listed OUs (3, one missing) + 1 ListRoots + ⌈12/20⌉ + ⌈5/20⌉ pages, one tag read per
    // managed account, ⌈26/10⌉ parameter pages, DescribeAccount only for the listed
    // accounts found under no listed OU, and the SCPs listed once.
    let calls = aws.calls();
    assert_eq!(calls.count(api::LIST_ROOTS, "ok"), 1);
    assert_eq!(calls.calls(api::DESCRIBE_ORGANIZATIONAL_UNIT), 3);
    assert_eq!(calls.calls(api::LIST_ACCOUNTS_FOR_PARENT), 2);
    assert_eq!(calls.calls(api::LIST_TAGS_FOR_RESOURCE), 18);
    assert_eq!(
        calls.calls(api::DESCRIBE_ACCOUNT),
        2,
        "standalone and the missing one"
    );
    assert_eq!(calls.calls(api::GET_PARAMETERS_BY_PATH), 3);
    // The names and tiers of the account's parameters, 28 of them (two of other tools): the
    // emulator answers 10 a page where AWS answers the 50 asked for.
    assert_eq!(calls.calls(api::DESCRIBE_PARAMETERS), 3);
    assert_eq!(calls.calls(api::LIST_PARENTS), 0, "never per account");
    // One ListPolicies page: no SCP is named like spa's, so none is read further.
    assert_eq!(calls.calls(api::LIST_POLICIES), 1);
    // And the dashboard, once.
    assert_eq!(calls.calls(api::GET_DASHBOARD), 1);
    assert_eq!(calls.total(), 1 + 3 + 2 + 18 + 2 + 3 + 1 + 3 + 1);

    assert_eq!(
        observation.parameter_usage.map(|u| u.standard_elsewhere),
        Some(2),
        "the quota counts the parameters of other tools"
    );

    // The fingerprint is a function of what was observed.
    let again = observe(&aws, &settings).await;
    assert_eq!(again.fingerprint, observation.fingerprint);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = AwsOptions::emulator(&format!("http://127.0.0.1:{port}"));
    let aws = connect(&options, Arc::new(Limiters::default())).await;
    let observation = observe(
        &aws,
        &settings_yaml("organizational_units:\n  - identifier: ou-ab12-cdef3456\n"),
    )
    .await;
    assert!(!observation.complete);
    let message = &observation.errors[0].message;
    assert!(message.contains("is the endpoint reachable"), "{message}");
    assert_eq!(
        observation.errors[0].kind,
        spa_controller::aws::ErrorKind::Unreachable
    );
}
