//! The policy checker reads files of the repository: no input may make it panic, and what it
//! accepts as JSON it minifies faithfully.

use proptest::prelude::*;
use spa_schema::diag::{Diagnostic, Span, intern};
use spa_schema::policy::{Context, check_document};

fn check(text: &str) -> (Option<String>, Vec<Diagnostic>) {
    let settings = intern("settings.yaml");
    let context = Context {
        name: "Fuzzed",
        written: Span::point(settings, 3, 11),
        named: Span::point(settings, 2, 11),
        member_role: "AWSControlTowerExecution",
    };
    let mut diagnostics = Vec::new();
    let minified = check_document(intern("fuzzed.json"), text, &context, &mut diagnostics);
    (minified, diagnostics)
}

/// Words of the SCP grammar, and some that are almost.
const WORDS: &[&str] = &[
    "Version",
    "2012-10-17",
    "2008-10-17",
    "Statement",
    "Sid",
    "Effect",
    "Allow",
    "Deny",
    "deny",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "Principal",
    "*",
    "iam:*",
    "sts:AssumeRole",
    "codebuild:Start*",
    "s3:?etObject",
    "ec2",
    "arn:aws:s3:::b/*",
    "ArnNotLike",
    "StringNotEquals",
    "StringLikeIfExists",
    "ForAnyValue:StringLike",
    "Null",
    "aws:PrincipalArn",
    "arn:aws:iam::*:role/AWSControlTowerExecution",
    "arn:aws:iam::*:root",
    "",
    "é",
    "\t",
    "\\",
    "\"",
];

fn json() -> impl Strategy<Value = serde_json::Value> {
    let word = prop_oneof![
        proptest::sample::select(WORDS).prop_map(str::to_string),
        ".{0,6}",
    ];
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i32>().prop_map(|n| serde_json::json!(n)),
        (-1e6f64..1e6).prop_map(|n| serde_json::json!(n)),
        word.clone().prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
            proptest::collection::vec((word.clone(), inner), 0..6)
                .prop_map(|entries| serde_json::Value::Object(entries.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn no_text_makes_the_checker_panic(text in r#"[{}\[\]",:0-9a-zA-Z*?é \n\t\r\\-]{0,300}"#) {
        let _ = check(&text);
    }

    #[test]
    fn json_is_minified_faithfully_and_located_in_the_file(value in json(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&value).unwrap()
        } else {
            serde_json::to_string(&value).unwrap()
        };
        let (minified, diagnostics) = check(&text);
        let minified = minified.expect("JSON is accepted as JSON");
        let again: serde_json::Value = serde_json::from_str(&minified).unwrap();
        prop_assert_eq!(again, value);
        prop_assert!(!minified.contains('\n'));
        let lines = text.lines().count().max(1);
        for diagnostic in &diagnostics {
            prop_assert!(diagnostic.code != "policy-syntax");
            if diagnostic.span.file == "fuzzed.json" {
                prop_assert!((diagnostic.span.line as usize) <= lines, "{:?}", diagnostic);
            }
        }
    }

    /// Well-formed policies of random statements: every diagnostic is about the grammar,
    /// never a crash, and statements that spare spa's role never warn of a lock-out.
    #[test]
    fn statements_that_spare_spa_never_lock_it_out(
        actions in proptest::collection::vec(proptest::sample::select(WORDS), 1..4),
        negated in any::<bool>(),
    ) {
        let key = if negated { "NotAction" } else { "Action" };
        let value = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Deny",
                key: actions,
                "Resource": "*",
                "Condition": {"ArnNotLike": {"aws:PrincipalArn": [
                    "arn:aws:iam::*:role/AWSControlTowerExecution",
                    "arn:aws:iam::*:role/SpaCodeBuildServiceRole"
                ]}}
            }]
        });
        let (_, diagnostics) = check(&serde_json::to_string_pretty(&value).unwrap());
        prop_assert!(diagnostics.iter().all(|d| d.code == "invalid-policy"), "{:?}", diagnostics);
    }
}
