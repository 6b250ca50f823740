//! Events this service consumes, decoded from what the bus delivers.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use events::users::UserDeletedV1;
use events::{ContractError, Envelope, Event, ReceivedKey, decode, received_key};
use serde_json::Value;

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
