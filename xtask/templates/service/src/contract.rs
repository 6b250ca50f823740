//! What this service puts on the bus and takes from it: the one declaration
//! its template's rules and the contract tests are checked against.

use events::users::UserDeletedV1;
use events::{Event, EventKey};

pub const SERVICE: &str = "{{service}}";

pub const PUBLISHES: &[EventKey] = &[];

/// A user's erasure reaches every service that holds user data.
pub const CONSUMES: &[EventKey] = &[UserDeletedV1::KEY];
