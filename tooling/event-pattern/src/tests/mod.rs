//! The language as the user guide and the engine define it: what matches
//! (`matching`), what is refused (`validation`), and the entry points.

use super::*;
use serde_json::json;

fn check(pattern: Value, event: Value) -> bool {
    Pattern::parse(&pattern)
        .expect("a valid pattern")
        .matches(&event)
}

fn error(pattern: Value) -> String {
    Pattern::parse(&pattern)
        .expect_err("an invalid pattern")
        .to_string()
}

/// Asserts each pattern is rejected with a message containing `needle`.
fn rejects(patterns: &[Value], needle: &str) {
    for pattern in patterns {
        let message = error(pattern.clone());
        assert!(
            message.contains(needle),
            "{pattern}: {message:?} lacks {needle:?}"
        );
    }
}

mod matching;
mod recorded;
mod validation;

// ----------------------------------------------------------- entry points

#[test]
fn the_convenience_matcher_refuses_invalid_patterns() {
    let event = json!({"source": "aws.ec2"});
    assert!(matches(&json!({"source": ["aws.ec2"]}), &event));
    assert!(!matches(&json!({"source": ["aws.s3"]}), &event));
    assert!(!matches(&json!({"source": "aws.ec2"}), &event));
    assert!(!matches(
        &json!({"source": [{"exists": false}], "x": []}),
        &json!({})
    ));
}

#[test]
fn patterns_parse_from_text() {
    let pattern =
        Pattern::from_str(r#"{"detail": {"amount": [{"numeric": [">", 10]}]}}"#).expect("valid");
    assert!(pattern.matches(&json!({"detail": {"amount": 11}})));
    assert!(!pattern.matches(&json!({"detail": {"amount": 10}})));
    let parsed: Pattern = r#"{"a": ["b"]}"#.parse().expect("valid");
    assert!(parsed.matches(&json!({"a": "b"})));
    let broken = Pattern::from_str("{").expect_err("not JSON");
    assert!(broken.path().is_none());
    assert_eq!(broken.path(), None);
}
