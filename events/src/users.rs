//! Events published by the users service (`source` = [`SOURCE`]).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::EventSpec;
use crate::contract::contract;

/// This service's `source` on the bus. Changing it is a breaking change
/// for every rule on the bus.
pub const SOURCE: &str = "app.users";

/// A person was registered: their sign-up was confirmed (the user pool's
/// PostConfirmation trigger made their profile), an administrator's user
/// signed in for the first time (PostAuthentication made it), or, for an
/// account confirmed before those triggers existed, their first profile
/// was saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserRegisteredV1 {
    /// The identity provider's subject (`sub`) of the user.
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    pub registered_at: DateTime<Utc>,
}
contract!(UserRegisteredV1, SOURCE, "UserRegistered", v 1);

/// A registered user changed their profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserProfileUpdatedV1 {
    pub user_id: String,
    pub display_name: String,
    pub previous_display_name: String,
    pub updated_at: DateTime<Utc>,
}
contract!(UserProfileUpdatedV1, SOURCE, "UserProfileUpdated", v 1);

/// A user deleted their account. Every service erases that user's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserDeletedV1 {
    pub user_id: String,
    pub deleted_at: DateTime<Utc>,
}
contract!(UserDeletedV1, SOURCE, "UserDeleted", v 1);

/// Every version this team publishes, for the catalog: a version stays
/// while any consumer may still receive it.
pub fn catalog() -> Vec<EventSpec> {
    vec![
        EventSpec::of::<UserRegisteredV1>(),
        EventSpec::of::<UserProfileUpdatedV1>(),
        EventSpec::of::<UserDeletedV1>(),
    ]
}
