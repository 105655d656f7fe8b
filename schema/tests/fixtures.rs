//! Data-driven fixtures: every folder under `tests/fixtures/valid` and `tests/fixtures/invalid`
//! is a settings repository. Adding a case is adding a folder; the expected output is an
//! insta snapshot (rendered diagnostics, or the resolved model).
//!
//! A `GENERATE` file lists `path size` lines: files too large to commit, made at test time.

use std::path::Path;

use spa_schema::diag::Style;
use spa_schema::explain::explain_text;
use spa_schema::{MemoryFiles, Resolver, load};

fn read_case(dir: &Path) -> MemoryFiles {
    let mut files = MemoryFiles::new();
    for entry in walk(dir) {
        let relative = entry
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = std::fs::read(&entry).unwrap();
        if relative == "GENERATE" {
            for line in String::from_utf8(bytes).unwrap().lines() {
                let (path, size) = line.split_once(' ').unwrap();
                let size: usize = size.trim().parse().unwrap();
                files = files.with(path, "Account\n".repeat(size / 8 + 1));
            }
        } else {
            files = files.with(&relative, bytes);
        }
    }
    files
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn case_dir(settings: &Path) -> &Path {
    settings.parent().unwrap()
}

#[test]
fn invalid_fixtures_report_located_errors() {
    insta::glob!("fixtures/invalid/*/settings.yaml", |path| {
        let loaded = load(&read_case(case_dir(path)), "settings.yaml");
        assert!(
            loaded.error_count() > 0,
            "{} should be invalid",
            path.display()
        );
        assert!(loaded.valid().is_none());
        let rendered = loaded.render(Style::Plain);
        insta::assert_snapshot!(rendered);
    });
}

fn resolved(loaded: &spa_schema::Loaded) -> String {
    let settings = loaded.valid().expect("valid settings");
    let resolver = Resolver::new(settings);
    let mut out = String::new();
    for ou in &settings.organizational_units {
        out.push_str(&explain_text(
            &resolver.organizational_unit(&ou.identifier.value),
        ));
        out.push('\n');
    }
    for account in settings.listed_accounts() {
        let parent = settings
            .organizational_units
            .first()
            .map(|ou| ou.identifier.value.as_str());
        out.push_str(&explain_text(&resolver.account(account, parent)));
        out.push('\n');
    }
    out
}

#[test]
fn valid_fixtures_resolve() {
    insta::glob!("fixtures/valid/*/settings.yaml", |path| {
        let loaded = load(&read_case(case_dir(path)), "settings.yaml");
        assert_eq!(loaded.error_count(), 0, "{}", loaded.render(Style::Plain));
        insta::assert_snapshot!(resolved(&loaded));
    });
}
