//! The user pool's tokens as Cognito issues them: the scopes a managed
//! login granted, kept by a refresh, its `nonce` in the ID token, and the
//! issuer the pool is served at; and `RevokeToken`, which moto lacks
//! (`_managed_login_tokens` in `src/patches/cognito.py`).

use base64::Engine;
use devstack_emulator::{shared, unique};
use kit::signed::json_protocol::{COGNITO_IDP, JsonApi};
use serde_json::{Value, json};

/// The test user's password: a test's, no secret.
const PASSWORD: &str = "Correct-Horse-9"; // pragma: allowlist secret

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// A pool with one confirmed user and an app client (`revocation` as
/// asked); the pool's id, the client's and the user's name in the pool.
async fn pool(idp: &JsonApi, revocation: bool) -> (String, String, String) {
    let made = json!({ "PoolName": unique("tokens"), "UsernameAttributes": ["email"] });
    let made = idp.call("CreateUserPool", &made).await.unwrap();
    let pool = made["UserPool"]["Id"].as_str().unwrap().to_owned();
    let client = json!({
        "UserPoolId": pool, "ClientName": "app", "EnableTokenRevocation": revocation,
        "ExplicitAuthFlows": ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH"],
    });
    let client = idp.call("CreateUserPoolClient", &client).await.unwrap();
    let client = client["UserPoolClient"]["ClientId"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = format!("{}@example.com", unique("person"));
    let create = json!({ "UserPoolId": pool, "Username": user, "MessageAction": "SUPPRESS" });
    let made = idp.call("AdminCreateUser", &create).await.unwrap();
    let password = json!({
        "UserPoolId": pool, "Username": user, "Password": PASSWORD, "Permanent": true,
    });
    idp.call("AdminSetUserPassword", &password).await.unwrap();
    // The pool's own name for the user (its `sub`: users sign in by email).
    let name = made["User"]["Username"].as_str().unwrap().to_owned();
    (pool, client, name)
}

/// The address the pool's user signs in with.
async fn email_of(idp: &JsonApi, (pool, _, user): &(String, String, String)) -> Value {
    let user = json!({ "UserPoolId": pool, "Username": user });
    let user = idp.call("AdminGetUser", &user).await.unwrap();
    (user["UserAttributes"].as_array().unwrap().iter())
        .find(|a| a["Name"] == "email")
        .map(|a| a["Value"].clone())
        .unwrap()
}

async fn signed_in(idp: &JsonApi, p: &(String, String, String)) -> Value {
    signed_in_with(idp, p, &["openid", "email"]).await
}

async fn signed_in_with(
    idp: &JsonApi,
    (pool, client, user): &(String, String, String),
    scopes: &[&str],
) -> Value {
    let call = json!({
        "UserPoolId": pool, "ClientId": client, "Username": user,
        "Scopes": scopes, "Nonce": "n-0S6_WzA2Mj",
    });
    let signed = idp.call("DevstackSignIn", &call).await.unwrap();
    signed["AuthenticationResult"].clone()
}

async fn refreshed(idp: &JsonApi, client: &str, refresh: &Value) -> Result<Value, String> {
    let call = json!({
        "ClientId": client, "AuthFlow": "REFRESH_TOKEN_AUTH",
        "AuthParameters": { "REFRESH_TOKEN": refresh },
    });
    let answer = idp.call("InitiateAuth", &call).await;
    answer
        .map(|a| a["AuthenticationResult"].clone())
        .map_err(|e| format!("{} {}", e.kind, e.message))
}

async fn get_user(idp: &JsonApi, access: &Value) -> Result<(), String> {
    let answer = idp.call("GetUser", &json!({ "AccessToken": access })).await;
    answer
        .map(drop)
        .map_err(|e| format!("{} {}", e.kind, e.message))
}

async fn revoke(idp: &JsonApi, client: &str, token: &Value) -> Result<(), String> {
    let call = json!({ "ClientId": client, "Token": token });
    let answer = idp.call("RevokeToken", &call).await;
    answer.map(drop).map_err(|e| e.kind)
}

#[tokio::test]
async fn a_sign_in_carries_its_scopes_and_nonce_and_a_refresh_keeps_the_scopes() {
    let conf = shared().sdk_config().await;
    let idp = JsonApi::new(&conf, COGNITO_IDP);
    let p = pool(&idp, true).await;
    // Where the local cloud serves the pool's discovery document: its
    // tokens' issuer, as Cognito's tokens name the address of Cognito's.
    let issuer = format!("http://127.0.0.1:9/{}", p.0);
    let named = json!({ "UserPoolId": p.0, "Issuer": issuer });
    idp.call("DevstackIssuer", &named).await.unwrap();
    let tokens = signed_in(&idp, &p).await;
    let access = claims(tokens["AccessToken"].as_str().unwrap());
    assert_eq!(access["scope"], "openid email", "{access}");
    assert_eq!(access["iss"], issuer.as_str());
    let id = claims(tokens["IdToken"].as_str().unwrap());
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj", "{id}");
    assert_eq!(id["origin_jti"], access["origin_jti"]);

    let renewed = refreshed(&idp, &p.1, &tokens["RefreshToken"])
        .await
        .unwrap();
    let access = claims(renewed["AccessToken"].as_str().unwrap());
    assert_eq!(access["scope"], "openid email", "a refresh keeps the grant");
    let id = claims(renewed["IdToken"].as_str().unwrap());
    assert_eq!(
        id.get("nonce"),
        None,
        "a refresh answers no request's nonce"
    );

    // A sign-in through the API is granted the API's scope alone.
    let email = email_of(&idp, &p).await;
    let password = json!({
        "UserPoolId": p.0, "ClientId": p.1, "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
        "AuthParameters": { "USERNAME": email, "PASSWORD": PASSWORD },
    });
    let signed = idp.call("AdminInitiateAuth", &password).await.unwrap();
    let access = claims(
        signed["AuthenticationResult"]["AccessToken"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(access["scope"], "aws.cognito.signin.user.admin");
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_every_access_token_issued_from_it_and_no_other() {
    let conf = shared().sdk_config().await;
    let idp = JsonApi::new(&conf, COGNITO_IDP);
    let p = pool(&idp, true).await;
    let client = p.1.as_str();
    // With the API's scope, so that GetUser says what revocation did.
    let scopes = ["openid", "aws.cognito.signin.user.admin"];
    let ended = signed_in_with(&idp, &p, &scopes).await;
    let kept = signed_in_with(&idp, &p, &scopes).await;
    let renewed = refreshed(&idp, client, &ended["RefreshToken"])
        .await
        .unwrap();

    assert_eq!(
        revoke(&idp, client, &ended["AccessToken"]).await,
        Err("UnsupportedTokenTypeException".into()),
        "an access token is not a refresh token"
    );
    let other = json!({ "UserPoolId": p.0, "ClientName": "another" });
    let other = idp.call("CreateUserPoolClient", &other).await.unwrap();
    let other = other["UserPoolClient"]["ClientId"].as_str().unwrap();
    assert_eq!(
        revoke(&idp, other, &ended["RefreshToken"]).await,
        Err("UnauthorizedException".into()),
        "another client's token is not this client's to revoke"
    );
    assert_eq!(revoke(&idp, client, &ended["RefreshToken"]).await, Ok(()));

    let refused = refreshed(&idp, client, &ended["RefreshToken"]).await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.starts_with("NotAuthorizedException")),
        "{refused:?}"
    );
    for access in [&ended["AccessToken"], &renewed["AccessToken"]] {
        assert_eq!(
            get_user(&idp, access).await,
            Err("NotAuthorizedException Access Token has been revoked".into())
        );
    }
    assert_eq!(get_user(&idp, &kept["AccessToken"]).await, Ok(()));
    assert!(refreshed(&idp, client, &kept["RefreshToken"]).await.is_ok());

    // Revoked already, or never issued: nothing to do (RFC 7009).
    assert_eq!(revoke(&idp, client, &ended["RefreshToken"]).await, Ok(()));
    assert_eq!(revoke(&idp, client, &json!("no-such-token")).await, Ok(()));

    let closed = pool(&idp, false).await;
    let tokens = signed_in(&idp, &closed).await;
    assert_eq!(
        revoke(&idp, &closed.1, &tokens["RefreshToken"]).await,
        Err("UnsupportedOperationException".into()),
        "a client without revocation cannot revoke"
    );
}

/// The user-pool API's calls made with an access token need the API's
/// scope, as Cognito's do: a managed-login token granted `openid email`
/// may not read or sign out its user there, but reads userInfo; an API
/// sign-in's token is the reverse.
#[tokio::test]
async fn an_access_token_calls_the_user_pool_api_only_with_its_scope() {
    let conf = shared().sdk_config().await;
    let idp = JsonApi::new(&conf, COGNITO_IDP);
    let p = pool(&idp, true).await;
    let tokens = signed_in(&idp, &p).await;
    let access = &tokens["AccessToken"];
    let no_scope = Err("NotAuthorizedException Access Token does not have required scopes".into());
    assert_eq!(get_user(&idp, access).await, no_scope);
    let signing_out = idp
        .call("GlobalSignOut", &json!({ "AccessToken": access }))
        .await;
    assert_eq!(
        signing_out
            .map(drop)
            .map_err(|e| format!("{} {}", e.kind, e.message)),
        no_scope
    );
    let info = idp
        .call("DevstackUserInfo", &json!({ "AccessToken": access }))
        .await;
    assert_eq!(info.unwrap()["Username"], p.2.as_str());

    let both = signed_in_with(&idp, &p, &["openid", "aws.cognito.signin.user.admin"]).await;
    assert_eq!(get_user(&idp, &both["AccessToken"]).await, Ok(()));

    let email = email_of(&idp, &p).await;
    let password = json!({
        "UserPoolId": p.0, "ClientId": p.1, "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
        "AuthParameters": { "USERNAME": email, "PASSWORD": PASSWORD },
    });
    let signed = idp.call("AdminInitiateAuth", &password).await.unwrap();
    let api = &signed["AuthenticationResult"]["AccessToken"];
    assert_eq!(get_user(&idp, api).await, Ok(()));
    let info = idp
        .call("DevstackUserInfo", &json!({ "AccessToken": api }))
        .await;
    assert_eq!(info.unwrap_err().kind, "NotAuthorizedException");
}
