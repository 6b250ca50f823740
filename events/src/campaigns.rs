//! Events published by the campaigns service (`source` = [`SOURCE`]).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::EventSpec;
use crate::contract::contract;

/// This service's `source` on the bus. Changing it is a breaking change
/// for every rule on the bus.
pub const SOURCE: &str = "app.campaigns";

/// A campaign the sender confirmed as sent reached one member of its
/// audience: one event per recipient, so each consumer's work stays one
/// small, retryable unit however large the audience.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CampaignDeliveredV1 {
    pub campaign_id: Uuid,
    /// The recipient: the identity provider's subject (`sub`).
    pub user_id: String,
    #[schemars(length(min = 1, max = 200))]
    pub subject: String,
    #[schemars(length(min = 1, max = 2000))]
    pub body: String,
    pub delivered_at: DateTime<Utc>,
}
contract!(CampaignDeliveredV1, SOURCE, "CampaignDelivered", v 1);

/// The campaigns service erased everything it held about a deleted user
/// (after `UserDeleted`). The users service deletes the person's sign-in
/// once every service holding user data has said so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CampaignsUserErasedV1 {
    pub user_id: String,
    pub erased_at: DateTime<Utc>,
}
contract!(CampaignsUserErasedV1, SOURCE, "UserDataErased", v 1);

/// Every version this team publishes, for the catalog: a version stays
/// while any consumer may still receive it.
pub fn catalog() -> Vec<EventSpec> {
    vec![
        EventSpec::of::<CampaignDeliveredV1>(),
        EventSpec::of::<CampaignsUserErasedV1>(),
    ]
}
