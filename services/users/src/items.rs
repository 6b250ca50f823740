//! The users table's items. Key schema: `pk` = `USER#<sub>`, `sk` names the
//! item kind. The stream publisher reads these same shapes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

pub const PROFILE_SK: &str = "PROFILE";
pub const TOMBSTONE_SK: &str = "TOMBSTONE";
/// `ERASED_BY#<service>`: that service erased a deleted user
/// (`UserDataErased`); the publisher announces nothing of it.
pub const ERASED_BY_PREFIX: &str = "ERASED_BY#";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Item {
    Profile(Profile),
    /// Written in the same transaction that deletes the profile, so the
    /// deletion reaches the stream with its correlation id; expires by TTL.
    Tombstone(Tombstone),
    ErasureConfirmation(ErasureConfirmation),
    /// Items the publisher has no business with (idempotency records, ...).
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub pk: String,
    pub sk: String,
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Of the request that wrote this version of the item.
    pub correlation_id: String,
}

impl Profile {
    pub fn new(
        user_id: &str,
        email: &str,
        display_name: &str,
        now: DateTime<Utc>,
        correlation_id: &str,
    ) -> Self {
        Self {
            pk: user_pk(user_id),
            sk: PROFILE_SK.into(),
            user_id: user_id.into(),
            email: email.into(),
            display_name: display_name.into(),
            created_at: now,
            updated_at: now,
            correlation_id: correlation_id.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tombstone {
    pub pk: String,
    pub sk: String,
    pub user_id: String,
    pub deleted_at: DateTime<Utc>,
    pub correlation_id: String,
    /// Epoch seconds; the table's TTL attribute.
    pub expires_at: i64,
}

impl Tombstone {
    pub fn new(user_id: &str, now: DateTime<Utc>, correlation_id: &str) -> Self {
        Self {
            pk: user_pk(user_id),
            sk: TOMBSTONE_SK.into(),
            user_id: user_id.into(),
            deleted_at: now,
            correlation_id: correlation_id.into(),
            expires_at: (now + chrono::Duration::days(7)).timestamp(),
        }
    }
}

/// One service's word that it erased a deleted user, kept 14 days (as
/// long as a replay may bring it again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErasureConfirmation {
    pub pk: String,
    pub sk: String,
    pub user_id: String,
    pub service: String,
    pub confirmed_at: DateTime<Utc>,
    /// Epoch seconds; the table's TTL attribute.
    pub expires_at: i64,
}

impl ErasureConfirmation {
    pub fn new(user_id: &str, service: &str, now: DateTime<Utc>) -> Self {
        Self {
            pk: user_pk(user_id),
            sk: format!("{ERASED_BY_PREFIX}{service}"),
            user_id: user_id.into(),
            service: service.into(),
            confirmed_at: now,
            expires_at: (now + chrono::Duration::days(14)).timestamp(),
        }
    }
}
