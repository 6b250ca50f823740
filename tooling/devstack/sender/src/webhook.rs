//! The webhook calls: one worker per campaign takes its deliveries in
//! order and sees each to the end (a 2xx, or every attempt failed) before
//! the next, re-signing every attempt. While no URL is set, deliveries
//! wait in the queue: a receiver started late still gets them all.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Bytes;
use chrono::Utc;
use tokio::sync::mpsc;

use crate::records::{AttemptRecord, Outcome};
use crate::shared::Shared;
use crate::signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER};

pub struct Outgoing {
    pub campaign_id: String,
    pub delivery_id: uuid::Uuid,
    /// Serialized once: attempts and duplicates send the same bytes.
    pub body: Bytes,
}

/// Why an attempt did not end the delivery.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("answered {0}")]
    Status(u16),
    #[error("{0}")]
    Connection(String),
}

pub async fn worker(
    shared: Arc<Shared>,
    duplicate_all: bool,
    mut deliveries: mpsc::UnboundedReceiver<Outgoing>,
) {
    while let Some(outgoing) = deliveries.recv().await {
        deliver(&shared, &outgoing, duplicate_all).await;
    }
}

async fn deliver(shared: &Shared, out: &Outgoing, duplicate_all: bool) {
    let Some(mut url) = webhook_url(shared).await else {
        return;
    };
    let nth = shared.delivered.fetch_add(1, Ordering::Relaxed) + 1;
    let every = shared.settings.duplicate_every.map(u64::from);
    let duplicate = duplicate_all || every.is_some_and(|n| nth.is_multiple_of(n));
    shared
        .store()
        .begin_delivery(&out.campaign_id, out.delivery_id);
    let max = shared.settings.max_attempts;
    for attempt in 1..=max {
        if attempt > 1 {
            tokio::time::sleep(backoff(shared.settings.retry_base, attempt)).await;
            let Some(now) = webhook_url(shared).await else {
                return;
            };
            url = now;
        }
        match post(shared, out, &url, attempt, false).await {
            Ok(_) => {
                shared
                    .store()
                    .set_outcome(&out.campaign_id, out.delivery_id, Outcome::Delivered);
                if duplicate {
                    // Vendors redeliver after a success too (at-least-once):
                    // the receiver must deduplicate on delivery_id.
                    let _ = post(shared, out, &url, attempt + 1, true).await;
                }
                return;
            }
            Err(failure) => {
                tracing::info!(campaign = %out.campaign_id, delivery = %out.delivery_id, attempt, error = %failure, "sender: webhook attempt failed");
            }
        }
    }
    shared
        .store()
        .set_outcome(&out.campaign_id, out.delivery_id, Outcome::GivenUp);
    tracing::warn!(target: "trail", campaign = %out.campaign_id, delivery = %out.delivery_id, attempts = max, "sender: webhook delivery given up");
}

/// The wait before attempt `attempt` (2 or more): the base, doubling.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(2).min(31);
    base.saturating_mul(1 << doublings)
}

/// The webhook URL, waiting until one is set; `None` once the sandbox is
/// gone.
async fn webhook_url(shared: &Shared) -> Option<String> {
    let mut watch = shared.webhook.subscribe();
    let url = watch.wait_for(Option::is_some).await.ok()?;
    url.clone()
}

/// One signed POST, recorded; the 2xx it was answered with.
async fn post(
    shared: &Shared,
    out: &Outgoing,
    url: &str,
    attempt: u32,
    duplicate: bool,
) -> Result<u16, Failure> {
    let timestamp = Utc::now().timestamp();
    let signature = shared.signer.sign(timestamp, &out.body);
    let sent = shared
        .http
        .post(url)
        .header("content-type", "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, signature)
        .body(out.body.clone())
        .send()
        .await;
    let result = match sent {
        Ok(response) if response.status().is_success() => Ok(response.status().as_u16()),
        Ok(response) => Err(Failure::Status(response.status().as_u16())),
        Err(e) => Err(Failure::Connection(chain(&e))),
    };
    let (answer, error) = match &result {
        Ok(code) => (Some(*code), None),
        Err(Failure::Status(code)) => (Some(*code), None),
        Err(Failure::Connection(e)) => (None, Some(e.clone())),
    };
    shared.store().record_attempt(
        &out.campaign_id,
        out.delivery_id,
        AttemptRecord {
            attempt,
            duplicate,
            url: url.to_owned(),
            timestamp,
            at: Utc::now(),
            answer,
            error,
        },
    );
    result
}

/// An error with its causes: reqwest's own message alone says only that
/// sending failed, not why.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_and_saturates() {
        let base = Duration::from_millis(200);
        let waits: Vec<u128> = (2..=6).map(|a| backoff(base, a).as_millis()).collect();
        assert_eq!(waits, [200, 400, 800, 1600, 3200]);
        assert_eq!(backoff(Duration::MAX, 9), Duration::MAX);
    }
}
