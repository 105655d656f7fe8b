//! docs/settings.md lists what the code knows.

use spa_schema::IGNORED_KEYS;

fn settings_doc() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/settings.md");
    std::fs::read_to_string(path).unwrap()
}

/// Every key of `IGNORED_KEYS` is in the table "Keys spa accepts but does not use yet".
#[test]
fn every_ignored_key_is_documented() {
    let doc = settings_doc();
    let section = doc
        .split("## Keys spa accepts but does not use yet")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the section exists");
    for (path, _) in IGNORED_KEYS {
        assert!(
            section.contains(&format!("| `{path}` |")),
            "`{path}` is missing from \"Keys spa accepts but does not use yet\" in docs/settings.md"
        );
    }
}
