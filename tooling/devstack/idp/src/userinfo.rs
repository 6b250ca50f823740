//! The userinfo endpoint (OpenID Connect Core §5.3): the person behind an
//! access token, for clients that read claims there rather than from the
//! ID token.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::Shared;

pub async fn userinfo(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let token = (headers.get(header::AUTHORIZATION))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token.and_then(|t| s.person_of(t.trim())) {
        Some(person) => Json(person).into_response(),
        None => {
            // RFC 6750 §3.1: an absent, unknown or expired token.
            let challenge = [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")];
            (StatusCode::UNAUTHORIZED, challenge).into_response()
        }
    }
}
