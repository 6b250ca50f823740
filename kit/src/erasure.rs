//! A service's receipt for a deleted user (`UserDeleted`): written once it
//! has erased everything it held about them, so its stream publishes the
//! service's `UserDataErased`, by which the users service knows when every
//! service is done and the person's sign-in may go. The receipt itself
//! holds only the user's id; it expires with the processed-event records.
//!
//! Before it erases anything, a service closes the user's account in its
//! table ([`close`]), and its writes for a user check the closure in the
//! same transaction ([`crate::table::Table::put_new_unless`]): an ID token
//! issued before the erasure stays valid for up to its lifetime, and what
//! it wrote after the erasure would never be erased.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::table::{Table, TableError};

/// The receipt's `sk`, beside the user's other items (`pk` is the
/// service's own key for the user).
pub const RECEIPT_SK: &str = "ERASURE_RECEIPT";

/// How long a receipt is kept: as long as a processed-event record, so a
/// replayed UserDeleted finds it and publishes nothing again.
const KEEP_DAYS: i64 = 14;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    pub pk: String,
    pub sk: String,
    pub user_id: String,
    pub erased_at: DateTime<Utc>,
    /// The deletion request's, carried to the receipt's event.
    pub correlation_id: String,
    /// The `UserDeleted` event this erasure answered.
    pub causation_id: String,
    /// Epoch seconds; the table's TTL attribute.
    pub expires_at: i64,
}

impl Receipt {
    pub fn new(pk: String, user_id: &str, deleted: &events::Metadata, now: DateTime<Utc>) -> Self {
        Self {
            pk,
            sk: RECEIPT_SK.into(),
            user_id: user_id.into(),
            erased_at: now,
            correlation_id: deleted.correlation_id.clone(),
            causation_id: deleted.event_id.to_string(),
            expires_at: (now + chrono::Duration::days(KEEP_DAYS)).timestamp(),
        }
    }
}

/// The closure's `sk`, beside the receipt.
pub const CLOSURE_SK: &str = "ERASURE_CLOSURE";

/// A user's account closed to writes, from the erasure's start. Kept as
/// long as a receipt: far longer than any token issued before it lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Closure {
    pub pk: String,
    pub sk: String,
    pub user_id: String,
    pub closed_at: DateTime<Utc>,
    /// The `UserDeleted` event that closed it.
    pub causation_id: String,
    /// Epoch seconds; the table's TTL attribute.
    pub expires_at: i64,
}

/// Closes the account of `user_id` (at `pk`) to writes, as the service's
/// item `wrap` makes of the closure; a retried erasure finds it closed.
pub async fn close<T: Serialize>(
    table: &Table,
    (pk, user_id): (String, &str),
    deleted: &events::Metadata,
    wrap: impl FnOnce(Closure) -> T,
) -> Result<(), TableError> {
    let now = Utc::now();
    let closure = Closure {
        pk,
        sk: CLOSURE_SK.into(),
        user_id: user_id.into(),
        closed_at: now,
        causation_id: deleted.event_id.to_string(),
        expires_at: (now + chrono::Duration::days(KEEP_DAYS)).timestamp(),
    };
    table.put_if_absent(&wrap(closure)).await.map(drop)
}

/// The answer to a write from a token issued before the user's erasure.
pub fn refused() -> crate::http_api::Response {
    crate::http_api::Response::error(409, "account_deleted", "this account was deleted", None)
}

/// Writes the receipt for `user_id` (at `pk`, answering `deleted`), as
/// the service's item `wrap` makes of it, unless one is there already: a
/// retried erasure publishes nothing twice.
pub async fn write<T: Serialize>(
    table: &Table,
    (pk, user_id): (String, &str),
    deleted: &events::Metadata,
    wrap: impl FnOnce(Receipt) -> T,
) -> Result<(), TableError> {
    let receipt = Receipt::new(pk, user_id, deleted, chrono::Utc::now());
    table.put_if_absent(&wrap(receipt)).await.map(drop)
}
