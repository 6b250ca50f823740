//! The notifications table's items. `pk` = `USER#<sub>`, `sk` =
//! `NOTIF#<uuid v7>` so a query in reverse key order lists newest first;
//! the user's open WebSocket connections sit beside them as
//! `CONN#<connection id>`, so a push reads one partition and can never
//! reach another user's connection.

use chrono::{DateTime, Utc};
use events::notifications::Kind;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

pub fn notification_sk(notification_id: Uuid) -> String {
    format!("NOTIF#{notification_id}")
}

pub const CONNECTION_PREFIX: &str = "CONN#";

/// The sort key of a user's erasure record, beside their notifications.
pub const ERASURE_SK: &str = "ERASED";

pub fn connection_sk(connection_id: &str) -> String {
    format!("{CONNECTION_PREFIX}{connection_id}")
}

/// API Gateway ends every WebSocket connection after 2 hours, so a record
/// a lost `$disconnect` left behind expires by TTL then.
pub const CONNECTION_LIFETIME_SECONDS: i64 = 2 * 60 * 60;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Item {
    Notification(Notification),
    Connection(Connection),
    Erasure(Erasure),
    /// Written once the user's data is erased: publishes UserDataErased.
    ErasureReceipt(kit::erasure::Receipt),
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub pk: String,
    pub sk: String,
    pub notification_id: Uuid,
    pub user_id: String,
    pub notification_kind: Kind,
    pub message: String,
    /// Absent on notifications stored before links existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    pub source_event_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub correlation_id: String,
}

impl Notification {
    pub fn new(
        notification_id: Uuid,
        draft: crate::domain::Draft,
        source_event_id: Uuid,
        now: DateTime<Utc>,
        correlation_id: &str,
    ) -> Self {
        Self {
            pk: user_pk(&draft.user_id),
            sk: notification_sk(notification_id),
            notification_id,
            user_id: draft.user_id,
            notification_kind: draft.kind,
            message: draft.message,
            link: draft.link,
            source_event_id,
            created_at: now,
            correlation_id: correlation_id.into(),
        }
    }
}

/// An open WebSocket connection of a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub pk: String,
    pub sk: String,
    pub connection_id: String,
    pub user_id: String,
    pub connected_at: DateTime<Utc>,
    /// Epoch seconds; the table's TTL attribute.
    pub expires_at: i64,
}

impl Connection {
    pub fn new(user_id: &str, connection_id: &str, connected_at: DateTime<Utc>) -> Self {
        Self {
            pk: user_pk(user_id),
            sk: connection_sk(connection_id),
            connection_id: connection_id.into(),
            user_id: user_id.into(),
            connected_at,
            expires_at: connected_at.timestamp() + CONNECTION_LIFETIME_SECONDS,
        }
    }
}

/// A user's erasure (UserDeleted), kept so that an event about them that
/// happened before it but arrives after it (an async retry, a replay from
/// the DLQ) stores nothing: the erasure is final for everything before it.
/// Kept as long as processed-event records, longer than any retry or
/// replay window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Erasure {
    pub pk: String,
    pub sk: String,
    pub user_id: String,
    /// When the user was deleted (the event's `occurred_at`), in epoch
    /// milliseconds: a number, so a write can compare its own event's time.
    pub erased_at_ms: i64,
    /// Epoch seconds; the table's TTL attribute.
    pub expires_at: i64,
}

impl Erasure {
    pub fn new(user_id: &str, erased_at: DateTime<Utc>, keep_for: std::time::Duration) -> Self {
        Self {
            pk: user_pk(user_id),
            sk: ERASURE_SK.into(),
            user_id: user_id.into(),
            erased_at_ms: erased_at.timestamp_millis(),
            expires_at: Utc::now().timestamp() + keep_for.as_secs() as i64,
        }
    }
}
