//! The provider as a client and a browser see it, over HTTP on
//! 127.0.0.1: discovery, the consent page, the code exchanged for an ID
//! token that verifies with the published key, userinfo, and the refusals
//! RFC 6749 names.

mod support;

use std::time::{Duration, Instant};

use crate::subject_of;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use support::{
    Auth, CLIENT, OTHER_REDIRECT, REDIRECT, SECRET, code, decide, exchange, get_authorize,
    get_json, http, provider, request, returned, token, unregistered, value_of,
};

#[tokio::test]
async fn discovery_lists_the_endpoints_under_the_issuer() {
    let p = provider().await;
    let i = p.issuer();
    assert!(
        i.starts_with("http://127.0.0.1:") && !i.ends_with('/'),
        "{i}"
    );
    let d = get_json(format!("{i}/.well-known/openid-configuration")).await;
    assert_eq!(d["issuer"], i);
    assert_eq!(d["authorization_endpoint"], format!("{i}/authorize"));
    assert_eq!(d["token_endpoint"], format!("{i}/token"));
    assert_eq!(d["userinfo_endpoint"], format!("{i}/userinfo"));
    assert_eq!(d["jwks_uri"], format!("{i}/jwks"));
    assert_eq!(d["response_types_supported"], json!(["code"]));
    assert_eq!(d["id_token_signing_alg_values_supported"], json!(["EdDSA"]));
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    let jwks = get_json(format!("{i}/jwks")).await;
    let key = &jwks["keys"][0];
    assert_eq!(
        (&key["kty"], &key["crv"]),
        (&json!("OKP"), &json!("Ed25519"))
    );
    assert_eq!((&key["use"], &key["alg"]), (&json!("sig"), &json!("EdDSA")));
    assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
}

#[tokio::test]
async fn the_consent_page_carries_the_request_in_its_form_escaped() {
    let p = provider().await;
    let mut pairs = request(REDIRECT);
    pairs[4] = ("state", "a\"><b>&");
    let page = get_authorize(&p, &pairs).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign in to Partner IdP"), "{html}");
    assert!(html.contains("action=\"/authorize\""), "{html}");
    for field in [
        "id=\"idp-email\" name=\"email\" type=\"email\" required",
        "id=\"idp-name\" name=\"name\"",
        "id=\"idp-allow\" type=\"submit\" name=\"decision\" value=\"allow\">Allow<",
        "id=\"idp-deny\" type=\"submit\" name=\"decision\" value=\"deny\"",
        "name=\"nonce\" value=\"n-1\"",
        "name=\"client_id\" value=\"pool client+1\"",
        "name=\"state\" value=\"a&quot;&gt;&lt;b&gt;&amp;\"",
    ] {
        assert!(html.contains(field), "{field} in {html}");
    }
    assert!(!html.contains("<b>"), "{html}");
}

#[tokio::test]
async fn the_code_flow_ends_in_an_id_token_that_verifies_with_the_jwks() {
    let p = provider().await;
    let code = code(&p, "Ada@Example.com", REDIRECT).await;
    let t = exchange(&p, &code, REDIRECT, Auth::Basic(SECRET)).await;
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.headers["cache-control"], "no-store");
    assert_eq!(
        (&t.body["token_type"], &t.body["expires_in"]),
        (&json!("Bearer"), &json!(3600))
    );
    assert_eq!(t.body["scope"], "openid email");
    assert!(
        t.body["access_token"]
            .as_str()
            .is_some_and(|a| a.len() >= 32)
    );

    let claims = verified(&p, t.body["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], subject_of("ada@example.com"));
    assert_eq!(claims["aud"], CLIENT);
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["email"], "Ada@Example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "Ada L");
    let now = chrono::Utc::now().timestamp();
    let (exp, iat) = (
        claims["exp"].as_i64().unwrap(),
        claims["iat"].as_i64().unwrap(),
    );
    assert!((iat - now).abs() < 60 && exp - iat == 3600, "{claims}");
    assert!(claims["auth_time"].as_i64().is_some_and(|a| a <= iat));
}

/// The ID token's claims, once its signature checks out with the key the
/// JWKS names, for this issuer and client.
async fn verified(p: &crate::Provider, token: &str) -> Value {
    let jwks: JwkSet =
        serde_json::from_value(get_json(format!("{}/jwks", p.issuer())).await).unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    let jwk = jwks
        .find(&header.kid.unwrap())
        .expect("the kid is published");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[p.issuer()]);
    validation.set_audience(&[CLIENT]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let key = DecodingKey::from_jwk(jwk).unwrap();
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims
}

#[tokio::test]
async fn client_secret_post_is_accepted_too() {
    let p = provider().await;
    let code = code(&p, "bob@example.com", REDIRECT).await;
    let t = exchange(&p, &code, REDIRECT, Auth::Post(SECRET)).await;
    assert_eq!(t.status, 200, "{}", t.body);
    let claims = verified(&p, t.body["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], subject_of("bob@example.com"));
}

#[tokio::test]
async fn a_replayed_code_is_an_invalid_grant() {
    let p = provider().await;
    let code = code(&p, "bob@example.com", REDIRECT).await;
    assert_eq!(
        exchange(&p, &code, REDIRECT, Auth::Basic(SECRET))
            .await
            .status,
        200
    );
    let again = exchange(&p, &code, REDIRECT, Auth::Basic(SECRET)).await;
    assert_eq!(
        (again.status, &again.body["error"]),
        (400, &json!("invalid_grant"))
    );
    assert!(again.body["error_description"].is_string());
    let made_up = exchange(&p, "not-a-code", REDIRECT, Auth::Basic(SECRET)).await;
    assert_eq!(
        (made_up.status, &made_up.body["error"]),
        (400, &json!("invalid_grant"))
    );
}

#[tokio::test]
async fn a_wrong_or_missing_secret_is_an_invalid_client() {
    let p = provider().await;
    let code = code(&p, "bob@example.com", REDIRECT).await;
    let basic = exchange(&p, &code, REDIRECT, Auth::Basic("not the secret")).await;
    assert_eq!(
        (basic.status, &basic.body["error"]),
        (401, &json!("invalid_client"))
    );
    assert!(
        basic.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let post = exchange(&p, &code, REDIRECT, Auth::Post("not the secret")).await;
    assert_eq!(
        (post.status, &post.body["error"]),
        (400, &json!("invalid_client"))
    );
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let none = token(&p, &pairs, None).await;
    assert_eq!(
        (none.status, &none.body["error"]),
        (400, &json!("invalid_client"))
    );
    // A refused client does not spend the code: the right secret still gets it.
    assert_eq!(
        exchange(&p, &code, REDIRECT, Auth::Basic(SECRET))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_redirect_uri_other_than_the_authorize_requests_is_an_invalid_grant() {
    let p = provider().await;
    let code = code(&p, "bob@example.com", REDIRECT).await;
    // Registered too, but not the one the code was issued for.
    let elsewhere = exchange(&p, &code, OTHER_REDIRECT, Auth::Basic(SECRET)).await;
    assert_eq!(
        (elsewhere.status, &elsewhere.body["error"]),
        (400, &json!("invalid_grant"))
    );
    // The failed exchange spent the code.
    let after = exchange(&p, &code, REDIRECT, Auth::Basic(SECRET)).await;
    assert_eq!(
        (after.status, &after.body["error"]),
        (400, &json!("invalid_grant"))
    );
}

#[tokio::test]
async fn other_grant_types_and_missing_parameters_are_named() {
    let p = provider().await;
    let other = token(
        &p,
        &[("grant_type", "client_credentials")],
        Some(Auth::Basic(SECRET)),
    )
    .await;
    assert_eq!(
        (other.status, &other.body["error"]),
        (400, &json!("unsupported_grant_type"))
    );
    let no_code = token(
        &p,
        &[("grant_type", "authorization_code")],
        Some(Auth::Basic(SECRET)),
    )
    .await;
    assert_eq!(
        (no_code.status, &no_code.body["error"]),
        (400, &json!("invalid_request"))
    );
    let no_grant = token(&p, &[], Some(Auth::Basic(SECRET))).await;
    assert_eq!(
        (no_grant.status, &no_grant.body["error"]),
        (400, &json!("invalid_request"))
    );
}

#[tokio::test]
async fn an_unregistered_redirect_uri_or_client_gets_a_400_page_and_no_redirect() {
    let p = provider().await;
    let evil = get_authorize(&p, &request("https://evil.example/cb")).await;
    assert_eq!(evil.status(), 400);
    assert!(evil.headers().get("location").is_none());
    assert!(evil.text().await.unwrap().contains("redirect_uri"));

    let allowed = decide(
        &p,
        "https://evil.example/cb",
        "allow",
        &[("email", "a@b.co")],
    )
    .await;
    assert_eq!(allowed.status(), 400);
    assert!(allowed.headers().get("location").is_none());

    let mut stranger = request(REDIRECT);
    stranger[1] = ("client_id", "someone else");
    let unknown = get_authorize(&p, &stranger).await;
    assert_eq!(unknown.status(), 400);
    assert!(unknown.headers().get("location").is_none());
    assert!(unknown.text().await.unwrap().contains("client_id"));
}

#[tokio::test]
async fn every_authorize_request_is_refused_until_redirect_uris_are_set() {
    let p = unregistered().await;
    let early = get_authorize(&p, &request(REDIRECT)).await;
    assert_eq!(early.status(), 400);
    assert!(early.headers().get("location").is_none());
    p.set_redirect_uris(vec![REDIRECT.into()]);
    assert_eq!(get_authorize(&p, &request(REDIRECT)).await.status(), 200);
}

#[tokio::test]
async fn a_denial_goes_back_as_access_denied_with_the_state() {
    let p = provider().await;
    let denied = decide(&p, REDIRECT, "deny", &[]).await;
    assert_eq!(denied.status(), 302);
    let location = denied.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
    let back = returned(&denied);
    assert_eq!(value_of(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(value_of(&back, "state").as_deref(), Some("st"));
    assert_eq!(value_of(&back, "code"), None);
}

#[tokio::test]
async fn a_bad_response_type_or_scope_goes_back_as_an_error_after_the_uris_query() {
    let p = provider().await;
    let mut token_flow = request(OTHER_REDIRECT);
    token_flow[0] = ("response_type", "token");
    let answer = get_authorize(&p, &token_flow).await;
    assert_eq!(answer.status(), 302);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{OTHER_REDIRECT}&")),
        "{location}"
    );
    let back = returned(&answer);
    assert_eq!(
        value_of(&back, "error").as_deref(),
        Some("unsupported_response_type")
    );
    assert_eq!(value_of(&back, "tenant").as_deref(), Some("a"));
    assert_eq!(value_of(&back, "state").as_deref(), Some("st"));

    let mut no_openid = request(REDIRECT);
    no_openid[3] = ("scope", "email profile");
    let back = returned(&get_authorize(&p, &no_openid).await);
    assert_eq!(value_of(&back, "error").as_deref(), Some("invalid_scope"));
}

#[tokio::test]
async fn an_implausible_email_is_refused_naming_the_field() {
    let p = provider().await;
    let answer = decide(&p, REDIRECT, "allow", &[("email", "not an address")]).await;
    assert_eq!(answer.status(), 400);
    assert!(answer.headers().get("location").is_none());
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("data-field=\"email\"")
    );
}

#[tokio::test]
async fn userinfo_answers_a_valid_access_token_only() {
    let p = provider().await;
    let code = code(&p, "Ada@Example.com", REDIRECT).await;
    let t = exchange(&p, &code, REDIRECT, Auth::Basic(SECRET)).await;
    let url = format!("{}/userinfo", p.issuer());
    let access = t.body["access_token"].as_str().unwrap();
    let info = http().get(&url).bearer_auth(access).send().await.unwrap();
    assert_eq!(info.status(), 200);
    let person: Value = info.json().await.unwrap();
    assert_eq!(
        person,
        json!({"sub": subject_of("ada@example.com"), "email": "Ada@Example.com",
               "email_verified": true, "name": "Ada L"})
    );
    for answer in [
        http().get(&url).bearer_auth("forged").send().await.unwrap(),
        http().get(&url).send().await.unwrap(),
    ] {
        assert_eq!(answer.status(), 401);
        assert_eq!(
            answer.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\""
        );
    }
}

#[tokio::test]
async fn a_dropped_provider_stops_serving() {
    let p = provider().await;
    let url = format!("{}/jwks", p.issuer());
    assert_eq!(http().get(&url).send().await.unwrap().status(), 200);
    drop(p);
    let deadline = Instant::now() + Duration::from_secs(5);
    while http().get(&url).send().await.is_ok() {
        assert!(Instant::now() < deadline, "still serving after drop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
