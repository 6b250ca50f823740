//! What the notifications service puts on the bus and takes from it: the one
//! declaration its template's rules, the contract tests and the deploy
//! tools are checked against. The notifications team owns this file.

use events::campaigns::CampaignDeliveredV1;
use events::notifications::{NotificationSentV1, NotificationSentV2, NotificationsUserErasedV1};
use events::todos::TodoCompletedV1;
use events::users::{UserDeletedV1, UserRegisteredV1};
use events::{Event, EventKey};

use crate::Service;

const PUBLISHES: &[EventKey] = &[
    NotificationSentV1::KEY,
    NotificationSentV2::KEY,
    NotificationsUserErasedV1::KEY,
];

const CONSUMES: &[EventKey] = &[
    UserRegisteredV1::KEY,
    TodoCompletedV1::KEY,
    UserDeletedV1::KEY,
    CampaignDeliveredV1::KEY,
];

pub const DECLARATION: Service = Service {
    name: "notifications",
    publishes: PUBLISHES,
    consumes: CONSUMES,
};
