//! What the sandbox control routes report: every campaign with what
//! happened to it, and the counts. A test or the local cloud reads these
//! to account for every request and delivery, so nothing is summarised
//! away.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::campaign::Status;

/// `GET /_sandbox/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests to the `/v1` API, whatever their answer.
    pub requests: u64,
    /// 401s answered.
    pub unauthorized: u64,
    /// 400s answered.
    pub invalid: u64,
    /// Campaigns created (202 with a new id).
    pub accepted: u64,
    /// 202s that answered an existing campaign for its Idempotency-Key.
    pub replayed: u64,
    /// 503s and 429s the `5xx=`/`429=` scenarios answered.
    pub refused: u64,
    /// Deliveries begun (one per status change sent; retries and
    /// duplicates are not more deliveries).
    pub deliveries: u64,
    /// POSTs to the webhook, retries included, duplicates not.
    pub delivery_attempts: u64,
    /// Duplicate POSTs (each after a 2xx).
    pub duplicates_sent: u64,
    /// Deliveries that ran out of attempts.
    pub deliveries_given_up: u64,
}

/// `GET /_sandbox/campaigns`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// In the order they were accepted.
    pub campaigns: Vec<CampaignRecord>,
    /// Requests that were only ever refused (`5xx=`/`429=`): no campaign
    /// holds them yet.
    pub requests_without_campaign: Vec<RequestGroup>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignRecord {
    pub id: String,
    pub reference: String,
    pub subject: String,
    pub recipients: usize,
    pub idempotency_key: Option<String>,
    pub status: Status,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Every status the campaign reached, `pending` first.
    pub history: Vec<Change>,
    /// The requests for its Idempotency-Key (or, without a key, for its
    /// exact body) and their answers, refusals included.
    pub requests: Vec<RequestRecord>,
    /// One per status change, in the order they were sent.
    pub deliveries: Vec<DeliveryRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub status: Status,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestGroup {
    /// `None` when the requests came without a key (grouped by body).
    pub idempotency_key: Option<String>,
    pub requests: Vec<RequestRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub at: DateTime<Utc>,
    /// The status code answered: 202, 503 or 429.
    pub status: u16,
    /// The campaign a 202 answered with.
    pub campaign_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub delivery_id: uuid::Uuid,
    pub status: Status,
    pub outcome: Outcome,
    pub attempts: Vec<AttemptRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Waiting its turn, or for a webhook URL.
    Queued,
    Delivering,
    /// A 2xx ended it.
    Delivered,
    /// Every attempt failed.
    GivenUp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// 1 for the first POST; a duplicate continues the count.
    pub attempt: u32,
    pub duplicate: bool,
    pub url: String,
    /// The `Sender-Timestamp` this attempt was signed with.
    pub timestamp: i64,
    pub at: DateTime<Utc>,
    /// The status code the webhook answered, if it answered.
    pub answer: Option<u16>,
    /// Why there was no answer (connection refused, timeout…).
    pub error: Option<String>,
}
