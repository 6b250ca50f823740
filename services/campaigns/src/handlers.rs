//! Events this service consumes: the users events its audience is a
//! projection of.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use events::users::{UserDeletedV1, UserRegisteredV1};
use events::{ContractError, Envelope, Event, ReceivedKey, decode, received_key};
use kit::table::TableError;
use serde_json::Value;
use tracing::Instrument;

use crate::items::{Erased, Member};
use crate::store::{Joined, Store};

/// What the consumer decodes, as its declaration says: its pre-traffic
/// hook hands a new version the committed example of each
/// (`kit::hook`; the contract tests hold it to the declaration).
pub const CONSUMED: &[events::EventKey] = &[UserRegisteredV1::KEY, UserDeletedV1::KEY];

#[derive(Debug)]
pub enum Incoming {
    UserRegistered(Envelope<UserRegisteredV1>),
    UserDeleted(Envelope<UserDeletedV1>),
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("campaigns does not consume {0:?}")]
    NotConsumed(ReceivedKey),
    #[error(transparent)]
    Invalid(#[from] ContractError),
}

pub fn decode_incoming(event: &EventBridgeEvent<Value>) -> Result<Incoming, DecodeError> {
    let key = received_key(event);
    if key.is(UserRegisteredV1::KEY) {
        return Ok(Incoming::UserRegistered(decode(event)?));
    }
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
}

/// What handling one delivery did. Both effects are idempotent (a member
/// is written whole, an erasure deletes), so a redelivery repeats them
/// harmlessly and needs no processed-event record.
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    Joined,
    /// A registration that arrived after the user's erasure: not added.
    AlreadyErased,
    Erased {
        received: usize,
    },
}

/// Handles one delivery from the bus. An error fails the invocation, so
/// Lambda retries it and then dead-letters it with the error's message.
pub async fn handle(
    store: &Store,
    event: &EventBridgeEvent<Value>,
) -> Result<Handled, HandleError> {
    match decode_incoming(event)? {
        Incoming::UserRegistered(e) => {
            let span = span_of(&e.metadata);
            let d = &e.data;
            let member = Member::new(&d.user_id, &d.email, d.registered_at);
            let joined = store.join(&member).instrument(span.clone()).await?;
            span.in_scope(|| tracing::info!(?joined, "audience updated"));
            Ok(match joined {
                Joined::Member => Handled::Joined,
                Joined::Erased => Handled::AlreadyErased,
            })
        }
        Incoming::UserDeleted(e) => {
            let span = span_of(&e.metadata);
            let erased = Erased::new(&e.data.user_id, e.data.deleted_at);
            let received = store.erase(&erased).instrument(span.clone()).await?;
            store
                .write_erasure_receipt(&e.data.user_id, &e.metadata)
                .instrument(span.clone())
                .await?;
            span.in_scope(|| tracing::info!(received, "erased the user from the audience"));
            Ok(Handled::Erased { received })
        }
    }
}

fn span_of(meta: &events::Metadata) -> tracing::Span {
    tracing::info_span!("event", correlation_id = %meta.correlation_id, event_id = %meta.event_id)
}
