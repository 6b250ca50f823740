//! `ops secrets` against the emulator through the real binary: the value
//! from stdin stored as a SecureString or a secret, a second put rotating
//! it, and an empty value refused.

use std::io::Write;
use std::process::{Command, Stdio};

use devstack_emulator::{shared, unique};
use kit::signed::json_protocol::{JsonApi, SECRETS_MANAGER, SSM};
use serde_json::json;

fn ops(args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ops"))
        .args(args)
        .env("AWS_ENDPOINT_URL", &shared().url)
        .env("AWS_REGION", kit::config::LOCAL_REGION)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn a_parameter_and_a_secret_are_stored_from_stdin_and_rotated_by_a_second_put() {
    let conf = shared().sdk_config().await;
    let parameter = format!("/{}/api-key", unique("ops"));
    let first = ops(&["secrets", "put-parameter", &parameter], "sk_one\n");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let printed = String::from_utf8_lossy(&first.stdout);
    assert!(
        !printed.contains("sk_one"),
        "the value is never printed: {printed}"
    );
    ops(&["secrets", "put-parameter", &parameter], "sk_two\n");
    let read = serde_json::json!({ "Name": parameter, "WithDecryption": true });
    let got = JsonApi::new(&conf, SSM)
        .call("GetParameter", &read)
        .await
        .unwrap();
    let got = &got["Parameter"];
    assert_eq!(
        (&got["Value"], &got["Version"]),
        (&json!("sk_two"), &json!(2))
    );
    assert_eq!(got["Type"], "SecureString");

    let secret = unique("ops-signing");
    ops(&["secrets", "put-secret", &secret], "whsec_one\n");
    ops(&["secrets", "put-secret", &secret], "whsec_two\n");
    let read = serde_json::json!({ "SecretId": secret });
    let current = JsonApi::new(&conf, SECRETS_MANAGER)
        .call("GetSecretValue", &read)
        .await
        .unwrap();
    assert_eq!(current["SecretString"], "whsec_two");

    let empty = ops(&["secrets", "put-secret", &secret], "\n");
    assert!(!empty.status.success());
    assert!(String::from_utf8_lossy(&empty.stderr).contains("empty"));
}
