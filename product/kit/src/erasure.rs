//! A service's receipt for a deleted user (`UserDeleted`): written once it
//! has erased everything it held about them, so its stream publishes the
//! service's `UserDataErased`, by which the users service knows when every
//! service is done and the person's sign-in may go. The receipt itself
//! holds only the user's id; it expires with the processed-event records.

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
