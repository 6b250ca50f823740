//! The user pool's triggers, which Cognito invokes synchronously while a
//! person signs up or in: PreSignUp refuses what the product refuses (its
//! error fails the sign-up, and the person reads its message; an
//! administrator's AdminCreateUser passes through it too),
//! PostConfirmation makes the profile whose stream record publishes
//! `UserRegistered`.
//!
//! PostConfirmation never runs for a user an administrator created, and a
//! failed one leaves its user confirmed without a profile. So
//! PostAuthentication, after every sign-in, makes the profile of a user
//! who has none, unless their account was deleted (its tombstone stays).
//!
//! Cognito retries a trigger that timed out or failed (three attempts in
//! all), so both are idempotent: the profile is written only if absent,
//! and the outbox publishes only its first write.

use std::collections::HashMap;

use aws_lambda_events::event::cognito::{
    CognitoEventUserPoolsPostAuthentication, CognitoEventUserPoolsPostConfirmation,
    CognitoEventUserPoolsPostConfirmationTriggerSource, CognitoEventUserPoolsPreSignup,
};
use chrono::Utc;
use kit::table::TableError;
use serde_json::Value;

use crate::accounts::Accounts;
use crate::domain::{self, Refusal};
use crate::items::Profile;
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    /// The sign-up is refused: Cognito answers `UserLambdaValidationException`
    /// with this message.
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error("the {trigger} event does not decode: {message}")]
    Decode {
        trigger: &'static str,
        message: String,
    },
    #[error("the confirmed user has no {0} attribute")]
    Missing(&'static str),
    #[error("the users table: {0}")]
    Store(#[from] TableError),
    #[error("the user pool: {0}")]
    Accounts(#[from] kit::signed::json_protocol::Refused),
    /// A trigger this function is not wired for (the pool's `LambdaConfig`
    /// names it for PreSignUp, PostConfirmation and PostAuthentication
    /// only).
    #[error("not a trigger of this function: {0}")]
    Unknown(String),
}

impl TriggerError {
    /// The error type Lambda reports (`errorType`).
    pub fn kind(&self) -> &'static str {
        match self {
            TriggerError::Refused(_) => "SignUpRefused",
            TriggerError::Decode { .. } | TriggerError::Missing(_) => "InvalidTriggerEvent",
            TriggerError::Store(_) => "StoreError",
            TriggerError::Accounts(_) => "UserPoolError",
            TriggerError::Unknown(_) => "UnknownTrigger",
        }
    }
}

impl From<TriggerError> for lambda_runtime::Diagnostic {
    fn from(e: TriggerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.kind().to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// Serves one trigger invocation; returns the event, as Cognito expects.
pub async fn handle(
    (store, accounts): (&Store, &Accounts),
    refused_domains: &[String],
    event: Value,
    correlation_id: &str,
) -> Result<Value, TriggerError> {
    let source = event["triggerSource"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if source.starts_with("PreSignUp_") {
        let e: CognitoEventUserPoolsPreSignup = decode("PreSignUp", event)?;
        pre_sign_up(&e, refused_domains)?;
        if source == "PreSignUp_ExternalProvider" {
            link(accounts, &e).await?;
        }
        Ok(serde_json::to_value(e).expect("an event serializes"))
    } else if source.starts_with("PostConfirmation_") {
        let e: CognitoEventUserPoolsPostConfirmation = decode("PostConfirmation", event)?;
        post_confirmation(store, &e, correlation_id).await?;
        Ok(serde_json::to_value(e).expect("an event serializes"))
    } else if source.starts_with("PostAuthentication_") {
        let e: CognitoEventUserPoolsPostAuthentication = decode("PostAuthentication", event)?;
        post_authentication(store, &e.request.user_attributes, correlation_id).await?;
        Ok(serde_json::to_value(e).expect("an event serializes"))
    } else {
        Err(TriggerError::Unknown(source))
    }
}

fn decode<T: serde::de::DeserializeOwned>(
    trigger: &'static str,
    event: Value,
) -> Result<T, TriggerError> {
    serde_json::from_value(event).map_err(|e| TriggerError::Decode {
        trigger,
        message: e.to_string(),
    })
}

fn pre_sign_up(
    e: &CognitoEventUserPoolsPreSignup,
    refused_domains: &[String],
) -> Result<(), Refusal> {
    let attributes = &e.request.user_attributes;
    let user_name = e.cognito_event_user_pools_header.user_name.as_deref();
    let email = (attributes.get("email").map(String::as_str))
        .or(user_name)
        .unwrap_or_default();
    let name = attributes.get("name").map(String::as_str);
    let checked = domain::check_sign_up(email, name, refused_domains);
    match &checked {
        Ok(()) => tracing::info!("sign-up accepted"),
        Err(refusal) => tracing::info!(%refusal, "sign-up refused"),
    }
    checked
}

/// A person's first sign-in through an outside provider: if they signed
/// up with a password under the same email, confirmed and verified, the
/// provider's user is linked to that account (one person, one profile);
/// otherwise Cognito makes it a user of its own. Only an email the
/// provider says it verified is believed.
async fn link(accounts: &Accounts, e: &CognitoEventUserPoolsPreSignup) -> Result<(), TriggerError> {
    let attributes = &e.request.user_attributes;
    let verified = attributes.get("email_verified").map(String::as_str) == Some("true");
    let user_name = e.cognito_event_user_pools_header.user_name.as_deref();
    let (Some(email), Some((provider, subject)), true) = (
        attributes.get("email"),
        user_name.and_then(|u| u.split_once('_')),
        verified,
    ) else {
        tracing::info!("federated sign-up without a verified email: a user of its own");
        return Ok(());
    };
    let Some(username) = accounts.with_verified_email(email).await? else {
        return Ok(());
    };
    accounts.link(&username, provider, subject).await?;
    tracing::info!(
        provider,
        "federated user linked to the account of the same email"
    );
    Ok(())
}

async fn post_confirmation(
    store: &Store,
    e: &CognitoEventUserPoolsPostConfirmation,
    correlation_id: &str,
) -> Result<(), TriggerError> {
    let source = &e.cognito_event_user_pools_header.trigger_source;
    if source == &Some(CognitoEventUserPoolsPostConfirmationTriggerSource::ConfirmForgotPassword) {
        return Ok(());
    }
    if made(store, &e.request.user_attributes, correlation_id).await? {
        tracing::info!("profile made at confirmation");
    }
    Ok(())
}

/// A signed-in user's profile, made if they have none and were never
/// deleted.
async fn post_authentication(
    store: &Store,
    attributes: &HashMap<String, String>,
    correlation_id: &str,
) -> Result<(), TriggerError> {
    if made(store, attributes, correlation_id).await? {
        tracing::info!("profile made at sign-in: the user had none (created by an administrator)");
    }
    Ok(())
}

/// Writes the user's first profile unless one exists: whether this call
/// wrote it.
async fn made(
    store: &Store,
    attributes: &HashMap<String, String>,
    correlation_id: &str,
) -> Result<bool, TriggerError> {
    let sub = attributes.get("sub").ok_or(TriggerError::Missing("sub"))?;
    let email = attributes
        .get("email")
        .ok_or(TriggerError::Missing("email"))?;
    if store.get(sub).await?.is_some() {
        tracing::info!("profile exists already: a retried trigger");
        return Ok(false);
    }
    let name = domain::first_display_name(attributes.get("name").map(String::as_str), email);
    let profile = Profile::new(sub, email, &name, Utc::now(), correlation_id);
    match store.save(None, &profile).await {
        Ok(()) => Ok(true),
        // Another attempt of the same trigger won the race.
        Err(TableError::Conflict) => {
            tracing::info!("profile made by a concurrent attempt");
            Ok(false)
        }
        // A sign-in between the account's deletion and the erasure of
        // its sign-in: the person stays deleted.
        Err(TableError::Barred) => {
            tracing::info!("the account was deleted: no profile");
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}
