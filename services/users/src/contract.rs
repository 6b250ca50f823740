//! What this service puts on the bus and takes from it: the one declaration
//! its template's rules and the contract tests are checked against.

use events::users::{UserDeletedV1, UserProfileUpdatedV1, UserRegisteredV1};
use events::{Event, EventKey};

pub const SERVICE: &str = "users";

pub const PUBLISHES: &[EventKey] = &[
    UserRegisteredV1::KEY,
    UserProfileUpdatedV1::KEY,
    UserDeletedV1::KEY,
];

pub const CONSUMES: &[EventKey] = &[];
