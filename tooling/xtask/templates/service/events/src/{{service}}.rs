//! Events published by the {{service}} service (`source` = [`SOURCE`]),
//! compiled into the `events` crate from this folder.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::contract::contract;

/// This service's `source` on the bus.
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
