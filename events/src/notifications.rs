//! Events published by the notifications service (`source` = `app.notifications`).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::contract::contract;
use crate::sources::NOTIFICATIONS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Welcome,
    TodoCompleted,
}

/// A notification was stored and handed to the delivery topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NotificationSentV1 {
    pub notification_id: Uuid,
    pub user_id: String,
    pub kind: NotificationKind,
    pub message: String,
    /// The event id that caused the notification.
    pub source_event_id: Uuid,
    pub sent_at: DateTime<Utc>,
}
contract!(NotificationSentV1, NOTIFICATIONS, "NotificationSent", v 1);
