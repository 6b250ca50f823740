//! What the users service puts on the bus and takes from it: the one
//! declaration its template's rules, the contract tests and the deploy
//! tools are checked against. The users team owns this file.

use events::campaigns::CampaignsUserErasedV1;
use events::notifications::NotificationsUserErasedV1;
use events::todos::TodosUserErasedV1;
use events::users::{UserDeletedV1, UserProfileUpdatedV1, UserRegisteredV1};
use events::{Event, EventKey};

use crate::Service;

const PUBLISHES: &[EventKey] = &[
    UserRegisteredV1::KEY,
    UserProfileUpdatedV1::KEY,
    UserDeletedV1::KEY,
];

/// Each service's word that it erased a deleted user: the last one
/// deletes the person's sign-in.
const CONSUMES: &[EventKey] = &[
    TodosUserErasedV1::KEY,
    NotificationsUserErasedV1::KEY,
    CampaignsUserErasedV1::KEY,
];

pub const DECLARATION: Service = Service {
    name: "users",
    publishes: PUBLISHES,
    consumes: CONSUMES,
};
