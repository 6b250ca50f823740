//! Fans stored notifications out to the SNS delivery topic, from the
//! table's stream (never beside the table write), so email, SMS or mobile
//! subscribers can attach with filter policies on `kind`.

use aws_lambda_events::dynamodb::EventRecord;
use aws_sdk_sns::types::MessageAttributeValue;
use kit::stream::{Change, StreamError, change};
use serde_json::json;

use crate::items::{Item, Notification};

/// The notification a stream record asks to deliver, if any.
pub fn to_deliver(record: &EventRecord) -> Result<Option<Notification>, StreamError> {
    Ok(match change::<Item>(record)? {
        Change::Insert {
            new: Item::Notification(n),
        } => Some(n),
        _ => None,
    })
}

#[derive(Clone)]
pub struct Delivery {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl Delivery {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    /// Publishes one notification. Subscribers deduplicate on
    /// `notification_id`: a retried batch delivers again.
    pub async fn send(&self, n: &Notification) -> Result<(), String> {
        let attr = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .expect("type and value are set")
        };
        let kind = serde_json::to_value(n.notification_kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let body = json!({
            "notification_id": n.notification_id,
            "user_id": n.user_id,
            "kind": kind,
            "message": n.message,
            "created_at": n.created_at,
        });
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(body.to_string())
            .message_attributes("kind", attr(&kind))
            .message_attributes("user_id", attr(&n.user_id))
            .send()
            .await
            .map_err(|e| aws_sdk_sns::error::DisplayErrorContext(e).to_string())?;
        Ok(())
    }
}

/// Delivers a batch in order; the first failure becomes the checkpoint.
pub async fn deliver_records(records: &[EventRecord], delivery: &Delivery) -> kit::outbox::Outcome {
    let mut outcome = kit::outbox::Outcome::default();
    for record in records {
        let result = match to_deliver(record) {
            Ok(Some(n)) => delivery.send(&n).await.map(|()| 1),
            Ok(None) => Ok(0),
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok(n) => outcome.published += n,
            Err(reason) => {
                tracing::error!(record = %record.event_id, error = %reason, "delivery failed");
                let sequence = record.change.sequence_number.clone().unwrap_or_default();
                outcome.failed = Some((sequence, reason));
                break;
            }
        }
    }
    outcome
}
