//! Events this service consumes: decoded, then acted on exactly once.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::Utc;
use events::campaigns::CampaignDeliveredV1;
use events::todos::TodoCompletedV1;
use events::users::{UserDeletedV1, UserRegisteredV1};
use events::{ContractError, Envelope, Event, Metadata, ReceivedKey, decode, received_key};
use kit::idempotency::{IdempotencyError, Processed};
use kit::table::TableError;
use serde_json::Value;
use tracing::Instrument;
use uuid::Uuid;

use crate::domain::{self, Draft, Wording};
use crate::items::Notification;
use crate::store::{Added, Store};

/// What the consumer decodes, as its declaration says: its pre-traffic
/// hook hands a new version the committed example of each
/// (`kit::hook`; the contract tests hold it to the declaration).
pub const CONSUMED: &[events::EventKey] = &[
    UserRegisteredV1::KEY,
    TodoCompletedV1::KEY,
    CampaignDeliveredV1::KEY,
    UserDeletedV1::KEY,
];

#[derive(Debug)]
pub enum Incoming {
    UserRegistered(Envelope<UserRegisteredV1>),
    TodoCompleted(Envelope<TodoCompletedV1>),
    UserDeleted(Envelope<UserDeletedV1>),
    CampaignDelivered(Envelope<CampaignDeliveredV1>),
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("notifications does not consume {0:?}")]
    NotConsumed(ReceivedKey),
    #[error(transparent)]
    Invalid(#[from] ContractError),
}

pub fn decode_incoming(event: &EventBridgeEvent<Value>) -> Result<Incoming, DecodeError> {
    let key = received_key(event);
    if key.is(UserRegisteredV1::KEY) {
        Ok(Incoming::UserRegistered(decode(event)?))
    } else if key.is(TodoCompletedV1::KEY) {
        Ok(Incoming::TodoCompleted(decode(event)?))
    } else if key.is(UserDeletedV1::KEY) {
        Ok(Incoming::UserDeleted(decode(event)?))
    } else if key.is(CampaignDeliveredV1::KEY) {
        Ok(Incoming::CampaignDelivered(decode(event)?))
    } else {
        Err(DecodeError::NotConsumed(key))
    }
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

#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    Notified(Uuid),
    Erased(usize),
    Duplicate,
    /// About a user erased after the event happened: nothing stored.
    AfterErasure,
}

/// Handles one delivery from the bus. An error fails the invocation, so
/// Lambda retries it and then dead-letters it with the error's message.
pub async fn handle(
    store: &Store,
    processed: &Processed,
    wording: &Wording,
    event: &EventBridgeEvent<Value>,
) -> Result<Handled, HandleError> {
    match decode_incoming(event)? {
        Incoming::UserRegistered(e) => {
            notify(store, processed, &e.metadata, domain::welcome(&e.data)).await
        }
        Incoming::TodoCompleted(e) => {
            notify(
                store,
                processed,
                &e.metadata,
                domain::congratulate(wording, &e.data),
            )
            .await
        }
        Incoming::CampaignDelivered(e) => {
            notify(store, processed, &e.metadata, domain::campaign(&e.data)).await
        }
        Incoming::UserDeleted(e) => {
            async {
                if processed.seen(e.metadata.event_id).await? {
                    return Ok(Handled::Duplicate);
                }
                // The record first: a notification about something before
                // the deletion, stored after this point, is refused; one
                // stored before it is found by the erasure below.
                store
                    .mark_erased(&e.data.user_id, e.metadata.occurred_at)
                    .await?;
                let erased = store.erase(&e.data.user_id).await?;
                store
                    .write_erasure_receipt(&e.data.user_id, &e.metadata)
                    .await?;
                processed.record(e.metadata.event_id).await?;
                tracing::info!(erased, "erased the user's notifications");
                Ok(Handled::Erased(erased))
            }
            .instrument(span(&e.metadata))
            .await
        }
    }
}

fn span(meta: &Metadata) -> tracing::Span {
    tracing::info_span!("event", correlation_id = %meta.correlation_id, event_id = %meta.event_id)
}

async fn notify(
    store: &Store,
    processed: &Processed,
    meta: &Metadata,
    draft: Draft,
) -> Result<Handled, HandleError> {
    notify_once(store, processed, meta, draft)
        .instrument(span(meta))
        .await
}

async fn notify_once(
    store: &Store,
    processed: &Processed,
    meta: &Metadata,
    draft: Draft,
) -> Result<Handled, HandleError> {
    let n = Notification::new(
        Uuid::now_v7(),
        draft,
        meta.event_id,
        Utc::now(),
        &meta.correlation_id,
    );
    match store.add_once(&n, processed, meta.occurred_at).await? {
        Added::Stored => {
            tracing::info!(notification_id = %n.notification_id, "notification stored");
            Ok(Handled::Notified(n.notification_id))
        }
        Added::Duplicate => {
            tracing::info!("duplicate delivery ignored");
            Ok(Handled::Duplicate)
        }
        Added::Erased => {
            tracing::info!("the user was erased after this event; nothing stored");
            Ok(Handled::AfterErasure)
        }
    }
}
