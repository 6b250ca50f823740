//! Event source mappings, driven from the emulator: taps behind bus rules
//! and bucket notifications (asynchronous invocations), and DynamoDB stream
//! pollers (synchronous batches with AWS's retry, bisect and OnFailure).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::Message;
use percent_encoding::percent_decode_str;
use serde_json::Value;

use crate::invoke::{AsyncFunction, AsyncOutcome};
use crate::on_behalf::Invoker;
use crate::runtime::Arrival;

mod streams;
pub use streams::{ITERATOR_AGE_DIMENSION, StreamPoller};

/// What a tap queue's messages become before they reach the function.
#[derive(Clone, Copy, Debug)]
pub enum TapKind {
    /// EventBridge events, delivered to SQS without `account`.
    Rule,
    /// The emulator's S3 notifications, normalised to AWS's shape.
    Upload,
}

/// The EventBridge event as a Lambda target receives it.
pub fn rule_event(mut body: Value) -> Value {
    if body.get("account").is_none() {
        body["account"] = Value::from("123456789012");
    }
    body
}

/// Each record of an emulator S3 notification as AWS would send it.
/// `s3:TestEvent` messages produce none.
pub fn upload_events(body: &Value) -> Vec<Value> {
    body["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let raw = r["s3"]["object"]["key"].as_str()?;
            // The emulator encodes keys once more than S3 does.
            let key = percent_decode_str(&raw.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned();
            let bucket = r["s3"]["bucket"]["name"].as_str()?;
            let event = devstack_emulator::s3::object_created(
                bucket,
                &key,
                r["s3"]["object"]["size"].as_i64().unwrap_or_default(),
                r["s3"]["object"]["eTag"].as_str().unwrap_or_default(),
                &format!(
                    "{:016X}",
                    chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
                ),
            );
            let mut event = serde_json::to_value(event).ok()?;
            // The crate's own field, and one S3 sends only for a versioned
            // bucket: S3 leaves both out.
            drop_nulls(&mut event, &["urlDecodedKey", "versionId"]);
            Some(event)
        })
        .collect()
}

/// Removes `keys` wherever they are `null`: the typed events serialise
/// every field, and AWS leaves out the ones it has no value for.
fn drop_nulls(value: &mut Value, keys: &[&str]) {
    match value {
        Value::Object(map) => {
            map.retain(|k, v| !(v.is_null() && keys.contains(&k.as_str())));
            map.values_mut().for_each(|v| drop_nulls(v, keys));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| drop_nulls(v, keys)),
        _ => {}
    }
}

/// Polls a tap queue forever. A message is deleted only once its event has
/// succeeded or been dead-lettered, so a crash of the local cloud loses none,
/// or once `invoker` (the rule, the bucket) is found not allowed to invoke
/// the function.
pub async fn poll_tap(
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    (kind, invoker): (TapKind, Invoker),
    target: Arc<AsyncFunction>,
) {
    let invoker = Arc::new(invoker);
    loop {
        let got = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            // The longest poll: the emulator answers as soon as a message
            // lands, and an idle tap then costs a call every 20 s, not
            // every second, of the emulator the foreground shares.
            .wait_time_seconds(20)
            .visibility_timeout(900)
            .send()
            .await;
        let messages = match got {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(queue = %queue_url, error = %aws_sdk_sqs::error::DisplayErrorContext(e), "tap poll failed");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        for message in messages {
            let sqs = sqs.clone();
            let queue_url = queue_url.clone();
            let target = target.clone();
            let invoker = invoker.clone();
            tokio::spawn(async move {
                if may_invoke(&target, &invoker).await {
                    deliver(&sqs, &queue_url, kind, target, &message).await;
                } else {
                    delete(&sqs, &queue_url, &message).await;
                }
            });
        }
    }
}

/// Whether the function's policy lets `invoker` in. When it does not,
/// EventBridge retries for 24 hours and then drops the event (S3 refuses the
/// notification configuration at deploy): the event is dropped at once.
async fn may_invoke(target: &AsyncFunction, invoker: &Invoker) -> bool {
    let Some(judge) = &target.judge else {
        return true;
    };
    let allowed = judge.may_invoke(invoker, &target.function.spec.arn).await;
    if !allowed {
        tracing::error!(target: "trail", function = %target.function.spec.name,
            invoker = invoker.principal, source = %invoker.source_arn,
            "the function's policy does not let its invoker in: the event is dropped, as on AWS");
    }
    allowed
}

async fn delete(sqs: &aws_sdk_sqs::Client, queue_url: &str, message: &Message) {
    if let Some(handle) = message.receipt_handle() {
        let _ = sqs
            .delete_message()
            .queue_url(queue_url)
            .receipt_handle(handle)
            .send()
            .await;
    }
}

async fn deliver(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    kind: TapKind,
    target: Arc<AsyncFunction>,
    message: &Message,
) {
    let body: Value =
        serde_json::from_str(message.body().unwrap_or_default()).unwrap_or(Value::Null);
    let events = match kind {
        TapKind::Rule => vec![rule_event(body)],
        TapKind::Upload => upload_events(&body),
    };
    let mut keep = false;
    for event in events {
        let label = match kind {
            TapKind::Rule => format!(
                "{}/{} {}",
                event["source"].as_str().unwrap_or("?"),
                event["detail-type"].as_str().unwrap_or("?"),
                event["detail"]["metadata"]["event_id"]
                    .as_str()
                    .unwrap_or("?")
            ),
            TapKind::Upload => format!(
                "s3 {}",
                event["Records"][0]["s3"]["object"]["key"]
                    .as_str()
                    .unwrap_or("?")
            ),
        };
        tracing::info!(target: "trail", event = %label, function = %target.function.spec.name, "event");
        let arrival = match kind {
            // EventBridge hands the target the entry's TraceHeader.
            TapKind::Rule => Arrival::new("rule", event["detail-type"].as_str().unwrap_or("?"))
                .traced(
                    event["detail"]["metadata"]["event_id"]
                        .as_str()
                        .and_then(|id| target.function.spec.recorder.as_ref()?.bus_trace(id)),
                )
                .correlated(event["detail"]["metadata"]["correlation_id"].as_str()),
            TapKind::Upload => Arrival::new("s3", label.clone()),
        };
        if let AsyncOutcome::Dropped { .. } = target.invoke(event, &label, arrival).await {
            keep = target.dead_letter_topic.is_some();
        }
    }
    if !keep {
        delete(sqs, queue_url, message).await;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn emulator_s3_notifications_become_aws_shaped_events() {
        let body = json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {
            "bucket": {"name": "b"}, "object": {"key": "users%2Fu%2Fa+b.png", "size": 3, "eTag": "e"}}}]});
        let events = upload_events(&body);
        assert_eq!(events.len(), 1);
        let parsed: aws_lambda_events::s3::S3Event =
            serde_json::from_value(events[0].clone()).unwrap();
        let record = &parsed.records[0];
        assert_eq!(record.s3.object.key.as_deref(), Some("users/u/a+b.png"));
        assert!(record.principal_id.principal_id.is_some());
        assert!(record.s3.object.sequencer.is_some());
        assert!(upload_events(&json!({"Event": "s3:TestEvent"})).is_empty());
    }

    #[test]
    fn rule_events_gain_the_account_a_lambda_target_sees() {
        let e = rule_event(json!({"source": "x", "detail-type": "y", "detail": {}}));
        assert_eq!(e["account"], "123456789012");
        let parsed: aws_lambda_events::eventbridge::EventBridgeEvent<Value> =
            serde_json::from_value(e).unwrap();
        assert_eq!(parsed.source, "x");
    }
}
