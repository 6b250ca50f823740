//! Events published by the notifications service (`source` = [`SOURCE`]).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::EventSpec;
use crate::contract::contract;

/// This service's `source` on the bus. Changing it is a breaking change
/// for every rule on the bus.
pub const SOURCE: &str = "app.notifications";

/// The kinds v1 knows. Closed: a kind added here would break its readers,
/// which is why v2 has [`Kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Welcome,
    TodoCompleted,
}

/// What a notification is about. Open: readers take a kind they do not
/// know as `other`, so kinds are added in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(transform = crate::open_enum)]
pub enum Kind {
    Welcome,
    TodoCompleted,
    /// An email campaign that reached its recipient.
    Campaign,
    #[serde(other)]
    Other,
}

impl Kind {
    /// The v1 kind, for the kinds v1 has.
    pub fn v1(self) -> Option<NotificationKind> {
        match self {
            Kind::Welcome => Some(NotificationKind::Welcome),
            Kind::TodoCompleted => Some(NotificationKind::TodoCompleted),
            Kind::Campaign | Kind::Other => None,
        }
    }
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
contract!(NotificationSentV1, SOURCE, "NotificationSent", v 1);

/// A notification was stored and handed to the delivery topic, of any
/// kind (v1 stays published beside it for the kinds it has).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NotificationSentV2 {
    pub notification_id: Uuid,
    pub user_id: String,
    pub kind: Kind,
    pub message: String,
    /// The event id that caused the notification.
    pub source_event_id: Uuid,
    pub sent_at: DateTime<Utc>,
}
contract!(NotificationSentV2, SOURCE, "NotificationSent", v 2);

/// The notifications service erased everything it held about a deleted user
/// (after `UserDeleted`). The users service deletes the person's sign-in
/// once every service holding user data has said so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NotificationsUserErasedV1 {
    pub user_id: String,
    pub erased_at: DateTime<Utc>,
}
contract!(NotificationsUserErasedV1, SOURCE, "UserDataErased", v 1);

/// Every version this team publishes, for the catalog: a version stays
/// while any consumer may still receive it.
pub fn catalog() -> Vec<EventSpec> {
    vec![
        EventSpec::of::<NotificationSentV1>(),
        EventSpec::of::<NotificationSentV2>(),
        EventSpec::of::<NotificationsUserErasedV1>(),
    ]
}
