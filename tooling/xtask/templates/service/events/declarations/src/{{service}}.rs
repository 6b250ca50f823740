//! What the {{service}} service puts on the bus and takes from it: the one
//! declaration its template's rules, the contract tests and the deploy
//! tools are checked against. The {{service}} team owns this file.

use events::users::UserDeletedV1;
use events::{{service}}::{{Items}}UserErasedV1;
use events::{Event, EventKey};

use crate::Service;

/// Its word that it erased a deleted user; every event the service
/// publishes is declared here.
const PUBLISHES: &[EventKey] = &[{{Items}}UserErasedV1::KEY];

/// A user's erasure reaches every service that holds user data.
const CONSUMES: &[EventKey] = &[UserDeletedV1::KEY];

pub const DECLARATION: Service = Service {
    name: "{{service}}",
    publishes: PUBLISHES,
    consumes: CONSUMES,
};
