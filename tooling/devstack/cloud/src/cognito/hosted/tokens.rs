//! Managed login's token endpoints: `/oauth2/token` (a code redeemed with
//! its PKCE verifier, a refresh), `/oauth2/userInfo`, `/oauth2/revoke` and
//! `/logout`, with Cognito's OAuth errors.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{CODE_LIFE, Hosted, Params, found, page, token_answer};

/// The token endpoint's error, as RFC 6749 §5.2 has it.
pub(super) fn oauth_error(error: &str, description: &str) -> Response {
    let body = json!({ "error": error, "error_description": description });
    let cors = [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")];
    (StatusCode::BAD_REQUEST, cors, Json(body)).into_response()
}

pub(super) async fn token(State(h): State<Arc<Hosted>>, body: Bytes) -> Response {
    let f: Params = form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    if field("client_id") != h.login.client_id {
        return oauth_error("invalid_client", "client_id: no such app client");
    }
    let answer = match field("grant_type") {
        "authorization_code" => {
            h.redeem(field("code"), field("redirect_uri"), f.get("code_verifier"))
        }
        "refresh_token" => h.renew(field("refresh_token")).await,
        "" => return oauth_error("invalid_request", "grant_type is missing"),
        _ => return oauth_error("unsupported_grant_type", "grant_type"),
    };
    match answer {
        Ok(tokens) => {
            let headers = [
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
                (header::CACHE_CONTROL, "no-store"),
            ];
            (headers, Json(tokens)).into_response()
        }
        Err(why) => oauth_error("invalid_grant", why),
    }
}

impl Hosted {
    /// A code's tokens, once: the same redirect URI as its authorization
    /// request, and the verifier whose S256 is its challenge.
    fn redeem(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: Option<&String>,
    ) -> Result<Value, &'static str> {
        let issued = self
            .pending
            .lock()
            .expect("not poisoned")
            .codes
            .remove(code);
        let issued = issued
            .filter(|i| i.at.elapsed() < CODE_LIFE)
            .ok_or("the code is unknown, used or expired")?;
        if issued.redirect_uri != redirect_uri {
            return Err("redirect_uri is not the authorization request's");
        }
        if let Some(challenge) = &issued.challenge {
            let verifier = verifier.ok_or("code_verifier is missing")?;
            if s256(verifier) != *challenge {
                return Err("code_verifier does not match the code_challenge");
            }
        }
        Ok(token_answer(&issued.tokens, true))
    }

    async fn renew(&self, refresh_token: &str) -> Result<Value, &'static str> {
        let call = json!({
            "ClientId": self.login.client_id, "AuthFlow": "REFRESH_TOKEN_AUTH",
            "AuthParameters": { "REFRESH_TOKEN": refresh_token },
        });
        let renewed = self.front.api.call("InitiateAuth", &call).await;
        let t = renewed.map_err(|_| "the refresh token is unknown or revoked")?;
        Ok(token_answer(&t["AuthenticationResult"], false))
    }
}

/// RFC 7636's S256: base64url, unpadded, of the verifier's SHA-256.
pub(super) fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub(super) async fn user_info(State(h): State<Arc<Hosted>>, headers: HeaderMap) -> Response {
    let unauthorized = || {
        let challenge = [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")];
        (
            StatusCode::UNAUTHORIZED,
            challenge,
            Json(json!({"error": "invalid_token"})),
        )
            .into_response()
    };
    let token = (headers.get(header::AUTHORIZATION))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // The pool checks the token: issued, not revoked, granted `openid`
    // (an API sign-in's has only the API's scope).
    let call = json!({ "AccessToken": token });
    let Ok(user) = h.front.api.call("DevstackUserInfo", &call).await else {
        return unauthorized();
    };
    let mut claims = serde_json::Map::new();
    for a in user["UserAttributes"].as_array().into_iter().flatten() {
        if let (Some(name), Some(value)) = (a["Name"].as_str(), a["Value"].as_str()) {
            claims.insert(name.to_owned(), Value::from(value));
        }
    }
    claims.insert("username".into(), user["Username"].clone());
    let cors = [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")];
    (cors, Json(Value::Object(claims))).into_response()
}

/// `POST /oauth2/revoke`: a refresh token revoked with every access token
/// issued from it (the pool's RevokeToken). A public client names itself
/// in the form, one with a secret in Basic authorization. An unknown or
/// revoked token is revoked already (RFC 7009).
pub(super) async fn revoke(
    State(h): State<Arc<Hosted>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f: Params = form_urlencoded::parse(&body).into_owned().collect();
    let basic = (headers.get(header::AUTHORIZATION))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| pair.split_once(':').map(|(id, _)| id.to_owned()));
    let Some(client_id) = basic.or_else(|| f.get("client_id").cloned()) else {
        return oauth_error("invalid_request", "client_id is missing");
    };
    if client_id != h.login.client_id {
        return oauth_error("invalid_client", "client_id: no such app client");
    }
    let Some(token) = f.get("token").filter(|t| !t.is_empty()) else {
        return oauth_error("invalid_request", "token is missing");
    };
    let call = json!({ "ClientId": client_id, "Token": token });
    match h.front.api.call("RevokeToken", &call).await {
        Ok(_) => {
            let cors = [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")];
            (StatusCode::OK, cors).into_response()
        }
        Err(e) => match e.kind.as_str() {
            "UnsupportedTokenTypeException" => oauth_error(
                "unsupported_token_type",
                "only a refresh token can be revoked",
            ),
            "UnsupportedOperationException" => oauth_error(
                "invalid_request",
                "token revocation is not enabled for the app client",
            ),
            "UnauthorizedException" => {
                oauth_error("invalid_grant", "the token was issued to another client")
            }
            _ => oauth_error("invalid_request", &e.message),
        },
    }
}

pub(super) async fn logout(State(h): State<Arc<Hosted>>, Query(q): Query<Params>) -> Response {
    if q.get("client_id") != Some(&h.login.client_id) {
        return page("invalid_request", "client_id: no such app client");
    }
    if let Some(uri) = q.get("logout_uri") {
        if h.login.client.logout_urls.contains(uri) {
            return found(uri.clone());
        }
        return page(
            "invalid_request",
            "logout_uri is not one of the app client's LogoutURLs",
        );
    }
    if q.contains_key("redirect_uri") {
        // Signed out, then to sign-in again: the authorize request's own checks apply.
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(q.iter())
            .finish();
        let location = format!("/oauth2/authorize?{query}");
        return found(location);
    }
    page("invalid_request", "logout_uri or redirect_uri is required")
}
