//! The todos table's items. `pk` = `USER#<sub>` so a user's todos are one
//! partition (listing and erasure are queries); `sk` = `TODO#<id>`.

use chrono::{DateTime, NaiveDate, Utc};
use events::todos::DeletionReason;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

pub fn todo_sk(todo_id: Uuid) -> String {
    format!("TODO#{todo_id}")
}

pub fn tombstone_sk(todo_id: Uuid) -> String {
    format!("DELETED#{todo_id}")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Item {
    Todo(Todo),
    /// Written in the transaction that deletes a todo, so the deletion
    /// reaches the stream with its correlation id and reason.
    Tombstone(Tombstone),
    /// Written once the user's data is erased: publishes UserDataErased.
    ErasureReceipt(kit::erasure::Receipt),
    /// Written before the user's data is erased: no todo is created after.
    ErasureClosure(kit::erasure::Closure),
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Todo {
    pub pk: String,
    pub sk: String,
    pub todo_id: Uuid,
    pub user_id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<NaiveDate>,
    pub completed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    pub correlation_id: String,
}

impl Todo {
    pub fn new(
        todo_id: Uuid,
        user_id: &str,
        title: &str,
        now: DateTime<Utc>,
        correlation_id: &str,
    ) -> Self {
        Self {
            pk: user_pk(user_id),
            sk: todo_sk(todo_id),
            todo_id,
            user_id: user_id.into(),
            title: title.into(),
            description: None,
            due_date: None,
            completed: false,
            completed_at: None,
            created_at: now,
            updated_at: now,
            attachments: Vec::new(),
            correlation_id: correlation_id.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentStatus {
    /// An upload URL was handed out; the object has not been checked.
    Pending,
    Ready,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub attachment_id: Uuid,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: u64,
    pub object_key: String,
    pub status: AttachmentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// Of the request that asked for the upload URL: the S3-triggered
    /// check carries it on.
    pub correlation_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tombstone {
    pub pk: String,
    pub sk: String,
    pub todo_id: Uuid,
    pub user_id: String,
    pub reason: DeletionReason,
    pub deleted_at: DateTime<Utc>,
    pub correlation_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
    /// Epoch seconds; the table's TTL attribute.
    pub expires_at: i64,
}

impl Tombstone {
    pub fn of(
        todo: &Todo,
        reason: DeletionReason,
        now: DateTime<Utc>,
        correlation_id: &str,
        causation_id: Option<String>,
    ) -> Self {
        Self {
            pk: todo.pk.clone(),
            sk: tombstone_sk(todo.todo_id),
            todo_id: todo.todo_id,
            user_id: todo.user_id.clone(),
            reason,
            deleted_at: now,
            correlation_id: correlation_id.into(),
            causation_id,
            expires_at: (now + chrono::Duration::days(7)).timestamp(),
        }
    }
}
