//! A dead letter's way from the topic to its queues with the trace on it.
//!
//! On AWS, a traced publish to SNS reaches an SQS subscriber with the
//! trace header in the message's `AWSTraceHeader` system attribute, where
//! `ops dlq replay` finds it and hands it back to Lambda. The emulator's
//! SNS drops it on the way, so for a topic whose subscribers are all SQS
//! queues the local cloud plays that hop itself: the same SNS envelope (or
//! the raw message, with raw delivery), sent to each subscribed queue with
//! the attribute set.

use std::sync::Arc;

use aws_sdk_sqs::types::MessageSystemAttributeValue;
use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeNameForSends};
use serde_json::{Map, Value, json};

/// Delivers `message` to the topic's SQS subscribers with `trace` (each
/// that `may_deliver` lets SNS reach; AWS drops the others silently);
/// `false` when the topic has another kind of subscriber (then publish to
/// it).
pub async fn deliver_traced(
    sns: &aws_sdk_sns::Client,
    sqs: &aws_sdk_sqs::Client,
    judge: Option<&Arc<dyn crate::on_behalf::Judge>>,
    topic: &str,
    message: &str,
    attributes: &[(&str, &str, String)],
    trace: &str,
) -> anyhow::Result<bool> {
    let subscriptions = sns
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_sns::error::DisplayErrorContext(e).to_string()))?;
    let subs = subscriptions.subscriptions();
    if subs.is_empty() || subs.iter().any(|s| s.protocol() != Some("sqs")) {
        return Ok(false);
    }
    for sub in subs {
        let (Some(arn), Some(endpoint)) = (sub.subscription_arn(), sub.endpoint()) else {
            continue;
        };
        let raw = sns
            .get_subscription_attributes()
            .subscription_arn(arn)
            .send()
            .await
            .ok()
            .and_then(|a| {
                a.attributes()
                    .and_then(|m| m.get("RawMessageDelivery").cloned())
            })
            .is_some_and(|v| v == "true");
        if let Some(judge) = judge
            && !judge.may_deliver(topic, endpoint).await
        {
            tracing::error!(target: "trail", topic, queue = endpoint, "SNS may not deliver to the queue: the dead letter is dropped, as on AWS");
            continue;
        }
        let queue_name = endpoint.rsplit(':').next().unwrap_or_default();
        let url = sqs
            .get_queue_url()
            .queue_name(queue_name)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?
            .queue_url
            .unwrap_or_default();
        let mut send = sqs.send_message().queue_url(url).message_system_attributes(
            MessageSystemAttributeNameForSends::AwsTraceHeader,
            MessageSystemAttributeValue::builder()
                .data_type("String")
                .string_value(trace)
                .build()?,
        );
        if raw {
            send = send.message_body(message);
            for (name, data_type, value) in attributes {
                send = send.message_attributes(
                    *name,
                    MessageAttributeValue::builder()
                        .data_type(*data_type)
                        .string_value(value)
                        .build()?,
                );
            }
        } else {
            send = send.message_body(envelope(topic, message, attributes).to_string());
        }
        send.send()
            .await
            .map_err(|e| anyhow::anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
    }
    Ok(true)
}

/// SNS's JSON envelope for an SQS subscriber, as AWS writes it.
pub fn envelope(topic: &str, message: &str, attributes: &[(&str, &str, String)]) -> Value {
    let message_id = uuid::Uuid::new_v4().to_string();
    let region = topic.split(':').nth(3).unwrap_or("us-east-1");
    let mut attrs = Map::new();
    for (name, data_type, value) in attributes {
        attrs.insert(
            (*name).to_owned(),
            json!({"Type": data_type, "Value": value}),
        );
    }
    json!({
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic,
        "Message": message,
        "Timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "SignatureVersion": "1",
        // The local cloud signs nothing; consumers of a DLQ do not verify.
        "Signature": "",
        "SigningCertURL": format!("https://sns.{region}.amazonaws.com/SimpleNotificationService-local.pem"),
        "UnsubscribeURL": format!("https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic}:local"),
        "MessageAttributes": attrs,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_envelope_has_sns_shape_and_the_attributes() {
        let e = super::envelope(
            "arn:aws:sns:eu-west-1:123456789012:dlq",
            "{\"a\":1}",
            &[("ErrorCode", "Number", "200".into())],
        );
        assert_eq!(e["Type"], "Notification");
        assert_eq!(e["TopicArn"], "arn:aws:sns:eu-west-1:123456789012:dlq");
        assert_eq!(e["Message"], "{\"a\":1}");
        assert_eq!(e["MessageAttributes"]["ErrorCode"]["Type"], "Number");
        assert_eq!(e["MessageAttributes"]["ErrorCode"]["Value"], "200");
        assert!(
            e["SigningCertURL"]
                .as_str()
                .unwrap()
                .contains("sns.eu-west-1.")
        );
    }
}
