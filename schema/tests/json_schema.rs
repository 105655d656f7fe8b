//! The committed JSON Schema stays in step with the code, and agrees with the decoder.

use std::collections::BTreeSet;

use spa_schema::decode::SECTIONS;
use spa_schema::json_schema::json_schema;

const COMMITTED: &str = "settings.schema.json";

fn path(relative: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

#[test]
fn committed_schema_is_up_to_date() {
    let generated = json_schema();
    let committed = std::fs::read_to_string(path(COMMITTED)).unwrap_or_default();
    if committed != generated {
        if std::env::var_os("SPA_UPDATE_SCHEMA").is_some() {
            std::fs::write(path(COMMITTED), &generated).unwrap();
        } else {
            panic!(
                "schema/{COMMITTED} is stale: run `SPA_UPDATE_SCHEMA=1 cargo test -p spa-schema --test json_schema` (or `spa schema > schema/{COMMITTED}`) and commit it"
            );
        }
    }
}

fn properties(schema: &serde_json::Value, definition: Option<&str>) -> BTreeSet<String> {
    let node = match definition {
        Some(name) => &schema["definitions"][name],
        None => schema,
    };
    node["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no properties for {definition:?}"))
        .keys()
        .cloned()
        .collect()
}

/// The schema and the decoder are written separately; this keeps them from drifting apart.
#[test]
fn schema_and_decoder_know_the_same_keys() {
    let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
    for (section, keys) in SECTIONS {
        let definition = match *section {
            "" => None,
            "automation" => Some("Automation"),
            "metering" => Some("Metering"),
            "worker" => Some("Worker"),
            "item" => Some("AccountItem"),
            "feature" => Some("Feature"),
            "features" => Some("Features"),
            "reporting" => Some("Reporting"),
            "service_control_policy" => Some("ServiceControlPolicy"),
            other => panic!("unmapped section {other}"),
        };
        let expected: BTreeSet<String> = keys.iter().map(|k| k.to_string()).collect();
        assert_eq!(
            properties(&schema, definition),
            expected,
            "section `{section}`"
        );
    }
}

fn yaml_as_json(relative: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(path(relative)).unwrap();
    let file = spa_schema::diag::intern(relative);
    let mut diagnostics = Vec::new();
    let node = spa_schema::yaml::parse(file, &text, &mut diagnostics).expect("YAML parses");
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    node.to_json()
}

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn example_settings_match_the_schema() {
    let validator = validator();
    let instance = yaml_as_json("../example-config-repo/settings.yaml");
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn schema_rejects_what_editors_should_flag() {
    let validator = validator();
    for (bad, why) in [
        (serde_json::json!({"acounts": []}), "unknown top-level key"),
        (
            serde_json::json!({"accounts": [{"identifier": "12345"}]}),
            "short account id",
        ),
        (
            serde_json::json!({"defaults": {"preparation": {"feature": "on"}}}),
            "feature must be enabled/disabled",
        ),
        (
            serde_json::json!({"features": {"with_arm_architecture": "yes"}}),
            "boolean",
        ),
        (
            serde_json::json!({"defaults": {"account_tags": {"a!": "x"}}}),
            "tag key characters",
        ),
        (
            serde_json::json!({"service_control_policies": [{"name": "Deny", "file": "deny.json", "states": ["expird"]}]}),
            "a state that does not exist",
        ),
        (
            serde_json::json!({"service_control_policies": [{"name": "Deny policy", "file": "deny.json"}]}),
            "a policy name with a space",
        ),
        (
            serde_json::json!({"worker": {"build_timeout_in_minutes": 481}}),
            "a timeout beyond CodeBuild's range",
        ),
        (
            serde_json::json!({"automation": {"parameter_tier": "intelligent"}}),
            "a tier strategy that does not exist",
        ),
        (
            serde_json::json!({"environment_identifier": "ssmProd"}),
            "a prefix SSM reserves",
        ),
        (
            serde_json::json!({"environment_identifier": "AWSProd"}),
            "a prefix SSM reserves, in any case",
        ),
    ] {
        assert!(!validator.is_valid(&bad), "schema should reject: {why}");
    }
}
