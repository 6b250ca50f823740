//! What the campaigns service puts on the bus and takes from it: the one
//! declaration its template's rules, the contract tests and the deploy
//! tools are checked against. The campaigns team owns this file.

use events::campaigns::{CampaignDeliveredV1, CampaignsUserErasedV1};
use events::users::{UserDeletedV1, UserRegisteredV1};
use events::{Event, EventKey};

use crate::Service;

const PUBLISHES: &[EventKey] = &[CampaignDeliveredV1::KEY, CampaignsUserErasedV1::KEY];

/// The audience is this service's own projection of the users events; a
/// user's erasure reaches it like every other service.
const CONSUMES: &[EventKey] = &[UserRegisteredV1::KEY, UserDeletedV1::KEY];

pub const DECLARATION: Service = Service {
    name: "campaigns",
    publishes: PUBLISHES,
    consumes: CONSUMES,
};
