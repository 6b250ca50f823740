//! The vendor's API: `POST /v1/campaigns` and `GET /v1/campaigns/{id}`,
//! behind a bearer API key, and the router that serves them with the
//! sandbox control routes.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::campaign::error;
use crate::control;
use crate::lifecycle::{self, Accepted};
use crate::request::{Invalid, NewCampaign};
use crate::scenario::Scenario;
use crate::shared::Shared;
use crate::store::{Admission, GroupKey};

/// Past axum's 2 MB default: 10,000 recipients and a 100,000-character
/// body, all multi-byte, fit.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/campaigns", post(create))
        .route("/v1/campaigns/{id}", get(show))
        .merge(control::routes())
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such route", None) })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared)
}

fn invalid(e: &Invalid) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        &e.message,
        Some(&e.field),
    )
}

/// Counts the request; the 401 to answer unless it carries the current key.
fn unauthorized(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let ok = given.is_some_and(|key| key == shared.api_key());
    let mut store = shared.store();
    store.stats.requests += 1;
    if ok {
        return None;
    }
    store.stats.unauthorized += 1;
    drop(store);
    tracing::info!(target: "trail", "sender: 401 (invalid API key)");
    Some(error(
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
        "the Authorization header must be `Bearer <api key>` with the current key",
        None,
    ))
}

async fn create(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = unauthorized(&shared, &headers) {
        return refused;
    }
    let checked = group_key(&headers, &body).and_then(|key| Ok((key, NewCampaign::parse(&body)?)));
    let (key, new) = match checked {
        Ok(checked) => checked,
        Err(e) => {
            shared.store().stats.invalid += 1;
            return invalid(&e);
        }
    };
    let scenario = Scenario::of(&new.subject);
    let admission = shared.store().admit(key, &new, scenario, Utc::now());
    match admission {
        Admission::Unavailable => {
            tracing::info!(target: "trail", reference = %new.reference, "sender: 503 ([sandbox:5xx])");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the sender is unavailable; retry later",
                None,
            )
        }
        Admission::Throttled => {
            tracing::info!(target: "trail", reference = %new.reference, "sender: 429 ([sandbox:429])");
            let mut response = error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; retry after the Retry-After seconds",
                None,
            );
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("1"));
            response
        }
        Admission::Replayed(answer) => {
            let mut response = (StatusCode::ACCEPTED, axum::Json(answer)).into_response();
            // As Stripe marks a replayed answer, so a caller can tell.
            response.headers_mut().insert(
                "idempotent-replayed",
                axum::http::HeaderValue::from_static("true"),
            );
            response
        }
        Admission::Accepted(answer, at) => {
            tracing::info!(target: "trail", campaign = %answer.id, reference = %answer.reference, recipients = answer.recipients, "sender: campaign accepted");
            lifecycle::start(
                &shared,
                Accepted {
                    id: answer.id.clone(),
                    reference: answer.reference.clone(),
                    scenario,
                    at,
                },
            );
            (StatusCode::ACCEPTED, axum::Json(answer)).into_response()
        }
    }
}

/// The Idempotency-Key, or the body's hash when there is none.
fn group_key(headers: &HeaderMap, body: &[u8]) -> Result<GroupKey, Invalid> {
    const FIELD: &str = "Idempotency-Key";
    match headers.get(FIELD) {
        None => Ok(GroupKey::Body(hex::encode(Sha256::digest(body)))),
        Some(value) => match value.to_str() {
            Ok("") => Err(Invalid::new(FIELD, "must not be empty")),
            Ok(key) => Ok(GroupKey::Idempotency(key.to_owned())),
            Err(_) => Err(Invalid::new(FIELD, "must be visible ASCII")),
        },
    }
}

async fn show(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = unauthorized(&shared, &headers) {
        return refused;
    }
    let found = shared.store().answer(&id);
    match found {
        Some(answer) => axum::Json(answer).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("no campaign {id}"),
            None,
        ),
    }
}
