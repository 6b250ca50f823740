//! `cargo xtask schemas diff` as other tools call it: exit 0 when compatible,
//! 1 when breaking, 2 on bad input; `--json` prints one object per finding.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn diff(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["schemas", "diff"])
        .args(args)
        .output()
        .unwrap()
}

fn schema(value: Value) -> String {
    value.to_string()
}

#[test]
fn exit_codes_and_output_say_compatible_breaking_or_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let old = write(
        d,
        "old.json",
        &schema(json!({
            "type": "object",
            "properties": {"kind": {"enum": ["a", "b"]}, "note": {"type": "string"}},
            "required": ["kind"]
        })),
    );
    let added_value = write(
        d,
        "new.json",
        &schema(json!({
            "type": "object",
            "properties": {"kind": {"enum": ["a", "b", "c"]}, "note": {"type": "string"}, "more": {"type": "integer"}},
            "required": ["kind"]
        })),
    );

    // Default FULL + LENIENT: the new enum value breaks old readers only.
    let out = diff(&[old.as_os_str(), added_value.as_os_str()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("$.kind [forward] enum:"), "{text}");
    assert!(text.contains("#[serde(other)]"), "{text}");
    assert!(
        text.ends_with("breaking: 1 finding(s) (FULL, LENIENT)\n"),
        "{text}"
    );

    // BACKWARD alone is compatible.
    let out = diff(&[
        old.as_os_str(),
        added_value.as_os_str(),
        "--mode".as_ref(),
        "backward".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "compatible (BACKWARD, LENIENT)\n"
    );

    // STRICT also counts the new optional property against the open object.
    let out = diff(&[
        old.as_os_str(),
        added_value.as_os_str(),
        "--mode".as_ref(),
        "backward".as_ref(),
        "--policy".as_ref(),
        "strict".as_ref(),
        "--json".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty());
    for line in &lines {
        assert_eq!(line["path"], "$.more", "{line}");
        assert_eq!(line["direction"], "backward");
        assert_eq!(line["rule"], "type");
        assert!(line["reason"].as_str().unwrap().contains("old events"));
    }

    // Bad input: exit 2 with the reason on stderr, nothing on stdout.
    let not_json = write(d, "bad.json", "{ nope");
    let dangling = write(d, "ref.json", &schema(json!({"$ref": "#/$defs/Gone"})));
    let missing = d.join("absent.json");
    for (new, says) in [
        (&not_json, "is not JSON"),
        (&dangling, "unresolvable $ref `#/$defs/Gone`"),
        (&missing, "reading"),
    ] {
        let out = diff(&[old.as_os_str(), new.as_os_str()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(says), "{err}");
        assert!(out.stdout.is_empty());
    }
    let array = write(d, "array.json", "[1, 2]");
    let out = diff(&[array.as_os_str(), old.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("neither an object nor a boolean"));
}

#[test]
fn a_reader_that_goes_away_ends_it_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(dir.path(), "old.json", r#"{"type": "object"}"#);
    let new = write(dir.path(), "new.json", r#"{"type": "string"}"#);
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["schemas", "diff", "--json"])
        .args([&old, &new])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader is gone before the first line is written (`| head -0`).
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
    assert_ne!(out.status.code(), Some(101), "a panic's exit: {stderr}");
}
