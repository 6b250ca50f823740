//! The notifications table's items. `pk` = `USER#<sub>`, `sk` =
//! `NOTIF#<uuid v7>` so a query in reverse key order lists newest first.

use chrono::{DateTime, Utc};
use events::notifications::NotificationKind;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

pub fn notification_sk(notification_id: Uuid) -> String {
    format!("NOTIF#{notification_id}")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Item {
    Notification(Notification),
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub pk: String,
    pub sk: String,
    pub notification_id: Uuid,
    pub user_id: String,
    pub notification_kind: NotificationKind,
    pub message: String,
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
            source_event_id,
            created_at: now,
            correlation_id: correlation_id.into(),
        }
    }
}
