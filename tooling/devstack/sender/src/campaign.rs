//! The shapes the vendor's API answers with and its webhook sends: what a
//! caller codes against, so they serialize and deserialize both ways.

use serde::{Deserialize, Serialize};

/// Where a campaign is. `pending`, then `sending`, then `sent` or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Sending,
    Sent,
    Failed,
}

/// The reason a `[sandbox:fail]` campaign gives.
pub const REJECTED: &str = "the mailbox provider rejected the campaign";

/// `POST /v1/campaigns` (202) and `GET /v1/campaigns/{id}` (200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignAnswer {
    /// `cmp_` and a UUID without hyphens.
    pub id: String,
    pub status: Status,
    pub reference: String,
    /// How many recipients the campaign was accepted with.
    pub recipients: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A webhook delivery's body. Serialized once per delivery: every attempt
/// and duplicate carries the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// A UUID v4, the same across a delivery's attempts and duplicates:
    /// the receiver's deduplication key.
    pub delivery_id: uuid::Uuid,
    pub campaign_id: String,
    pub reference: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// RFC 3339, UTC: when the campaign reached `status`.
    pub occurred_at: String,
}

/// An API error's body: `{"error", "message", "field"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// `invalid_api_key`, `invalid_request`, `not_found`, `unavailable`,
    /// `rate_limited`.
    pub error: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error answer in the API's shape.
pub fn error(
    status: axum::http::StatusCode,
    code: &str,
    message: &str,
    field: Option<&str>,
) -> axum::response::Response {
    let body = ApiError {
        error: code.to_owned(),
        message: message.to_owned(),
        field: field.map(str::to_owned),
    };
    axum::response::IntoResponse::into_response((status, axum::Json(body)))
}
