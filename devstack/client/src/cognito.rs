//! Tokens for people trying the system, from the local user pool named in
//! the endpoints file.

use anyhow::{Context, Result};
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType};
use devstack_api::Endpoints;

/// The pool and its app client, as the endpoints file names them.
#[derive(Debug, Clone, Copy)]
pub struct Pool<'a> {
    pub user_pool_id: &'a str,
    pub client_id: &'a str,
}

/// Signs a user up (confirming them) if needed, and returns an ID token,
/// which carries `email` for the APIs.
pub async fn token(
    client: &Client,
    pool: &Pool<'_>,
    email: &str,
    password: &str,
) -> Result<String> {
    let signed_up = client
        .sign_up()
        .client_id(pool.client_id)
        .username(email)
        .password(password)
        .user_attributes(
            AttributeType::builder()
                .name("email")
                .value(email)
                .build()?,
        )
        .send()
        .await;
    let exists = signed_up
        .as_ref()
        .err()
        .and_then(|e| e.as_service_error())
        .is_some_and(|e| e.is_username_exists_exception());
    if let Err(e) = &signed_up
        && !exists
    {
        anyhow::bail!(
            "signing up {email}: {}",
            aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(e)
        );
    }
    if signed_up.is_ok() {
        client
            .admin_confirm_sign_up()
            .user_pool_id(pool.user_pool_id)
            .username(email)
            .send()
            .await
            .context("confirming the user")?;
    }
    let auth = client
        .initiate_auth()
        .client_id(pool.client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", email)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(e).to_string()
            )
        })
        .context("signing in")?;
    auth.authentication_result()
        .and_then(|r| r.id_token())
        .map(str::to_owned)
        .context("no ID token in the answer")
}

/// [`token`] from the pool the endpoints file names, on its emulator.
pub async fn id_token(endpoints: &Endpoints, email: &str, password: &str) -> Result<String> {
    let conf = kit::config::endpoint(&endpoints.emulator_url).await;
    let pool = Pool {
        user_pool_id: &endpoints.user_pool_id,
        client_id: &endpoints.client_id,
    };
    token(&Client::new(&conf), &pool, email, password).await
}
