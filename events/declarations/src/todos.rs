//! What the todos service puts on the bus and takes from it: the one
//! declaration its template's rules, the contract tests and the deploy
//! tools are checked against. The todos team owns this file.

use events::todos::{
    TodoAttachmentAddedV1, TodoCompletedV1, TodoCreatedV1, TodoDeletedV1, TodoUpdatedV1,
    TodosUserErasedV1,
};
use events::users::UserDeletedV1;
use events::{Event, EventKey};

use crate::Service;

const PUBLISHES: &[EventKey] = &[
    TodoCreatedV1::KEY,
    TodoUpdatedV1::KEY,
    TodoCompletedV1::KEY,
    TodoDeletedV1::KEY,
    TodoAttachmentAddedV1::KEY,
    TodosUserErasedV1::KEY,
];

const CONSUMES: &[EventKey] = &[UserDeletedV1::KEY];

pub const DECLARATION: Service = Service {
    name: "todos",
    publishes: PUBLISHES,
    consumes: CONSUMES,
};
