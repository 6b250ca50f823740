//! The {{service}} table's items. Key schema: `pk` = `USER#<sub>`, `sk`
//! names the item kind. The stream publisher reads these same shapes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

pub const {{ITEM}}_PREFIX: &str = "{{ITEM}}#";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Item {
    {{Item}}({{Item}}),
    /// The user's erasure is done: its insert publishes UserDataErased.
    ErasureReceipt(kit::erasure::Receipt),
    /// Items the publisher has no business with (idempotency records, ...).
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct {{Item}} {
    pub pk: String,
    pub sk: String,
    pub id: Uuid,
    pub user_id: String,
    pub title: String,
    pub created_at: DateTime<Utc>,
    /// Of the request that wrote this version of the item.
    pub correlation_id: String,
}

impl {{Item}} {
    pub fn new(user_id: &str, title: &str, now: DateTime<Utc>, correlation_id: &str) -> Self {
        // v7: ids sort by creation time, so a partition lists newest first.
        let id = Uuid::now_v7();
        Self {
            pk: user_pk(user_id),
            sk: format!("{{{ITEM}}_PREFIX}{id}"),
            id,
            user_id: user_id.into(),
            title: title.into(),
            created_at: now,
            correlation_id: correlation_id.into(),
        }
    }
}
