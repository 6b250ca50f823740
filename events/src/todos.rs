//! Events published by the todos service (`source` = [`SOURCE`]).

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::EventSpec;
use crate::contract::contract;

/// This service's `source` on the bus. Changing it is a breaking change
/// for every rule on the bus.
pub const SOURCE: &str = "app.todos";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TodoCreatedV1 {
    pub todo_id: Uuid,
    pub user_id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
}
contract!(TodoCreatedV1, SOURCE, "TodoCreated", v 1);

/// A field of a todo that an update changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TodoField {
    Title,
    Description,
    DueDate,
    Completed,
}

/// The todo after an update, with the fields that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TodoUpdatedV1 {
    pub todo_id: Uuid,
    pub user_id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<NaiveDate>,
    pub completed: bool,
    pub changed: Vec<TodoField>,
    pub updated_at: DateTime<Utc>,
}
contract!(TodoUpdatedV1, SOURCE, "TodoUpdated", v 1);

/// Published once, when a todo goes from open to completed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TodoCompletedV1 {
    pub todo_id: Uuid,
    pub user_id: String,
    pub title: String,
    pub completed_at: DateTime<Utc>,
}
contract!(TodoCompletedV1, SOURCE, "TodoCompleted", v 1);

/// Why a todo went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeletionReason {
    /// The owner deleted it.
    UserRequest,
    /// The owner's account was deleted.
    UserDeleted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TodoDeletedV1 {
    pub todo_id: Uuid,
    pub user_id: String,
    pub reason: DeletionReason,
    pub deleted_at: DateTime<Utc>,
}
contract!(TodoDeletedV1, SOURCE, "TodoDeleted", v 1);

/// An uploaded attachment passed validation and is ready to download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TodoAttachmentAddedV1 {
    pub todo_id: Uuid,
    pub user_id: String,
    pub attachment_id: Uuid,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: u64,
    /// Key of the object in the todos service's bucket.
    pub object_key: String,
    pub added_at: DateTime<Utc>,
}
contract!(TodoAttachmentAddedV1, SOURCE, "TodoAttachmentAdded", v 1);

/// The todos service erased everything it held about a deleted user
/// (after `UserDeleted`). The users service deletes the person's sign-in
/// once every service holding user data has said so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TodosUserErasedV1 {
    pub user_id: String,
    pub erased_at: DateTime<Utc>,
}
contract!(TodosUserErasedV1, SOURCE, "UserDataErased", v 1);

/// Every version this team publishes, for the catalog: a version stays
/// while any consumer may still receive it.
pub fn catalog() -> Vec<EventSpec> {
    vec![
        EventSpec::of::<TodoCreatedV1>(),
        EventSpec::of::<TodoUpdatedV1>(),
        EventSpec::of::<TodoCompletedV1>(),
        EventSpec::of::<TodoDeletedV1>(),
        EventSpec::of::<TodoAttachmentAddedV1>(),
        EventSpec::of::<TodosUserErasedV1>(),
    ]
}
