//! The user pool, made by API (the emulator's CloudFormation skips Cognito),
//! and tokens for people trying the system.

use anyhow::{Context, Result};
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType, ExplicitAuthFlowsType};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Pool {
    pub user_pool_id: String,
    pub client_id: String,
    pub issuer: String,
    pub jwks_url: String,
}

pub async fn create(client: &Client, emulator_url: &str, name: &str) -> Result<Pool> {
    let pool = client
        .create_user_pool()
        .pool_name(name)
        .username_attributes(aws_sdk_cognitoidentityprovider::types::UsernameAttributeType::Email)
        .send()
        .await
        .context("creating the user pool")?;
    let user_pool_id = pool
        .user_pool()
        .and_then(|p| p.id())
        .context("no pool id")?
        .to_owned();
    let app = client
        .create_user_pool_client()
        .user_pool_id(&user_pool_id)
        .client_name(format!("{name}-api"))
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .context("creating the user pool client")?;
    let client_id = app
        .user_pool_client()
        .and_then(|c| c.client_id())
        .context("no client id")?
        .to_owned();
    Ok(Pool {
        issuer: format!(
            "https://cognito-idp.{}.amazonaws.com/{user_pool_id}",
            kit::emulator::REGION
        ),
        jwks_url: format!("{emulator_url}/{user_pool_id}/.well-known/jwks.json"),
        user_pool_id,
        client_id,
    })
}

/// Signs a user up (confirming them) if needed, and returns an ID token,
/// which carries `email` for the APIs.
pub async fn token(client: &Client, pool: &Pool, email: &str, password: &str) -> Result<String> {
    let signed_up = client
        .sign_up()
        .client_id(&pool.client_id)
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
            .user_pool_id(&pool.user_pool_id)
            .username(email)
            .send()
            .await
            .context("confirming the user")?;
    }
    let auth = client
        .initiate_auth()
        .client_id(&pool.client_id)
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
