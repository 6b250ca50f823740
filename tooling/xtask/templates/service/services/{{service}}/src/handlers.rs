//! Events this service consumes, decoded from what the bus delivers.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use events::users::UserDeletedV1;
use events::{ContractError, Envelope, Event, ReceivedKey, decode, received_key};
use kit::idempotency::{IdempotencyError, Processed};
use kit::table::TableError;
use serde_json::Value;
use tracing::Instrument;

use crate::store::Store;

/// What the consumer decodes, as its declaration says: its pre-traffic
/// hook hands a new version the committed example of each
/// (`kit::hook`; the contract tests hold it to the declaration).
pub const CONSUMED: &[events::EventKey] = &[UserDeletedV1::KEY];

#[derive(Debug)]
pub enum Incoming {
    UserDeleted(Envelope<UserDeletedV1>),
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("{{service}} does not consume {0:?}")]
    NotConsumed(ReceivedKey),
    #[error(transparent)]
    Invalid(#[from] ContractError),
}

pub fn decode_incoming(event: &EventBridgeEvent<Value>) -> Result<Incoming, DecodeError> {
    let key = received_key(event);
    if key.is(UserDeletedV1::KEY) {
        return Ok(Incoming::UserDeleted(decode(event)?));
    }
    Err(DecodeError::NotConsumed(key))
}

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Store(#[from] TableError),
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
}

/// What handling one delivery did.
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    Erased { items: usize },
    Duplicate,
}

/// Handles one delivery from the bus. An error fails the invocation, so
/// Lambda retries it and then dead-letters it with the error's message.
pub async fn handle(
    store: &Store,
    processed: &Processed,
    event: &EventBridgeEvent<Value>,
) -> Result<Handled, HandleError> {
    match decode_incoming(event)? {
        Incoming::UserDeleted(deleted) => {
            let meta = &deleted.metadata;
            let span = tracing::info_span!("event", correlation_id = %meta.correlation_id, event_id = %meta.event_id);
            erase(store, processed, &deleted).instrument(span).await
        }
    }
}

async fn erase(
    store: &Store,
    processed: &Processed,
    deleted: &Envelope<UserDeletedV1>,
) -> Result<Handled, HandleError> {
    let event_id = deleted.metadata.event_id;
    if processed.seen(event_id).await? {
        tracing::info!("duplicate delivery ignored");
        return Ok(Handled::Duplicate);
    }
    // Deletes are idempotent, so a crash part-way is finished by the retry;
    // the receipt (whose insert publishes UserDataErased) and the event's
    // record are written only once all are gone.
    let items = store.erase_user(&deleted.data.user_id).await?;
    store
        .write_erasure_receipt(&deleted.data.user_id, &deleted.metadata)
        .await?;
    processed.record(event_id).await?;
    tracing::info!(items, "erased the user's {{service}}");
    Ok(Handled::Erased { items })
}
