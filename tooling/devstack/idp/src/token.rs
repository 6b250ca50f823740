//! The token endpoint (RFC 6749 §4.1.3-5.2, OpenID Connect Core §3.1.3):
//! an authenticated client's code for an ID token and an access token.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::credentials::Presented;
use crate::state::{Grant, Person, Shared, TOKEN_LIFE};

type Params = HashMap<String, String>;

/// An RFC 6749 §5.2 error: its code and a description for people.
struct Refusal(&'static str, &'static str);

#[derive(Serialize)]
struct IdClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    #[serde(flatten)]
    person: &'a Person,
}

pub async fn token(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let p: Params = form_urlencoded::parse(&body).into_owned().collect();
    let presented = Presented::of(&headers, &p);
    match exchange(&s, &presented, &p) {
        Ok(answer) => answer,
        Err(Refusal(error, description)) => {
            tracing::info!(error, "idp: token request refused");
            refused(error, description, presented.is_basic())
        }
    }
}

fn exchange(s: &Shared, presented: &Presented, p: &Params) -> Result<Response, Refusal> {
    if presented.is_basic() && p.contains_key("client_secret") {
        return Err(Refusal(
            "invalid_request",
            "use one client authentication method",
        ));
    }
    let client = (presented.client(&s.options))
        .ok_or(Refusal("invalid_client", "unknown client or wrong secret"))?;
    match p.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {}
        Some(_) => return Err(Refusal("unsupported_grant_type", "authorization_code only")),
        None => return Err(Refusal("invalid_request", "grant_type is missing")),
    }
    let code = required(p, "code")?;
    // Spent on first presentation, whatever follows (RFC 6749 §4.1.2).
    let grant = (s.take_code(code)).ok_or(Refusal(
        "invalid_grant",
        "the code is unknown, used or expired",
    ))?;
    let redirect_uri = required(p, "redirect_uri")?;
    if grant.client_id != client {
        return Err(Refusal(
            "invalid_grant",
            "the code was issued to another client",
        ));
    }
    if grant.redirect_uri != redirect_uri {
        return Err(Refusal(
            "invalid_grant",
            "redirect_uri is not the authorization request's",
        ));
    }
    issue(s, grant)
}

fn required<'p>(p: &'p Params, key: &'static str) -> Result<&'p str, Refusal> {
    match p.get(key) {
        Some(value) if !value.is_empty() => Ok(value),
        _ if key == "code" => Err(Refusal("invalid_request", "code is required")),
        _ => Err(Refusal("invalid_request", "redirect_uri is required")),
    }
}

/// The ID token and an access token for the grant's person.
fn issue(s: &Shared, grant: Grant) -> Result<Response, Refusal> {
    let now = chrono::Utc::now().timestamp();
    let life = TOKEN_LIFE.as_secs();
    let claims = IdClaims {
        iss: &s.issuer,
        aud: &grant.client_id,
        exp: now + life as i64,
        iat: now,
        auth_time: grant.auth_time,
        nonce: grant.nonce.as_deref(),
        person: &grant.person,
    };
    let id_token = s.key.sign(&claims).map_err(|e| {
        tracing::error!(error = %e, "idp: signing an ID token failed");
        Refusal("server_error", "the ID token could not be signed")
    })?;
    let access_token = s.remember_access(grant.person.clone());
    tracing::debug!(client_id = %grant.client_id, "idp: tokens issued");
    let body = json!({
        "access_token": access_token, "token_type": "Bearer", "expires_in": life,
        "id_token": id_token, "scope": grant.scope,
    });
    // Tokens must not be cached on the way (RFC 6749 §5.1).
    let headers = [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
    ];
    Ok((headers, Json(body)).into_response())
}

/// RFC 6749 §5.2's answer: 400, but 401 with a challenge for a client
/// that failed Basic authentication.
fn refused(error: &str, description: &str, basic: bool) -> Response {
    let body = Json(json!({ "error": error, "error_description": description }));
    match error {
        "invalid_client" if basic => {
            let challenge = [(header::WWW_AUTHENTICATE, "Basic realm=\"idp\"")];
            (StatusCode::UNAUTHORIZED, challenge, body).into_response()
        }
        "server_error" => (StatusCode::INTERNAL_SERVER_ERROR, body).into_response(),
        _ => (StatusCode::BAD_REQUEST, body).into_response(),
    }
}
