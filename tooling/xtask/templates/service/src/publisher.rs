//! The outbox read side: table changes in, domain events out.

use aws_lambda_events::dynamodb::EventRecord;
use events::PutEntry;
use kit::stream::{StreamError, change};

use crate::items::Item;

/// The events one stream record publishes. The service publishes none
/// yet: declare an event in `contract/declaration.rs` (its type in
/// `contract/events.rs`) and map the change that
/// announces it here (see `product/services/users/src/publisher.rs`). Every record
/// is still decoded, so a malformed item fails the batch loudly.
pub fn events_for(record: &EventRecord) -> Result<Vec<PutEntry>, StreamError> {
    change::<Item>(record)?;
    Ok(Vec::new())
}
