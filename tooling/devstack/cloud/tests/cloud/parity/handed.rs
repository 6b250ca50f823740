//! The local cloud of this module, what its functions were handed, and the
//! traffic that hands them each kind of event.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use devstack_client::walkthrough::{eventually, token_for};
use devstack_cloud::{Detached, Options};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Map, Value};
use tokio_tungstenite::tungstenite::Message;

use devstack_testkit::cloud::test_cloud;
use devstack_testkit::cloud::{kept_cloud, sdk_for};

pub(super) fn cloud() -> &'static Detached {
    static CLOUD: OnceLock<Detached> = OnceLock::new();
    kept_cloud(&CLOUD, || Options {
        capture_dir: Some(capture().to_path_buf()),
        ..test_cloud()
    })
}

/// Where the cloud's functions capture what they were handed.
pub(super) fn capture() -> &'static Path {
    static CAPTURE: OnceLock<PathBuf> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        std::env::temp_dir().join(format!(
            "parity-capture-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ))
    })
}

pub(super) async fn sdk() -> aws_config::SdkConfig {
    sdk_for(cloud()).await
}

/// One line of a function's capture.
pub(super) struct Captured {
    pub(super) headers: Map<String, Value>,
    pub(super) event: Value,
}

/// In every event the Invoke API test hands a function itself: those are
/// the test's shapes, not the local cloud's, and are left out here.
pub(super) const TEST_MADE: &str = "parity-invoke-api";

/// What `function` (`<stack>/<LogicalId>`) has been handed so far.
pub(super) fn captured(function: &str) -> Vec<Captured> {
    let path = capture().join(format!("{}.jsonl", function.replace('/', "-")));
    let text = std::fs::read_to_string(path).unwrap_or_default();
    // The cloud appends while functions are handed events: a line still
    // being written has no newline yet, and is read next time.
    let complete = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
    complete
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            Captured {
                headers: v["headers"].as_object().cloned().unwrap_or_default(),
                event: v["event"].take(),
            }
        })
        .collect()
}

pub(super) fn handed(functions: &[&str], keep: impl Fn(&Value) -> bool) -> Vec<Value> {
    functions
        .iter()
        .flat_map(|f| captured(f))
        .map(|c| c.event)
        .filter(|e| keep(e) && !e.to_string().contains(TEST_MADE))
        .collect()
}

/// Every message in `service`'s DLQ, taken off it in its account.
pub(super) async fn drain(service: &str) -> Vec<Value> {
    let c = cloud();
    let sqs = aws_sdk_sqs::Client::new(&devstack_testkit::cloud::sdk_of(c, service).await);
    devstack_emulator::fixtures::drain(&sqs, &c.endpoints.services[service].dlq_queue_url).await
}

/// A WebSocket connection with an ID token, a `ping`, and a close.
pub(super) async fn socket_traffic(email: &str) {
    let e = &cloud().endpoints;
    let token = token_for(e, email).await.unwrap();
    let url = format!("{}?token={token}", e.socket_url.as_str());
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("the socket opens");
    ws.send(Message::Text(r#"{"action":"ping"}"#.into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Text(t) = m
                && t.as_str().contains("pong")
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(pong, Ok(true), "no pong");
    ws.close(None).await.unwrap();
    eventually(Duration::from_secs(10), "the $disconnect event", || async {
        Ok(handed(&["notifications/SocketFunction"], |e| {
            e["requestContext"]["eventType"] == "DISCONNECT"
        })
        .first()
        .map(|_| ()))
    })
    .await
    .unwrap();
}

/// A UserDeleted without `user_id`: the todos consumer fails it 1 + 2
/// times, and the local cloud dead-letters it through SNS to the DLQ.
pub(super) async fn async_failure() -> Value {
    let e = &cloud().endpoints;
    let mut detail: Value = serde_json::from_str(
        &std::fs::read_to_string(
            repo::root().join("events/examples/app.users/UserDeleted/v1/example.json"),
        )
        .unwrap(),
    )
    .unwrap();
    detail["data"].as_object_mut().unwrap().remove("user_id");
    let marker = uuid::Uuid::new_v4().to_string();
    detail["metadata"]["event_id"] = Value::from(marker.clone());
    aws_sdk_eventbridge::Client::new(&sdk().await)
        .put_events()
        .entries(
            aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .event_bus_name(e.bus_name.as_str())
                .source("app.users")
                .detail_type("UserDeleted")
                .detail(detail.to_string())
                .build(),
        )
        .send()
        .await
        .unwrap();
    eventually(Duration::from_secs(30), "the dead letter", || async {
        Ok(drain("todos")
            .await
            .into_iter()
            .find(|m| m["Message"].as_str().is_some_and(|b| b.contains(&marker))))
    })
    .await
    .unwrap()
}

/// A profile the users publisher cannot map: after its retries, the
/// stream's OnFailure record reaches the DLQ (published by the emulator's
/// SNS, not by the local cloud).
pub(super) async fn stream_failure() -> Value {
    let e = &cloud().endpoints;
    let conf = sdk().await;
    let table = e.services["users"].table.as_str();
    let user = format!("poison-{}", uuid::Uuid::new_v4().simple());
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let now = chrono::Utc::now().to_rfc3339();
    // No email: the publisher cannot build UserRegistered from it.
    let put = Put::builder()
        .table_name(table)
        .item("pk", s(&format!("USER#{user}")))
        .item("sk", s("PROFILE"))
        .item("kind", s("profile"))
        .item("user_id", s(&user))
        .item("display_name", s("Poison"))
        .item("created_at", s(&now))
        .item("updated_at", s(&now))
        .item("correlation_id", s("parity"))
        .build()
        .unwrap();
    aws_sdk_dynamodb::Client::new(&conf)
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().put(put).build())
        .send()
        .await
        .unwrap();
    eventually(Duration::from_secs(60), "the OnFailure record", || async {
        Ok(drain("users").await.into_iter().find(|m| {
            m["Message"]
                .as_str()
                .is_some_and(|b| b.contains("DDBStreamBatchInfo"))
        }))
    })
    .await
    .unwrap()
}

/// SNS's envelope, with the names an SQS subscriber's body uses: a Lambda
/// SNS event spells two of them `…Url` (the pascal-case example).
pub(super) fn sqs_names(sns: &Value) -> Value {
    let mut out = Map::new();
    for (k, v) in sns.as_object().into_iter().flatten() {
        let k = match k.as_str() {
            "SigningCertUrl" => "SigningCertURL",
            "UnsubscribeUrl" => "UnsubscribeURL",
            other => other,
        };
        out.insert(k.to_owned(), v.clone());
    }
    Value::Object(out)
}
