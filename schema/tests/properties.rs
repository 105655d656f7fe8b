//! Properties of resolution: the deepest level that sets a value wins.

use std::collections::BTreeMap;

use proptest::prelude::*;
use spa_schema::{Feature, MemoryFiles, Resolver, load};

const TAGS: [&str; 3] = ["team", "cost-center", "owner"];
const VARIABLES: [&str; 3] = ["BUDGET_NAME", "TAG_KEY", "EXTRA"];

/// What one level of the cascade sets; `None` means "says nothing".
#[derive(Debug, Clone)]
struct Layer {
    tags: [Option<u8>; 3],
    variables: [Option<u8>; 3],
    feature: Option<bool>,
}

fn layer() -> impl Strategy<Value = Layer> {
    (
        proptest::array::uniform3(proptest::option::of(0u8..4)),
        proptest::array::uniform3(proptest::option::of(0u8..4)),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(tags, variables, feature)| Layer {
            tags,
            variables,
            feature,
        })
}

fn yaml_item(out: &mut String, indent: &str, name: &str, layer: &Layer) {
    out.push_str(&format!("{indent}account_tags:\n"));
    for (i, tag) in TAGS.iter().enumerate() {
        if let Some(v) = layer.tags[i] {
            out.push_str(&format!("{indent}  {tag}: {name}-{v}\n"));
        }
    }
    out.push_str(&format!("{indent}preparation:\n"));
    if let Some(enabled) = layer.feature {
        let word = if enabled { "enabled" } else { "disabled" };
        out.push_str(&format!("{indent}  feature: {word}\n"));
    }
    out.push_str(&format!("{indent}  variables:\n"));
    for (i, variable) in VARIABLES.iter().enumerate() {
        if let Some(v) = layer.variables[i] {
            out.push_str(&format!("{indent}    {variable}: {name}-{v}\n"));
        }
    }
}

fn repository(levels: &[Layer; 4]) -> MemoryFiles {
    let mut yaml = String::from("defaults:\n");
    yaml_item(&mut yaml, "  ", "defaults", &levels[0]);
    yaml.push_str("organizational_units:\n  - identifier: ou-ab12-cdef3456\n");
    yaml_item(&mut yaml, "    ", "ou", &levels[1]);
    yaml.push_str("accounts:\n  - identifier: '123456789012'\n");
    yaml_item(&mut yaml, "    ", "account", &levels[2]);
    yaml.push_str("features:\n  with_csv_files: [rows.csv]\n");
    let mut header = vec!["Account".to_string()];
    let mut row = vec!["123456789012".to_string()];
    for (i, tag) in TAGS.iter().enumerate() {
        header.push(format!("Tag: {tag}"));
        row.push(
            levels[3].tags[i]
                .map(|v| format!("csv-{v}"))
                .unwrap_or_default(),
        );
    }
    for (i, variable) in VARIABLES.iter().enumerate() {
        header.push(format!("Preparation: {variable}"));
        row.push(
            levels[3].variables[i]
                .map(|v| format!("csv-{v}"))
                .unwrap_or_default(),
        );
    }
    let csv = format!("{}\n{}\n", header.join(","), row.join(","));
    MemoryFiles::new()
        .with("settings.yaml", yaml)
        .with("rows.csv", csv)
}

/// The expected value of each key: the last level (deepest) that sets it.
fn deepest(levels: &[Layer; 4], pick: impl Fn(&Layer) -> Option<u8>) -> Option<String> {
    let names = ["defaults", "ou", "account", "csv"];
    levels
        .iter()
        .zip(names)
        .filter_map(|(layer, name)| pick(layer).map(|v| format!("{name}-{v}")))
        .last()
}

proptest! {
    #[test]
    fn deepest_level_wins(levels in proptest::array::uniform4(layer())) {
        let files = repository(&levels);
        let loaded = load(&files, "settings.yaml");
        let settings = loaded.valid().expect("generated settings are valid");
        let effective = Resolver::new(settings).account("123456789012", Some("ou-ab12-cdef3456"));
        for (i, tag) in TAGS.iter().enumerate() {
            let got = effective.account_tags.get(*tag).map(|v| v.value.clone());
            prop_assert_eq!(got, deepest(&levels, |l| l.tags[i]), "tag {}", tag);
        }
        for (i, variable) in VARIABLES.iter().enumerate() {
            let got = effective.preparation.variables.get(*variable).map(|v| v.value.text.clone());
            prop_assert_eq!(got, deepest(&levels, |l| l.variables[i]), "variable {}", variable);
        }
        let feature = levels[..3].iter().rev().find_map(|l| l.feature).unwrap_or(false);
        let expected = if feature { Feature::Enabled } else { Feature::Disabled };
        prop_assert_eq!(*effective.preparation.feature.value, expected);
        // Provenance names the level that won.
        for value in effective.account_tags.values() {
            let span = value.origin.span.as_ref().expect("a written value has a place");
            let file = if value.value.starts_with("csv") { "rows.csv" } else { "settings.yaml" };
            prop_assert_eq!(span.file, file);
        }
    }
}

#[test]
fn unrelated_accounts_get_defaults_only() {
    let levels: [Layer; 4] = std::array::from_fn(|i| Layer {
        tags: [Some(i as u8), None, None],
        variables: [None; 3],
        feature: Some(true),
    });
    let files = repository(&levels);
    let loaded = load(&files, "settings.yaml");
    let effective = Resolver::new(loaded.valid().unwrap()).account("999999999999", None);
    let tags: BTreeMap<String, String> = effective
        .account_tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.value.clone()))
        .collect();
    assert_eq!(
        tags,
        BTreeMap::from([("team".to_string(), "defaults-0".to_string())])
    );
}
