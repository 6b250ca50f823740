//! The local Runtime API against a function process of its own (a small
//! Python program speaking the Runtime API), for what the real binaries
//! cannot be made to do on cue: fail, then be slow.

use std::time::Duration;

use devstack_lambda::runtime::{Function, InvokeError, Spec};
use serde_json::json;

fn sleepy(timeout: Duration) -> Spec {
    Spec {
        name: "test/Sleepy".into(),
        physical_name: "sleepy".into(),
        arn: "arn:aws:lambda:us-east-1:123456789012:function:sleepy".into(),
        binary: std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/sleepy-function.py"),
        env: Vec::new(),
        timeout,
        recorder: None,
        configuration: Default::default(),
        capture: None,
    }
}

// Lambda's async retries keep the request id. The first attempt's
// deadline once killed the retry that followed it: an attempt that failed
// after 0 s left a timer that ended the next attempt (same id) as
// "timed out" 1 s into it, though it had 2 s of its own.
#[tokio::test]
async fn a_retry_with_the_same_request_id_gets_its_own_deadline() {
    let function = Function::start(sleepy(Duration::from_secs(2)))
        .await
        .unwrap();
    let failed = function
        .invoke_with_id("same-id".into(), json!({"fail": true}))
        .await;
    assert!(
        matches!(&failed, Err(InvokeError::Function { error_type, .. }) if error_type == "Asked"),
        "{failed:?}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let retried = function
        .invoke_with_id("same-id".into(), json!({"sleep": 1.5}))
        .await;
    assert_eq!(retried, Ok(json!({"slept": 1.5})));
    // Its own deadline still holds.
    let slow = function
        .invoke_with_id("other-id".into(), json!({"sleep": 3}))
        .await;
    assert!(matches!(slow, Err(InvokeError::Timeout(_))), "{slow:?}");
}
