//! Helpers shared by the cross-service tests.

use std::path::{Path, PathBuf};

use events::{EventKey, EventSpec};
use serde_json::Value;

pub fn root() -> PathBuf {
    repo::root()
}

pub use devstack_testkit::cloud::{
    client, client_for, cloud, kept_cloud, sdk, sdk_for, sdk_in, sdk_of, test_cloud, unique_email,
};
pub use devstack_testkit::delivered::delivered;

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

/// Where a committed schema is, from the root, by its key.
pub fn schema_file(key: &str) -> String {
    governance::folders::schema_path(key).unwrap()
}

/// Every committed schema, by its key.
pub fn committed_schemas() -> governance::schemas::SchemaSet {
    governance::schemas::committed(&root()).unwrap()
}

/// The committed schema of a version, as a validator that checks formats.
pub fn validator(key: &EventKey) -> jsonschema::Validator {
    let path = root().join(schema_file(&key.schema_file()));
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
    let dir = root().join(governance::folders::example_dir(spec).unwrap());
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

/// A scratch git repository holding the contracts as committed here:
/// the AsyncAPI document, the schemas and each service's template.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let copy = |rel: &str| {
            let from = repo::root().join(rel);
            let to = dir.path().join(rel);
            let out = std::process::Command::new("cp")
                .arg("-r")
                .arg(&from)
                .arg(&to)
                .output()
                .unwrap();
            assert!(out.status.success(), "cp {rel}");
        };
        std::fs::create_dir_all(dir.path().join("events")).unwrap();
        copy("events/asyncapi.json");
        copy("events/schemas");
        for service in repo::SERVICES {
            std::fs::create_dir_all(repo::service_dir_in(dir.path(), service)).unwrap();
            copy(&format!("services/{service}/template.yaml"));
        }
        let s = Scratch { dir };
        s.git(&["init", "-q", "-b", "main"]);
        s.commit("the contracts as deployed");
        s
    }

    pub fn git(&self, args: &[&str]) -> String {
        git(self.dir.path(), args)
    }

    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-qm", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Adds TodoCompleted v2 (v1 with an optional field) and moves
    /// notifications from v1 to v2 in the AsyncAPI document; todos still
    /// publishes v1 only.
    pub fn add_todo_completed_v2(&self) {
        let events = self.dir.path().join("events");
        let dir = self
            .dir
            .path()
            .join("events/schemas/app.todos/TodoCompleted");
        let mut schema: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("v1.json")).unwrap()).unwrap();
        schema["x-event"]["version"] = 2.into();
        schema["$defs"]["TodoCompletedV1"]["properties"]["priority"] =
            serde_json::json!({"type": "string"});
        std::fs::write(
            dir.join("v2.json"),
            serde_json::to_string_pretty(&schema).unwrap(),
        )
        .unwrap();
        let path = events.join("asyncapi.json");
        let mut doc: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut message = doc["components"]["messages"]["TodoCompletedV1"].clone();
        message["x-eventbridge"]["schema-version"] = 2.into();
        doc["components"]["messages"]["TodoCompletedV2"] = message;
        doc["channels"]["app.todos.TodoCompleted"]["messages"]["TodoCompletedV2"] =
            serde_json::json!({"$ref": "#/components/messages/TodoCompletedV2"});
        doc["operations"]["notifications.receive.TodoCompleted"]["messages"] = serde_json::json!([
            {"$ref": "#/channels/app.todos.TodoCompleted/messages/TodoCompletedV2"}
        ]);
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    }

    /// Rewrites TodoCompleted v1's `data` schema.
    pub fn edit_todo_completed(&self, edit: impl FnOnce(&mut Value)) {
        let path = self
            .dir
            .path()
            .join("events/schemas/app.todos/TodoCompleted/v1.json");
        let mut schema: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        edit(&mut schema["$defs"]["TodoCompletedV1"]);
        std::fs::write(&path, serde_json::to_string_pretty(&schema).unwrap()).unwrap();
    }
}

/// Every message in an SQS queue, parsed as JSON and deleted: what a rule
/// delivered to its queue target.
pub use devstack_emulator::fixtures::drain;
