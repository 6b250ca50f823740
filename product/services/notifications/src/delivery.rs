//! Fans stored notifications out, from the table's stream (never beside
//! the table write): to the SNS delivery topic, so email, SMS or mobile
//! subscribers can attach with filter policies on `kind`, and live to the
//! user's open WebSocket connections.
//!
//! A live push is best effort: the notification is stored, and a client
//! re-reads the list when it reconnects. So a failed push is logged with
//! the connection and correlation id and does not fail the batch (a retry
//! would publish to SNS again), and a connection that answers 410 Gone is
//! forgotten, unless it may still be opening (see [`OPENING`]).

use aws_lambda_events::dynamodb::EventRecord;
use aws_sdk_sns::types::MessageAttributeValue;
use kit::stream::{Change, StreamError, change};
use serde_json::json;
use tracing::Instrument;

use crate::items::{Item, Notification};
use crate::push::{Push, PushError, notification_message};
use crate::store::Store;

/// The notification a stream record asks to deliver, if any.
pub fn to_deliver(record: &EventRecord) -> Result<Option<Notification>, StreamError> {
    Ok(match change::<Item>(record)? {
        Change::Insert {
            new: Item::Notification(n),
        } => Some(n),
        _ => None,
    })
}

/// How long a connection may answer 410 and still be opening: `$connect`
/// records it before API Gateway completes the handshake, and until then
/// a post to it is 410 Gone (at most API Gateway's 29-second integration
/// timeout). Forgetting such a connection lost every later push to a
/// browser whose socket then opened: seen in a test run, when a welcome
/// was pushed in that moment and the campaign after it reached nobody.
/// A connection that really went away is forgotten by its `$disconnect`,
/// a later push, or its TTL.
pub const OPENING: chrono::Duration = chrono::Duration::seconds(30);

/// Where live pushes go: the user's connections (from the table) through
/// the management API.
#[derive(Clone)]
pub struct Live {
    pub store: Store,
    pub push: Push,
}

/// What one live push round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pushed {
    pub sent: usize,
    pub gone: usize,
    pub failed: usize,
}

impl Live {
    /// Posts the notification to every open connection of its user.
    pub async fn push(&self, n: &Notification) -> Pushed {
        let mut pushed = Pushed::default();
        let connections = match self.store.connections(&n.user_id).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(notification = %n.notification_id, correlation_id = %n.correlation_id, error = %e, "connections not read; no live push");
                pushed.failed += 1;
                return pushed;
            }
        };
        let message = notification_message(n);
        for c in connections {
            match self.push.post(&c.connection_id, &message).await {
                Ok(()) => pushed.sent += 1,
                Err(PushError::Gone) if chrono::Utc::now() - c.connected_at < OPENING => {
                    pushed.gone += 1;
                    tracing::info!(connection_id = %c.connection_id, correlation_id = %n.correlation_id, "push: 410 from a connection that may still be opening; kept");
                }
                Err(PushError::Gone) => {
                    pushed.gone += 1;
                    tracing::info!(connection_id = %c.connection_id, correlation_id = %n.correlation_id, "push: connection gone (410); forgotten");
                    if let Err(e) = self
                        .store
                        .forget_connection(&n.user_id, &c.connection_id)
                        .await
                    {
                        tracing::warn!(connection_id = %c.connection_id, error = %e, "gone connection not forgotten; its TTL will");
                    }
                }
                Err(PushError::Failed(error)) => {
                    pushed.failed += 1;
                    tracing::warn!(connection_id = %c.connection_id, correlation_id = %n.correlation_id, notification = %n.notification_id, %error, "push failed");
                }
            }
        }
        kit::telemetry::pushed(pushed.sent, pushed.gone);
        pushed
    }
}

#[derive(Clone)]
pub struct Delivery {
    client: aws_sdk_sns::Client,
    topic_arn: String,
    live: Option<Live>,
}

impl Delivery {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
            live: None,
        }
    }

    pub fn with_live(mut self, live: Live) -> Self {
        self.live = Some(live);
        self
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

/// Records delivered at once. A batch of a hundred, one after another,
/// took longer than the function's timeout when each call waited on a
/// busy engine, and the killed batch was then delivered again whole.
pub const IN_FLIGHT: usize = 16;

/// Delivers a batch, [`IN_FLIGHT`] records at a time; the results are
/// read in stream order, so the first failure becomes the checkpoint and
/// only it and the records after it are retried (subscribers and the app
/// deduplicate on `notification_id`, as for any retried batch).
pub async fn deliver_records(records: &[EventRecord], delivery: &Delivery) -> kit::outbox::Outcome {
    use futures_util::stream::{self, StreamExt};
    let mut outcome = kit::outbox::Outcome::default();
    let mut results = stream::iter(records)
        .map(|record| async move { (record, deliver_one(record, delivery).await) })
        .buffered(IN_FLIGHT);
    while let Some((record, result)) = results.next().await {
        match result {
            Ok(n) => {
                kit::telemetry::delivered(n);
                outcome.published += n;
            }
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

/// One record: published, then pushed live. Returns how many
/// notifications it delivered (0 for a record that asks for none).
async fn deliver_one(record: &EventRecord, delivery: &Delivery) -> Result<usize, String> {
    async {
        match to_deliver(record) {
            Ok(Some(n)) => {
                delivery.send(&n).await?;
                if let Some(live) = &delivery.live {
                    let pushed = live.push(&n).await;
                    tracing::info!(notification = %n.notification_id, correlation_id = %n.correlation_id, user = %n.user_id, sent = pushed.sent, gone = pushed.gone, failed = pushed.failed, "delivered");
                }
                Ok(1)
            }
            Ok(None) => Ok(0),
            Err(e) => Err(e.to_string()),
        }
    }
    .instrument(kit::outbox::record_span(record))
    .await
}
