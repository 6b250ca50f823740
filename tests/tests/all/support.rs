//! Helpers shared by the cross-service tests.

use std::path::{Path, PathBuf};

use aws_lambda_events::eventbridge::EventBridgeEvent;
use events::{EventKey, EventSpec};
use serde_json::Value;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `git -C dir args…` in a scratch repository, with a throwaway identity
/// and no signing; its trimmed standard output. Fails the test on error.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

pub fn schemas_dir() -> PathBuf {
    root().join(xtask::folders::SCHEMAS_DIR)
}

pub fn examples_dir() -> PathBuf {
    root().join(xtask::folders::EXAMPLES_DIR)
}

/// The committed schema of a version, as a validator that checks formats.
pub fn validator(key: &EventKey) -> jsonschema::Validator {
    let path = schemas_dir().join(key.schema_file());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{key}: schema does not compile: {e}"))
}

/// Every problem the committed schema finds in `detail`, with its path.
pub fn violations(key: &EventKey, detail: &Value) -> Vec<String> {
    validator(key)
        .iter_errors(detail)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Committed example payloads (EventBridge `detail`s) of one version.
pub fn examples(spec: &EventSpec) -> Vec<(PathBuf, Value)> {
    let dir = examples_dir().join(xtask::folders::example_dir(spec));
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, value)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The event a bus rule's target receives for `detail`.
pub fn delivered(key: &EventKey, detail: Value) -> EventBridgeEvent<Value> {
    let mut event = EventBridgeEvent::<Value>::default();
    event.version = Some("0".into());
    event.id = Some("6a7e8feb-b491-4cf7-a9f1-bf3703467718".into());
    event.source = key.source.into();
    event.detail_type = key.detail_type.into();
    event.account = Some("123456789012".into());
    event.region = Some("us-east-1".into());
    event.time = Some("2026-11-22T10:00:00Z".parse().unwrap());
    event.resources = Some(Vec::new());
    event.detail = detail;
    event
}

/// base64url without padding (JWT segments), decoded.
pub fn base64url_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'-' | b'+' => 62,
            _ => 63,
        }
    };
    let mut out = Vec::new();
    for chunk in text.trim_end_matches('=').as_bytes().chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, c)| n | (value(*c) << (18 - 6 * i)));
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}
