//! What this service puts on the bus and takes from it: the one declaration
//! its template's rules and the contract tests are checked against.

use events::campaigns::{CampaignDeliveredV1, CampaignsUserErasedV1};
use events::users::{UserDeletedV1, UserRegisteredV1};
use events::{Event, EventKey};

pub const SERVICE: &str = "campaigns";

pub const PUBLISHES: &[EventKey] = &[CampaignDeliveredV1::KEY, CampaignsUserErasedV1::KEY];

/// The audience is this service's own projection of the users events; a
/// user's erasure reaches it like every other service.
pub const CONSUMES: &[EventKey] = &[UserRegisteredV1::KEY, UserDeletedV1::KEY];
