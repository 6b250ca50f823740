//! The HTTP APIs against their OpenAPI documents: each document is valid
//! OpenAPI 3.1 (the official validator), documents exactly the routes its
//! template declares, and Schemathesis, generating requests from it as two
//! users against the running local cloud, finds no 5xx, no answer outside
//! the document, and no user reaching another's data.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::root;
use crate::support::{client, cloud, unique_email};

use repo::SERVICES;

fn document(service: &str) -> PathBuf {
    repo::service_dir(service).join("openapi.json")
}

fn venv_bin(tool: &str) -> PathBuf {
    devstack_emulator::venv().join("bin").join(tool)
}

#[test]
fn the_openapi_documents_are_valid_openapi_3_1() {
    let out = Command::new(venv_bin("openapi-spec-validator"))
        .args(SERVICES.iter().map(|s| document(s)))
        .output()
        .expect("running openapi-spec-validator from the venv");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text.matches(": OK").count(), SERVICES.len(), "{text}");
    for &service in SERVICES {
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(document(service)).unwrap()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0", "{service}");
    }
}

#[test]
fn each_document_has_exactly_the_routes_its_template_declares() {
    let documented = [
        ("users", users::openapi::api().route_keys()),
        ("todos", todos::openapi::api().route_keys()),
        ("notifications", notifications::openapi::api().route_keys()),
    ];
    for (service, keys) in documented {
        let template = devstack_template::load(&repo::template_path(service)).unwrap();
        let (_, plan) = devstack_template::adapt::adapt(service, &template).unwrap();
        let declared: BTreeSet<String> = plan.routes.iter().map(|r| r.route_key.clone()).collect();
        let documented: BTreeSet<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        assert_eq!(
            declared, documented,
            "{service}: template routes vs OpenAPI"
        );
        // And the committed file is the one these routes give (the
        // service's own unit test checks every byte).
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(document(service)).unwrap()).unwrap();
        let in_file: BTreeSet<String> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .map(move |m| format!("{} {path}", m.to_uppercase()))
            })
            .collect();
        assert_eq!(in_file, documented, "{service}: committed openapi.json");
    }
}

#[tokio::test]
async fn schemathesis_finds_no_failure_in_any_api() {
    let c = cloud();
    let api = c.endpoints.api_base_url.as_str().to_owned();
    // The two peers Schemathesis acts as, and a third user it does not
    // know, whose todo its requests are aimed at now and then.
    let alice = client(&unique_email("alice")).await;
    let bob = client(&unique_email("bob")).await;
    let carol_email = unique_email("carol");
    let carol = client(&carol_email).await;
    let (status, profile) = carol
        .call(
            Method::PUT,
            "/users/me",
            Some(json!({"display_name": "Carol"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "made at the confirmation, renamed: {profile}");
    let secret = format!("carol's secret {}", uuid::Uuid::new_v4());
    let (status, todo) = carol
        .call(
            Method::POST,
            "/todos",
            Some(json!({"title": secret, "description": secret})),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{todo}");
    let todo_id = todo["id"].as_str().unwrap().to_owned();

    let auth = json!({
        "schemaVersion": "0.1.0",
        "auth": [
            {"name": "alice", "fixedHeaders": [{"name": "Authorization", "value": format!("Bearer {}", alice.token)}]},
            {"name": "bob", "fixedHeaders": [{"name": "Authorization", "value": format!("Bearer {}", bob.token)}]},
        ]
    });
    let markers = [
        secret.as_str(),
        profile["id"].as_str().unwrap(),
        carol_email.as_str(),
    ]
    .join("\n");
    // One run per service, all at once: each mostly waits on the API, and
    // one after the other they were this binary's longest test (66 s
    // under the test command's load). Each has a folder of its own, for
    // Hypothesis's example database.
    let runs: Vec<(&str, tempfile::TempDir, std::process::Child)> = (SERVICES.iter())
        .map(|&service| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("auth.json"), auth.to_string()).unwrap();
            std::fs::write(
                dir.path().join("schemathesis.toml"),
                "[auth.wfc]\npath = \"auth.json\"\npeers = [\"alice\", \"bob\"]\n",
            )
            .unwrap();
            let child = Command::new(venv_bin("schemathesis"))
                .current_dir(dir.path())
                .env("NO_COLOR", "1")
                .env("SCHEMATHESIS_HOOKS", "hooks")
                .env("PYTHONPATH", root().join("tests/schemathesis"))
                .env("FOREIGN_TODO_ID", &todo_id)
                .env("FOREIGN_MARKERS", &markers)
                .args(["run", document(service).to_str().unwrap(), "--url", &api])
                // API Gateway HTTP APIs answer an undeclared method with 404,
                // not 405; the local gateway plays AWS, so that check is off.
                .args(["--checks", "all", "--exclude-checks", "unsupported_method"])
                .args(["--max-examples", "40", "--workers", "1"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("running schemathesis from the venv");
            (service, dir, child)
        })
        .collect();
    for (service, _dir, child) in runs {
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "schemathesis on {service}:\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary = text
            .lines()
            .find(|l| l.contains(" generated, "))
            .unwrap_or_default();
        eprintln!("schemathesis {service}: {}", summary.trim());
        assert!(
            summary.contains("passed"),
            "{service}: no test cases ran:\n{text}"
        );
    }

    // Nothing Schemathesis sent as anyone changed the third user's data.
    let (status, after) = carol
        .call(Method::GET, &format!("/todos/{todo_id}"), None)
        .await
        .unwrap();
    assert_eq!((status, &after), (200, &todo));
    let (status, now) = carol.call(Method::GET, "/users/me", None).await.unwrap();
    assert_eq!((status, &now), (200, &profile));
}
