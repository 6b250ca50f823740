//! Events this service consumes, decoded from what the bus delivers.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::Utc;
use events::todos::DeletionReason;
use events::users::UserDeletedV1;
use kit::idempotency::{IdempotencyError, Processed};

use crate::items::Tombstone;
use crate::objects::{ObjectsError, Versions};
use crate::store::{Store, StoreError};
use events::{ContractError, Envelope, Event, ReceivedKey, decode, received_key};
use serde_json::Value;
use tracing::Instrument;

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
    #[error("todos does not consume {0:?}")]
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
    Store(#[from] StoreError),
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
    #[error(transparent)]
    Objects(#[from] ObjectsError),
}

/// What erasing a user works with: the table, and every version of the
/// bucket's objects.
#[derive(Clone)]
pub struct Erasure {
    pub store: Store,
    pub versions: Versions,
}

/// What handling one delivery did.
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    Erased { todos: usize },
    Duplicate,
}

/// Handles one delivery from the bus. An error fails the invocation, so
/// Lambda retries it and then dead-letters it with the error's message.
pub async fn handle(
    app: &Erasure,
    processed: &Processed,
    event: &EventBridgeEvent<Value>,
) -> Result<Handled, HandleError> {
    match decode_incoming(event)? {
        Incoming::UserDeleted(deleted) => {
            let meta = &deleted.metadata;
            let span = tracing::info_span!("event", correlation_id = %meta.correlation_id, event_id = %meta.event_id);
            erase(app, processed, &deleted).instrument(span).await
        }
    }
}

async fn erase(
    app: &Erasure,
    processed: &Processed,
    deleted: &Envelope<UserDeletedV1>,
) -> Result<Handled, HandleError> {
    let meta = &deleted.metadata;
    if processed.seen(meta.event_id).await? {
        tracing::info!("duplicate delivery ignored");
        return Ok(Handled::Duplicate);
    }
    // Closed first, so no todo is created after the query below reads
    // them all. Deletes are idempotent, so a crash part-way is finished
    // by the retry; the event is recorded only once all are gone.
    let store = &app.store;
    store.close_account(&deleted.data.user_id, meta).await?;
    let todos = store.all_for_user(&deleted.data.user_id).await?;
    for todo in &todos {
        let tombstone = Tombstone::of(
            todo,
            DeletionReason::UserDeleted,
            Utc::now(),
            &meta.correlation_id,
            Some(meta.event_id.to_string()),
        );
        match store.delete(todo, &tombstone).await {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // Every version of every file under the user's prefix, those of
    // todos already gone included: the bucket is versioned.
    let prefix = crate::domain::user_prefix(&deleted.data.user_id);
    let versions = app.versions.erase_prefix(&prefix).await?;
    store
        .write_erasure_receipt(&deleted.data.user_id, meta)
        .await?;
    processed.record(meta.event_id).await?;
    tracing::info!(
        todos = todos.len(),
        versions,
        "erased the user's todos and files"
    );
    Ok(Handled::Erased { todos: todos.len() })
}
