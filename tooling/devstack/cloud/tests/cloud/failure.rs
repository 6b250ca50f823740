//! A quiet cloud (the tests'): the functions' output stays in its
//! telemetry folder, and a failing test shows the tail of the logs of the
//! functions it drove, after its own panic message.

use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use devstack_cloud::start::{Detached, Options};

/// Set only for the child run of [`drive_a_function_then_end_as_told`]:
/// `fail` or `pass`.
const ON_PURPOSE: &str = "DEVSTACK_FAILURE_TEST_ON_PURPOSE";
/// What the driven function logs when its event is refused.
const LOGGED: &str = "invocation failed";

/// Does nothing unless run as the child of the test below: then drives a
/// function to an error it logs, and ends as `ON_PURPOSE` says.
#[tokio::test(flavor = "multi_thread")]
async fn drive_a_function_then_end_as_told() {
    let Ok(how) = std::env::var(ON_PURPOSE) else {
        return;
    };
    let cloud = devstack_cloud::start::start_detached(Options {
        bin_dir: repo::profile_dir(),
        services: Some(["todos".to_owned()].into()),
        ..Options::default()
    })
    .expect("the local cloud starts");
    invoke_with_an_undecodable_event(&cloud).await;
    let logs = std::path::Path::new(&cloud.endpoints.telemetry_dir).join("logs");
    let started = Instant::now();
    while !logged(&logs) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the function never logged {LOGGED:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        how, "pass",
        "failing on purpose, the function's error logged"
    );
}

/// The todos consumer handed a UserDeleted without its user id: it logs
/// the error.
async fn invoke_with_an_undecodable_event(cloud: &Detached) {
    let example = repo::root().join("events/examples/app.users/UserDeleted/v1/example.json");
    let mut detail: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example).unwrap()).unwrap();
    detail["data"].as_object_mut().unwrap().remove("user_id");
    let event = serde_json::json!({
        "version": "0", "id": "e1", "detail-type": "UserDeleted", "source": "app.users",
        "account": "123456789012", "time": "2026-11-26T00:00:00Z", "region": "us-east-1",
        "resources": [], "detail": detail,
    });
    let conf = kit::config::endpoint(&cloud.endpoints.lambda_endpoint).await;
    let function = &cloud.endpoints.services["todos"].functions["OnUserDeletedFunction"];
    let out = aws_sdk_lambda::Client::new(&conf)
        .invoke()
        .function_name(function)
        .payload(Blob::new(event.to_string()))
        .send()
        .await
        .expect("an invocation");
    assert!(out.function_error().is_some(), "the event was read");
}

/// Whether a function's log in `logs` holds the error.
fn logged(logs: &std::path::Path) -> bool {
    std::fs::read_dir(logs)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|text| text.contains(LOGGED)))
}

/// This test binary again, with only the driving test, as `how`.
fn child(how: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "failure::drive_a_function_then_end_as_told"])
        // Output printed past the harness shows even when the test passes.
        .arg("--nocapture")
        .env(ON_PURPOSE, how)
        .output()
        .unwrap();
    assert_eq!(
        out.status.success(),
        how == "pass",
        "the child run did not end as told:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_passing_test_prints_no_function_output_and_a_failing_one_its_functions_recent_logs() {
    let passed = child("pass");
    assert!(
        !passed.contains(LOGGED) && !passed.contains("\"_aws\""),
        "a passing test printed the functions' output:\n{passed}"
    );
    let failed = child("fail");
    let after_panic = failed
        .split_once("failing on purpose")
        .map(|(_, after)| after)
        .unwrap_or_default();
    assert!(
        after_panic.contains("the functions' recent logs")
            && after_panic.contains("todos-OnUserDeletedFunction")
            && after_panic.contains(LOGGED),
        "the failure does not show the function's log:\n{failed}"
    );
    assert!(
        !after_panic.contains("\"_aws\""),
        "EMF documents are metrics, not logs:\n{failed}"
    );
}
