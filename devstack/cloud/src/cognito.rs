//! The user pool, made by API (the emulator's CloudFormation skips
//! Cognito), through Cognito's JSON protocol (`kit::json_protocol`).

use anyhow::{Context, Result};
use kit::json_protocol::JsonApi;
use serde_json::json;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Pool {
    pub user_pool_id: String,
    pub client_id: String,
    pub issuer: String,
    pub jwks_url: String,
}

pub async fn create(
    api: &JsonApi,
    emulator_url: &str,
    name: &str,
    groups: &[(String, String)],
) -> Result<Pool> {
    let pool = json!({ "PoolName": name, "UsernameAttributes": ["email"] });
    let pool = api
        .call("CreateUserPool", &pool)
        .await
        .context("creating the user pool")?;
    let user_pool_id = pool["UserPool"]["Id"]
        .as_str()
        .context("no pool id")?
        .to_owned();
    let app = json!({
        "UserPoolId": user_pool_id,
        "ClientName": format!("{name}-api"),
        "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    });
    let app = api
        .call("CreateUserPoolClient", &app)
        .await
        .context("creating the user pool client")?;
    let client_id = app["UserPoolClient"]["ClientId"]
        .as_str()
        .context("no client id")?
        .to_owned();
    for (group, description) in groups {
        let body = json!({
            "UserPoolId": user_pool_id, "GroupName": group, "Description": description,
        });
        api.call("CreateGroup", &body)
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
pub async fn add_to_group(api: &JsonApi, pool_id: &str, email: &str, group: &str) -> Result<()> {
    let body = json!({ "UserPoolId": pool_id, "Username": email, "GroupName": group });
    api.call("AdminAddUserToGroup", &body)
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
    let api = JsonApi::new(&conf, kit::json_protocol::COGNITO_IDP);
    add_to_group(&api, &endpoints.user_pool_id, email, group).await
}
