//! The outbox read side: table changes in, domain events out.

use aws_lambda_events::dynamodb::EventRecord;
use events::PutEntry;
use events::{{service}}::{{Items}}UserErasedV1;
use kit::stream::{Change, Origin, StreamError, change};

use crate::SERVICE;
use crate::items::Item;

/// The events one stream record publishes: a written erasure receipt
/// publishes UserDataErased. Another event is declared in the team's
/// module of `declarations` (its type in its module of `events`) and mapped
/// from the change that announces it here (see
/// `services/todos/src/publisher.rs`). Every record is decoded, so
/// a malformed item fails the batch loudly.
pub fn events_for(record: &EventRecord) -> Result<Vec<PutEntry>, StreamError> {
    let origin = Origin {
        record,
        producer: SERVICE,
    };
    let mut out = Vec::new();
    if let Change::Insert {
        new: Item::ErasureReceipt(r),
    } = change::<Item>(record)?
    {
        out.push(origin.entry(
            r.erased_at,
            &r.correlation_id,
            Some(r.causation_id),
            {{Items}}UserErasedV1 {
                user_id: r.user_id,
                erased_at: r.erased_at,
            },
        )?);
    }
    Ok(out)
}
