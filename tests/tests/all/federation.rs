//! Sign-in with an outside identity provider, through the local cloud's
//! managed login (the Cognito front's OAuth endpoints) and the provider's
//! stand-in, step by step as a browser's redirects go: the authorization
//! code flow with PKCE, the redirect URIs checked, a federated user made
//! with its profile, and one linked to the password account of the same
//! verified email.

use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use devstack_testkit::redirects::{consent, form, http, location, with_query};

use crate::support::{client, cloud, unique_email};

/// The app's redirect URI: its root, as the template registers it.
fn app() -> String {
    cloud().endpoints.web_url.clone()
}

struct Pkce {
    verifier: String,
    challenge: String,
}

fn pkce() -> Pkce {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(&verifier));
    Pkce {
        verifier,
        challenge,
    }
}

async fn authorize(extra: &[(&str, &str)]) -> reqwest::Response {
    let e = &cloud().endpoints;
    let redirect = app();
    let mut query = vec![
        ("response_type", "code"),
        ("client_id", e.client_id.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("scope", "openid email profile"),
        ("identity_provider", e.federated_provider.as_str()),
        ("state", "s-1"),
    ];
    for (key, value) in extra {
        query.retain(|(k, _)| k != key);
        query.push((key, value));
    }
    let url = format!("{}/oauth2/authorize", e.cognito_url);
    http().get(with_query(&url, query)).send().await.unwrap()
}

/// A sign-in as `email` at the provider, to the code the app gets.
async fn code_for(email: &str, pkce: &Pkce) -> String {
    let started = authorize(&[
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ])
    .await;
    assert_eq!(started.status(), 302, "{}", started.text().await.unwrap());
    let at_provider = location(&started);
    assert!(
        at_provider.base.starts_with(&cloud().endpoints.idp_url),
        "{}",
        at_provider.base
    );
    let back = consent(at_provider, email).await;
    assert_eq!(back.base, app(), "back to the app's root");
    assert_eq!(
        back.get("state"),
        Some("s-1"),
        "the app's own state comes back"
    );
    back.get("code")
        .unwrap_or_else(|| panic!("a code, not {:?}", back.query))
        .to_owned()
}

/// A form posted to managed login's `endpoint`: the status, and the JSON
/// answer (`null` for an empty one).
async fn post_form(endpoint: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let url = format!("{}{endpoint}", cloud().endpoints.cognito_url);
    let answer = (http().post(url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(self::form(form.iter().copied()))
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or_default())
}

async fn token(form: &[(&str, &str)]) -> (u16, Value) {
    post_form("/oauth2/token", form).await
}

async fn redeem(code: &str, verifier: &str) -> (u16, Value) {
    let e = &cloud().endpoints;
    let redirect = app();
    token(&[
        ("grant_type", "authorization_code"),
        ("client_id", &e.client_id),
        ("code", code),
        ("redirect_uri", &redirect),
        ("code_verifier", verifier),
    ])
    .await
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn user_info(access_token: &str) -> (u16, Value) {
    let url = format!("{}/oauth2/userInfo", cloud().endpoints.cognito_url);
    let answer = http()
        .get(url)
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or_default())
}

async fn profile_of(id_token: &str) -> Value {
    let api = devstack_client::walkthrough::Client {
        http: reqwest::Client::new(),
        base: cloud().endpoints.api_base_url.clone(),
        token: id_token.to_owned(),
    };
    let got = devstack_client::walkthrough::eventually(
        std::time::Duration::from_secs(15),
        "the profile",
        || async {
            let (status, body) = api.call(reqwest::Method::GET, "/users/me", None).await?;
            Ok((status == 200).then_some(body))
        },
    )
    .await;
    got.unwrap()
}

async fn user_pool_front() -> kit::signed::json_protocol::JsonApi {
    let conf = kit::config::endpoint(&cloud().endpoints.cognito_url).await;
    kit::signed::json_protocol::JsonApi::new(&conf, kit::signed::json_protocol::COGNITO_IDP)
}

/// A password sign-in's tokens, through the API as the app signs in.
async fn password_sign_in(email: &str) -> Value {
    let sign_in = json!({
        "ClientId": cloud().endpoints.client_id, "AuthFlow": "USER_PASSWORD_AUTH",
        "AuthParameters": { "USERNAME": email, "PASSWORD": devstack_client::walkthrough::PASSWORD },
    });
    let signed = user_pool_front()
        .await
        .call("InitiateAuth", &sign_in)
        .await
        .unwrap();
    signed["AuthenticationResult"].clone()
}

async fn password_access_token(email: &str) -> String {
    client(email).await;
    password_sign_in(email).await["AccessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Signs up with a password and confirms with the emailed code, as the
/// web app does (which verifies the email); returns an ID token.
async fn signed_up_and_confirmed(email: &str) -> String {
    let api = user_pool_front().await;
    let e = &cloud().endpoints;
    let sign_up = json!({
        "ClientId": e.client_id, "Username": email,
        "Password": devstack_client::walkthrough::PASSWORD,
        "UserAttributes": [{ "Name": "email", "Value": email }],
    });
    api.call("SignUp", &sign_up).await.unwrap();
    let confirm =
        json!({ "ClientId": e.client_id, "Username": email, "ConfirmationCode": "123456" });
    api.call("ConfirmSignUp", &confirm).await.unwrap();
    password_sign_in(email).await["IdToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_first_federated_sign_in_makes_a_user_of_its_own_with_its_profile() {
    let email = unique_email("fed-new");
    let p = pkce();
    let code = code_for(&email, &p).await;
    let (status, tokens) = redeem(&code, &p.verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let id = claims(tokens["id_token"].as_str().unwrap());
    let provider = &cloud().endpoints.federated_provider;
    assert!(
        id["cognito:username"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{provider}_")),
        "{id}"
    );
    assert_eq!(id["email"], email.as_str());
    assert_eq!(
        id["identities"][0]["providerName"],
        provider.as_str(),
        "{id}"
    );
    let profile = profile_of(tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(profile["email"], email.as_str());

    let (status, info) = user_info(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!((status, &info["email"]), (200, &json!(email)), "{info}");
    // The app client's renewal works on a federated session too.
    let (status, renewed) = token(&[
        ("grant_type", "refresh_token"),
        ("client_id", &cloud().endpoints.client_id),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
    ])
    .await;
    assert_eq!(status, 200, "{renewed}");
    assert_eq!(
        claims(renewed["id_token"].as_str().unwrap())["sub"],
        id["sub"]
    );
    // The web app renews with REFRESH_TOKEN_AUTH, as after a password
    // sign-in. Its access token may not call the user-pool API (it was
    // granted `openid email profile`, not the API's scope), so the app's
    // sign-out revokes at the revocation endpoint instead.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let front = user_pool_front().await;
    let renew = json!({
        "ClientId": cloud().endpoints.client_id, "AuthFlow": "REFRESH_TOKEN_AUTH",
        "AuthParameters": { "REFRESH_TOKEN": refresh },
    });
    let renewed = front.call("InitiateAuth", &renew).await.unwrap();
    let renewed_id = renewed["AuthenticationResult"]["IdToken"].as_str().unwrap();
    assert_eq!(claims(renewed_id)["sub"], id["sub"]);
    let access = tokens["access_token"].as_str().unwrap();
    let refused = (front.call("GlobalSignOut", &json!({ "AccessToken": access })))
        .await
        .unwrap_err();
    assert_eq!(
        (refused.kind.as_str(), refused.message.as_str()),
        (
            "NotAuthorizedException",
            "Access Token does not have required scopes"
        )
    );
    let e = &cloud().endpoints;
    let revoked = [("token", refresh), ("client_id", e.client_id.as_str())];
    assert_eq!(revoke(&revoked).await.0, 200);
    let revoked = front.call("InitiateAuth", &renew).await.unwrap_err();
    assert_eq!(revoked.kind, "NotAuthorizedException", "{revoked}");

    // The second sign-in is the same user.
    let p = pkce();
    let again = redeem(&code_for(&email, &p).await, &p.verifier).await.1;
    assert_eq!(
        claims(again["id_token"].as_str().unwrap())["sub"],
        id["sub"]
    );
}

async fn revoke(form: &[(&str, &str)]) -> (u16, Value) {
    post_form("/oauth2/revoke", form).await
}

/// What managed login grants is what its tokens say: the app's `nonce`
/// in the ID token, the scopes asked for in the access token (kept by a
/// refresh); and `/oauth2/revoke` ends the session: the refresh token and
/// every access token issued from it (the pool's own checks of a revoked
/// token are the emulator's `cognito` tests'), as Cognito documents; a bad
/// request gets the OAuth error.
#[tokio::test]
async fn managed_login_carries_the_nonce_and_scopes_and_revocation_ends_the_session() {
    let email = unique_email("fed-revoke");
    client(&email).await;
    let p = pkce();
    let nonce = format!("n-{}", uuid::Uuid::new_v4().simple());
    let started = authorize(&[
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("scope", "openid email"),
        ("nonce", nonce.as_str()),
    ])
    .await;
    assert_eq!(started.status(), 302, "{}", started.text().await.unwrap());
    let back = consent(location(&started), &email).await;
    let (status, tokens) = redeem(back.get("code").unwrap(), &p.verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], nonce.as_str(), "{id}");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["scope"], "openid email");
    assert_eq!(user_info(access).await.0, 200);

    let e = &cloud().endpoints;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let renew = [
        ("grant_type", "refresh_token"),
        ("client_id", e.client_id.as_str()),
        ("refresh_token", refresh),
    ];
    let (status, renewed) = token(&renew).await;
    assert_eq!(status, 200, "{renewed}");
    let renewed_access = renewed["access_token"].as_str().unwrap();
    assert_eq!(claims(renewed_access)["scope"], "openid email");

    for (form, error) in [
        (vec![("client_id", e.client_id.as_str())], "invalid_request"),
        (
            vec![("token", refresh), ("client_id", "nobody")],
            "invalid_client",
        ),
        (
            vec![("token", access), ("client_id", e.client_id.as_str())],
            "unsupported_token_type",
        ),
    ] {
        let (status, body) = revoke(&form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(error)),
            "{form:?}"
        );
    }
    assert_eq!(
        user_info(access).await.0,
        200,
        "a refused revocation revokes nothing"
    );

    let revoked = [("token", refresh), ("client_id", e.client_id.as_str())];
    assert_eq!(revoke(&revoked).await.0, 200);
    let (status, refused) = token(&renew).await;
    assert_eq!((status, &refused["error"]), (400, &json!("invalid_grant")));
    for access in [access, renewed_access] {
        assert_eq!(
            user_info(access).await.0,
            401,
            "userInfo refuses a revoked token"
        );
    }
    assert_eq!(revoke(&revoked).await.0, 200, "revoked already");
}

/// What the front does not play answers so, never the engine's internal
/// error page: managed login's own sign-in pages and SAML.
#[tokio::test]
async fn a_managed_login_page_the_front_does_not_play_says_so() {
    let e = &cloud().endpoints;
    for (method, path) in [
        (reqwest::Method::GET, "/login"),
        (reqwest::Method::GET, "/signup"),
        (reqwest::Method::POST, "/saml2/idpresponse"),
    ] {
        let url = with_query(
            &format!("{}{path}", e.cognito_url),
            [("client_id", e.client_id.as_str())],
        );
        let answer = http().request(method.clone(), url).send().await.unwrap();
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap();
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path}: {status}, not JSON: {text:.200}"));
        assert_eq!(status, 501, "{method} {path}: {body}");
        assert_eq!(body["__type"], "NotPlayedLocally");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains(path) && message.contains(repo::paths::DIFFERENCES_PAGE),
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_federated_sign_in_with_a_password_accounts_verified_email_is_linked_to_it() {
    let email = unique_email("fed-linked");
    let password_token = signed_up_and_confirmed(&email).await;
    let sub = claims(&password_token)["sub"].clone();
    let before = profile_of(&password_token).await;

    let p = pkce();
    let (status, tokens) = redeem(&code_for(&email, &p).await, &p.verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], sub, "signed in as the password account: {id}");
    let after = profile_of(tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(after["user_id"], before["user_id"], "one profile");

    let conf = crate::support::sdk().await;
    let api =
        kit::signed::json_protocol::JsonApi::new(&conf, kit::signed::json_protocol::COGNITO_IDP);
    let filter = format!("email = \"{email}\"");
    let users = (api.call(
        "ListUsers",
        &json!({"UserPoolId": cloud().endpoints.user_pool_id, "Filter": filter}),
    ))
    .await
    .unwrap();
    assert_eq!(
        users["Users"].as_array().unwrap().len(),
        1,
        "one user in the pool: {users}"
    );
}

#[tokio::test]
async fn the_code_needs_its_pkce_verifier_and_its_redirect_uri_and_is_used_once() {
    let p = pkce();
    let code = code_for(&unique_email("fed-pkce"), &p).await;
    let (status, refused) = redeem(&code, "not-the-verifier-not-the-verifier-not-the-ver").await;
    assert_eq!(
        (status, &refused["error"]),
        (400, &json!("invalid_grant")),
        "{refused}"
    );
    // A refused attempt spends the code, as a stolen code's use would.
    let (status, again) = redeem(&code, &p.verifier).await;
    assert_eq!(
        (status, &again["error"]),
        (400, &json!("invalid_grant")),
        "{again}"
    );

    let p = pkce();
    let code = code_for(&unique_email("fed-redirect"), &p).await;
    let e = &cloud().endpoints;
    let elsewhere = format!("{}elsewhere", app());
    let (status, refused) = token(&[
        ("grant_type", "authorization_code"),
        ("client_id", &e.client_id),
        ("code", &code),
        ("redirect_uri", &elsewhere),
        ("code_verifier", &p.verifier),
    ])
    .await;
    assert_eq!(
        (status, &refused["error"]),
        (400, &json!("invalid_grant")),
        "{refused}"
    );
}

#[tokio::test]
async fn authorize_refuses_an_unregistered_redirect_and_a_challenge_other_than_s256() {
    let e = &cloud().endpoints;
    let url = format!("{}/oauth2/authorize", e.cognito_url);
    let evil = http()
        .get(with_query(
            &url,
            [
                ("response_type", "code"),
                ("client_id", e.client_id.as_str()),
                ("redirect_uri", "https://evil.example/"),
                ("identity_provider", e.federated_provider.as_str()),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), 400);
    assert!(
        evil.headers().get("location").is_none(),
        "never sent to an unregistered URI"
    );

    let plain = authorize(&[
        ("code_challenge", &"a".repeat(43)),
        ("code_challenge_method", "plain"),
    ])
    .await;
    let back = location(&plain);
    assert_eq!(back.base, app());
    assert_eq!(back.get("error"), Some("invalid_request"));
    assert_eq!(back.get("state"), Some("s-1"));

    let scope = authorize(&[("scope", "openid phone")]).await;
    assert_eq!(location(&scope).get("error"), Some("invalid_scope"));

    // An access token from a password sign-in is not managed login's.
    let access = password_access_token(&unique_email("fed-api")).await;
    assert_eq!(user_info(&access).await.0, 401);

    let logout = format!("{}/logout", e.cognito_url);
    let out = |uri: &str| {
        http()
            .get(with_query(
                &logout,
                [("client_id", e.client_id.as_str()), ("logout_uri", uri)],
            ))
            .send()
    };
    let home = out(&app()).await.unwrap();
    assert_eq!(location(&home).base, app());
    assert_eq!(out("https://evil.example/").await.unwrap().status(), 400);
}

/// "Sign in with", consent at the provider as `email`, and the app shown.
async fn signs_in_at_the_provider(
    b: &devstack_testkit::Browser,
    email: &str,
    screenshot: Option<&str>,
) {
    b.click("#signin-federated").await;
    b.fill("#idp-email", email).await;
    if let Some(name) = screenshot {
        b.screenshot(name).await;
    }
    b.click("#idp-allow").await;
    b.until(
        "signed in",
        "const app = document.querySelector('#app'); return app && !app.hidden;",
        Duration::from_secs(15),
    )
    .await;
}

#[tokio::test]
async fn in_the_browser_a_person_signs_in_with_the_provider_uses_the_app_and_signs_out() {
    let email = unique_email("fed-browser");
    let b = devstack_testkit::Browser::start().await;
    b.client.goto(&app()).await.unwrap();
    let button = b
        .wait_for("#signin-federated:not([hidden])", Duration::from_secs(10))
        .await;
    let provider = &cloud().endpoints.federated_provider;
    assert_eq!(
        button.text().await.unwrap(),
        format!("Sign in with {provider}")
    );
    signs_in_at_the_provider(&b, &email, Some("federation-1-the-providers-consent")).await;
    let session = b.stored_session().await;
    assert_eq!(
        (&session["email"], &session["federated"]),
        (&json!(email), &json!(true))
    );
    let url = b.client.current_url().await.unwrap();
    assert_eq!(
        url.query(),
        None,
        "the code and state leave the address bar: {url}"
    );
    b.fill("#todo-form-title", "From the partner").await;
    b.click("#todo-form [type=submit]").await;
    b.wait_for("#todos li.todo[data-todo-id]", Duration::from_secs(10))
        .await;
    b.screenshot("federation-2-signed-in").await;

    let refresh = session["refreshToken"].as_str().unwrap().to_owned();
    b.click("#signout").await;
    b.until(
        "signed out, back from managed login's sign-out",
        "const form = document.querySelector('#signin-form'); \
         return form && !form.hidden && !localStorage.getItem('todo.session');",
        Duration::from_secs(15),
    )
    .await;
    let url = b.client.current_url().await.unwrap();
    assert_eq!(url.as_str(), app(), "back at the app's root");
    let renew = [
        ("grant_type", "refresh_token"),
        ("client_id", cloud().endpoints.client_id.as_str()),
        ("refresh_token", refresh.as_str()),
    ];
    let (status, refused) = token(&renew).await;
    assert_eq!(
        (status, &refused["error"]),
        (400, &json!("invalid_grant")),
        "the sign-out revoked the session's refresh token"
    );

    // Someone who signed up with a password, then signs in with the
    // provider under the same email: the same account.
    let email = unique_email("fed-browser-linked");
    b.sign_up(
        &app(),
        "Lin",
        &email,
        devstack_client::walkthrough::PASSWORD,
    )
    .await;
    let password_sub = claims(b.stored_session().await["idToken"].as_str().unwrap())["sub"].clone();
    b.click("#signout").await;
    signs_in_at_the_provider(&b, &email, None).await;
    let session = b.stored_session().await;
    assert_eq!(
        claims(session["idToken"].as_str().unwrap())["sub"],
        password_sub,
        "linked, not a second account"
    );
    b.screenshot("federation-3-linked").await;
}
