//! Tokens for people trying the system, from the local user pool named in
//! the endpoints file: Cognito's JSON protocol through `kit::json_protocol`
//! (the SDK's Cognito client was 37 CPU-seconds of the test command's
//! build, for three calls).

use anyhow::{Context, Result};
use devstack_api::Endpoints;
use kit::json_protocol::{COGNITO_IDP, JsonApi};
use serde_json::json;

/// The pool and its app client, as the endpoints file names them.
#[derive(Debug, Clone, Copy)]
pub struct Pool<'a> {
    pub user_pool_id: &'a str,
    pub client_id: &'a str,
}

/// Signs a user up (confirming them) if needed, and returns an ID token,
/// which carries `email` for the APIs.
pub async fn token(api: &JsonApi, pool: &Pool<'_>, email: &str, password: &str) -> Result<String> {
    let sign_up = json!({
        "ClientId": pool.client_id,
        "Username": email,
        "Password": password,
        "UserAttributes": [{ "Name": "email", "Value": email }],
    });
    match api.call("SignUp", &sign_up).await {
        Ok(_) => {
            let confirm = json!({ "UserPoolId": pool.user_pool_id, "Username": email });
            api.call("AdminConfirmSignUp", &confirm)
                .await
                .context("confirming the user")?;
        }
        Err(refused) if refused.kind == "UsernameExistsException" => {}
        Err(refused) => anyhow::bail!("signing up {email}: {refused}"),
    }
    let sign_in = json!({
        "ClientId": pool.client_id,
        "AuthFlow": "USER_PASSWORD_AUTH",
        "AuthParameters": { "USERNAME": email, "PASSWORD": password },
    });
    let auth = api
        .call("InitiateAuth", &sign_in)
        .await
        .context("signing in")?;
    auth["AuthenticationResult"]["IdToken"]
        .as_str()
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
    token(&JsonApi::new(&conf, COGNITO_IDP), &pool, email, password).await
}
