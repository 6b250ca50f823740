//! What this service puts on the bus and takes from it.

use events::campaigns::CampaignDeliveredV1;
use events::notifications::{NotificationSentV1, NotificationSentV2, NotificationsUserErasedV1};
use events::todos::TodoCompletedV1;
use events::users::{UserDeletedV1, UserRegisteredV1};
use events::{Event, EventKey};

pub const SERVICE: &str = "notifications";

pub const PUBLISHES: &[EventKey] = &[
    NotificationSentV1::KEY,
    NotificationSentV2::KEY,
    NotificationsUserErasedV1::KEY,
];

pub const CONSUMES: &[EventKey] = &[
    UserRegisteredV1::KEY,
    TodoCompletedV1::KEY,
    UserDeletedV1::KEY,
    CampaignDeliveredV1::KEY,
];
