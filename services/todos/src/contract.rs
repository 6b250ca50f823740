//! What this service puts on the bus and takes from it.

use events::todos::{
    TodoAttachmentAddedV1, TodoCompletedV1, TodoCreatedV1, TodoDeletedV1, TodoUpdatedV1,
    TodosUserErasedV1,
};
use events::users::UserDeletedV1;
use events::{Event, EventKey};

pub const SERVICE: &str = "todos";

pub const PUBLISHES: &[EventKey] = &[
    TodoCreatedV1::KEY,
    TodoUpdatedV1::KEY,
    TodoCompletedV1::KEY,
    TodoDeletedV1::KEY,
    TodoAttachmentAddedV1::KEY,
    TodosUserErasedV1::KEY,
];

pub const CONSUMES: &[EventKey] = &[UserDeletedV1::KEY];
