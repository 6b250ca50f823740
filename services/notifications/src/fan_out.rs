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
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use kit::stream::{Change, StreamError, change};
use serde_json::json;
use tracing::Instrument;

use crate::items::{Item, Notification};
use crate::push::{Push, PushError, notification_message};
use crate::store::Store;

/// The notification a stream record asks to deliver, if any.
pub fn to_fan_out(record: &EventRecord) -> Result<Option<Notification>, StreamError> {
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
pub struct FanOut {
    client: aws_sdk_sns::Client,
    topic_arn: String,
    live: Option<Live>,
}

impl FanOut {
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

    /// Publishes notifications, at most [`PUBLISH_BATCH`], in one call;
    /// each one's result, in order. Subscribers deduplicate on
    /// `notification_id`: a retried batch delivers again.
    pub async fn send(&self, notes: &[&Notification]) -> Vec<Published> {
        let entries: Vec<_> = notes.iter().enumerate().map(|(i, n)| entry(i, n)).collect();
        let answer = self
            .client
            .publish_batch()
            .topic_arn(&self.topic_arn)
            .set_publish_batch_request_entries(Some(entries))
            .send()
            .await;
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                let reason = aws_sdk_sns::error::DisplayErrorContext(e).to_string();
                return vec![Err(reason); notes.len()];
            }
        };
        let ok = answer.successful().iter().filter_map(|e| e.id());
        let failed = answer.failed().iter().map(|e| {
            let why = format!("{}: {}", e.code(), e.message().unwrap_or_default());
            (e.id(), why)
        });
        batch_results(notes.len(), ok, failed)
    }
}

/// Each entry's result from a PublishBatch answer, by the entry's id (its
/// place in the batch). An entry the answer does not name failed: SNS
/// answers for each one, so a missing entry is not taken as delivered.
fn batch_results<'a>(
    entries: usize,
    successful: impl Iterator<Item = &'a str>,
    failed: impl Iterator<Item = (&'a str, String)>,
) -> Vec<Published> {
    let mut results = vec![Err("not in SNS's answer".to_owned()); entries];
    for id in successful {
        if let Some(r) = id.parse::<usize>().ok().and_then(|i| results.get_mut(i)) {
            *r = Ok(());
        }
    }
    for (id, why) in failed {
        if let Some(r) = id.parse::<usize>().ok().and_then(|i| results.get_mut(i)) {
            *r = Err(why);
        }
    }
    results
}

/// One notification as a batch entry, its id its place in the batch.
fn entry(i: usize, n: &Notification) -> PublishBatchRequestEntry {
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
    PublishBatchRequestEntry::builder()
        .id(i.to_string())
        .message(body.to_string())
        .message_attributes("kind", attr(&kind))
        .message_attributes("user_id", attr(&n.user_id))
        .build()
        .expect("id and message are set")
}

/// One notification's publish: done, or why not.
pub type Published = Result<(), String>;

/// SNS's most entries in one PublishBatch: a batch of records is
/// published in a tenth of the calls one Publish each took, which was
/// most of the deliverer's time behind a backlog.
pub const PUBLISH_BATCH: usize = 10;

/// Calls in flight at once: PublishBatch calls, then live pushes. A
/// batch of a hundred records, one call after another, took longer than
/// the function's timeout when each call waited on a busy engine, and the
/// killed batch was then delivered again whole.
pub const IN_FLIGHT: usize = 16;

/// Delivers a batch: its notifications published [`PUBLISH_BATCH`] to a
/// call, then pushed live, [`IN_FLIGHT`] calls at a time. The results
/// are read in stream order, so the first failure becomes the checkpoint
/// and only it and the records after it are retried (subscribers and the
/// app deduplicate on `notification_id`, as for any retried batch); the
/// records after it are not pushed, as their retry will.
pub async fn fan_out_records(records: &[EventRecord], fan_out: &FanOut) -> kit::outbox::Outcome {
    let asked: Vec<Result<Option<Notification>, String>> = records
        .iter()
        .map(|r| to_fan_out(r).map_err(|e| e.to_string()))
        .collect();
    // An unreadable record is the checkpoint whatever SNS answers: the
    // records after it are retried, so they are not published now.
    let readable = asked.iter().position(Result::is_err).unwrap_or(asked.len());
    let published = publish_all(&asked[..readable], fan_out).await;
    let mut outcome = kit::outbox::Outcome::default();
    let mut to_push = Vec::new();
    // Past the unreadable record nothing was published; the loop stops at it.
    let published = published.into_iter().chain(std::iter::repeat(Ok(())));
    for ((record, asked), published) in records.iter().zip(asked).zip(published) {
        let result = asked.and_then(|n| published.map(|()| n));
        match result {
            Ok(Some(n)) => {
                kit::telemetry::delivered(1);
                outcome.published += 1;
                to_push.push((record, n));
            }
            Ok(None) => {}
            Err(reason) => {
                let _span = kit::outbox::record_span(record).entered();
                tracing::error!(record = %record.event_id, error = %reason, "fan-out failed");
                let sequence = record.change.sequence_number.clone().unwrap_or_default();
                outcome.failed = Some((sequence, reason));
                break;
            }
        }
    }
    push_all(&to_push, fan_out).await;
    outcome
}

/// Each readable record's publish result, in order (`Ok` for one that
/// asks for none).
async fn publish_all(
    readable: &[Result<Option<Notification>, String>],
    fan_out: &FanOut,
) -> Vec<Published> {
    use futures_util::stream::{self, StreamExt};
    let notes: Vec<(usize, &Notification)> = readable
        .iter()
        .enumerate()
        .filter_map(|(i, a)| a.as_ref().ok().and_then(Option::as_ref).map(|n| (i, n)))
        .collect();
    let answers: Vec<(Vec<usize>, Vec<Published>)> = stream::iter(notes.chunks(PUBLISH_BATCH))
        .map(|chunk| async move {
            let (places, notes): (Vec<usize>, Vec<&Notification>) = chunk.iter().copied().unzip();
            (places, fan_out.send(&notes).await)
        })
        .buffered(IN_FLIGHT)
        .collect()
        .await;
    let mut results = vec![Ok(()); readable.len()];
    for (places, answers) in answers {
        for (place, answer) in places.into_iter().zip(answers) {
            results[place] = answer;
        }
    }
    results
}

/// Pushes each published notification live, in its record's span.
async fn push_all(published: &[(&EventRecord, Notification)], fan_out: &FanOut) {
    use futures_util::stream::{self, StreamExt};
    let Some(live) = &fan_out.live else {
        return;
    };
    stream::iter(published)
        .for_each_concurrent(IN_FLIGHT, |(record, n)| {
            async move {
                let pushed = live.push(n).await;
                tracing::info!(notification = %n.notification_id, correlation_id = %n.correlation_id, user = %n.user_id, sent = pushed.sent, gone = pushed.gone, failed = pushed.failed, "delivered");
            }
            .instrument(kit::outbox::record_span(record))
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::batch_results;

    #[test]
    fn a_batchs_answer_is_read_by_entry_id_and_an_entry_it_omits_failed() {
        let ok = ["2", "0", "x", "17"].into_iter();
        let failed = [("3", "InternalError: try again".to_owned())].into_iter();
        let results = batch_results(5, ok, failed);
        assert_eq!(
            results,
            [
                Ok(()),
                Err("not in SNS's answer".to_owned()),
                Ok(()),
                Err("InternalError: try again".to_owned()),
                Err("not in SNS's answer".to_owned()),
            ]
        );
    }

    #[test]
    fn a_failure_named_for_an_entry_wins_over_a_success_for_it() {
        let results = batch_results(1, ["0"].into_iter(), [("0", "no".to_owned())].into_iter());
        assert_eq!(results, [Err("no".to_owned())]);
    }
}
