//! Events published by the {{service}} service (`source` = [`SOURCE`]),
//! a module of the `events` crate that this team owns.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::EventSpec;
use crate::contract::contract;

/// This service's `source` on the bus. Changing it is a breaking change
/// for every rule on the bus.
pub const SOURCE: &str = "app.{{service}}";

/// The {{service}} service erased everything it held about a deleted user
/// (after `UserDeleted`). The users service deletes the person's sign-in
/// once every service it waits for (its stack's `ErasureConfirmedBy`) has
/// said so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct {{Items}}UserErasedV1 {
    pub user_id: String,
    pub erased_at: DateTime<Utc>,
}
contract!({{Items}}UserErasedV1, SOURCE, "UserDataErased", v 1);

/// Every version this team publishes, for the catalog: a version stays
/// while any consumer may still receive it.
pub fn catalog() -> Vec<EventSpec> {
    vec![EventSpec::of::<{{Items}}UserErasedV1>()]
}
