//! The end of a user's erasure: each service that held their data says
//! it erased it (its `UserDataErased`); once every service the stack names
//! (`ErasureConfirmedBy`) has, the person's sign-in is deleted, so the same
//! email and password sign in no more.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use events::campaigns::CampaignsUserErasedV1;
use events::notifications::NotificationsUserErasedV1;
use events::todos::TodosUserErasedV1;
use events::{ContractError, Event, ReceivedKey, decode, received_key};
use kit::signed::json_protocol::Refused;
use kit::table::TableError;
use serde_json::Value;
use tracing::Instrument;

use crate::accounts::Accounts;
use crate::domain;
use crate::store::Store;

/// What the consumer decodes, as its declaration says: its pre-traffic
/// hook hands a new version the committed example of each
/// (`kit::hook`; the contract tests hold it to the declaration).
pub const CONSUMED: &[events::EventKey] = &[
    TodosUserErasedV1::KEY,
    NotificationsUserErasedV1::KEY,
    CampaignsUserErasedV1::KEY,
];

/// One service's word that it erased a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erased {
    pub service: &'static str,
    pub user_id: String,
    pub correlation_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("users does not consume {0:?}")]
    NotConsumed(ReceivedKey),
    #[error(transparent)]
    Invalid(#[from] ContractError),
}

pub fn decode_incoming(event: &EventBridgeEvent<Value>) -> Result<Erased, DecodeError> {
    let key = received_key(event);
    let (service, user_id, metadata) = if key.is(TodosUserErasedV1::KEY) {
        let e = decode::<TodosUserErasedV1>(event)?;
        ("todos", e.data.user_id, e.metadata)
    } else if key.is(NotificationsUserErasedV1::KEY) {
        let e = decode::<NotificationsUserErasedV1>(event)?;
        ("notifications", e.data.user_id, e.metadata)
    } else if key.is(CampaignsUserErasedV1::KEY) {
        let e = decode::<CampaignsUserErasedV1>(event)?;
        ("campaigns", e.data.user_id, e.metadata)
    } else {
        return Err(DecodeError::NotConsumed(key));
    };
    Ok(Erased {
        service,
        user_id,
        correlation_id: metadata.correlation_id,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("the users table: {0}")]
    Store(#[from] TableError),
    #[error("the user pool: {0}")]
    Accounts(#[from] Refused),
}

/// What one confirmation did.
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    /// Recorded; other services are still to confirm.
    Waiting { confirmed: Vec<String> },
    /// The last confirmation: the sign-in was deleted (`false`: it was
    /// gone already, by an earlier delivery).
    SignInDeleted(bool),
}

pub async fn handle(
    store: &Store,
    accounts: &Accounts,
    required: &[String],
    event: &EventBridgeEvent<Value>,
) -> Result<Handled, HandleError> {
    let erased = decode_incoming(event)?;
    let span = tracing::info_span!("event", correlation_id = %erased.correlation_id, service = erased.service);
    async {
        let confirmed = store
            .confirm_erasure(&erased.user_id, erased.service)
            .await?;
        if !domain::erasure_complete(&confirmed, required) {
            tracing::info!(?confirmed, "erasure confirmed; waiting for the others");
            return Ok(Handled::Waiting { confirmed });
        }
        let deleted = accounts.delete(&erased.user_id).await?;
        tracing::info!(deleted, "every service erased the user: sign-in deleted");
        Ok(Handled::SignInDeleted(deleted))
    }
    .instrument(span)
    .await
}
