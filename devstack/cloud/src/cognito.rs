//! The user pool, made by API (the emulator's CloudFormation skips Cognito).

use anyhow::{Context, Result};
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Pool {
    pub user_pool_id: String,
    pub client_id: String,
    pub issuer: String,
    pub jwks_url: String,
}

pub async fn create(
    client: &Client,
    emulator_url: &str,
    name: &str,
    groups: &[(String, String)],
) -> Result<Pool> {
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
    for (group, description) in groups {
        client
            .create_group()
            .user_pool_id(&user_pool_id)
            .group_name(group)
            .description(description)
            .send()
            .await
            .with_context(|| format!("creating the group {group}"))?;
    }
    Ok(Pool {
        issuer: format!(
            "https://cognito-idp.{}.amazonaws.com/{user_pool_id}",
            kit::config::LOCAL_REGION
        ),
        jwks_url: format!("{emulator_url}/{user_pool_id}/.well-known/jwks.json"),
        user_pool_id,
        client_id,
    })
}

/// Puts a user in a group (`devstack admin`), by the email they signed up
/// with: their next tokens carry it in `cognito:groups`.
pub async fn add_to_group(client: &Client, pool_id: &str, email: &str, group: &str) -> Result<()> {
    client
        .admin_add_user_to_group()
        .user_pool_id(pool_id)
        .username(email)
        .group_name(group)
        .send()
        .await
        .with_context(|| format!("adding {email} to {group}"))?;
    Ok(())
}

/// `devstack admin`: a user of the running local cloud joins `group`.
pub async fn join_group(
    endpoints: &devstack_api::Endpoints,
    email: &str,
    group: &str,
) -> Result<()> {
    let conf = kit::config::endpoint(&endpoints.emulator_url).await;
    add_to_group(&Client::new(&conf), &endpoints.user_pool_id, email, group).await
}
