//! Tokens for people trying the system, from the local user pool named in
//! the endpoints file: Cognito's JSON protocol through `kit::signed::json_protocol`
//! (the SDK's Cognito client was 37 CPU-seconds of the test command's
//! build, for three calls).

use anyhow::{Context, Result};
use devstack_api::Endpoints;
use kit::signed::json_protocol::{COGNITO_IDP, JsonApi};
use serde_json::json;

/// The pool and its app client, as the endpoints file names them.
#[derive(Debug, Clone, Copy)]
pub struct Pool<'a> {
    pub user_pool_id: &'a str,
    pub client_id: &'a str,
}

/// Someone signing up: what Cognito keeps (`name` becomes the profile's
/// first display name) and what its triggers are handed (the correlation
/// id in ClientMetadata, which the registration's events carry).
#[derive(Debug, Clone, Copy, Default)]
pub struct Person<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub name: Option<&'a str>,
    pub correlation_id: Option<&'a str>,
}

/// Signs a user up (confirming them) if needed, and returns an ID token,
/// which carries `email` for the APIs.
pub async fn token(api: &JsonApi, pool: &Pool<'_>, email: &str, password: &str) -> Result<String> {
    let person = Person {
        email,
        password,
        ..Person::default()
    };
    token_of(api, pool, &person).await
}

/// [`token`] for a [`Person`].
pub async fn token_of(api: &JsonApi, pool: &Pool<'_>, person: &Person<'_>) -> Result<String> {
    let Person {
        email, password, ..
    } = *person;
    let mut attributes = vec![json!({ "Name": "email", "Value": email })];
    attributes.extend(person.name.map(|n| json!({ "Name": "name", "Value": n })));
    let metadata: serde_json::Map<String, serde_json::Value> = (person.correlation_id)
        .map(|c| ("correlation_id".to_owned(), c.into()))
        .into_iter()
        .collect();
    let sign_up = json!({
        "ClientId": pool.client_id,
        "Username": email,
        "Password": password,
        "UserAttributes": attributes,
        "ClientMetadata": metadata,
    });
    match api.call("SignUp", &sign_up).await {
        Ok(_) => {
            let confirm = json!({
                "UserPoolId": pool.user_pool_id, "Username": email, "ClientMetadata": metadata,
            });
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

/// [`token`] from the pool the endpoints file names, through the local
/// cloud's Cognito front (which runs the pool's triggers).
pub async fn id_token(endpoints: &Endpoints, email: &str, password: &str) -> Result<String> {
    let conf = kit::config::endpoint(&endpoints.cognito_url).await;
    let pool = Pool {
        user_pool_id: &endpoints.user_pool_id,
        client_id: &endpoints.client_id,
    };
    token(&JsonApi::new(&conf, COGNITO_IDP), &pool, email, password).await
}

/// [`token_of`] from the pool the endpoints file names.
pub async fn id_token_of(endpoints: &Endpoints, person: &Person<'_>) -> Result<String> {
    let conf = kit::config::endpoint(&endpoints.cognito_url).await;
    let pool = Pool {
        user_pool_id: &endpoints.user_pool_id,
        client_id: &endpoints.client_id,
    };
    token_of(&JsonApi::new(&conf, COGNITO_IDP), &pool, person).await
}
