//! Events this service consumes, decoded from what the bus delivers.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use events::todos::TodoCompletedV1;
use events::users::{UserDeletedV1, UserRegisteredV1};
use events::{ContractError, Envelope, Event, ReceivedKey, decode, received_key};
use serde_json::Value;

#[derive(Debug)]
pub enum Incoming {
    UserRegistered(Envelope<UserRegisteredV1>),
    TodoCompleted(Envelope<TodoCompletedV1>),
    UserDeleted(Envelope<UserDeletedV1>),
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
    } else {
        Err(DecodeError::NotConsumed(key))
    }
}
