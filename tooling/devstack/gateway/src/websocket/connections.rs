//! The `@connections` management API: post to, describe or close a
//! connection.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::api::{Connection, Outgoing, SocketApi, message};

pub(super) fn gone() -> Response {
    Response::builder()
        .status(StatusCode::GONE)
        .header("content-type", "application/json")
        .header("x-amzn-ErrorType", "GoneException")
        .body(Body::from("{}"))
        .expect("a valid response")
}

pub(super) async fn connection_of(
    api: &SocketApi,
    stage: &str,
    id: &str,
) -> Result<Arc<Connection>, Response> {
    if stage != api.spec.stage {
        return Err(message(StatusCode::FORBIDDEN, "Forbidden"));
    }
    api.connections
        .read()
        .await
        .get(id)
        .cloned()
        .ok_or_else(gone)
}

pub(super) async fn post_to_connection(
    State(api): State<Arc<SocketApi>>,
    Path((stage, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let connection = match connection_of(&api, &stage, &id).await {
        Ok(c) => c,
        Err(r) => {
            tracing::info!(target: "trail", api = %api.spec.name, connection = %id, "@connections POST 410");
            return r;
        }
    };
    if body.len() > api.spec.limits.max_message_bytes {
        return Response::builder()
            .status(StatusCode::PAYLOAD_TOO_LARGE)
            .header("content-type", "application/json")
            .header("x-amzn-ErrorType", "PayloadTooLargeException")
            .body(Body::from(
                json!({"message": "Message too long"}).to_string(),
            ))
            .expect("a valid response");
    }
    if connection.tx.send(Outgoing::Data(body)).is_err() {
        return gone();
    }
    StatusCode::OK.into_response()
}

pub(super) async fn get_connection(
    State(api): State<Arc<SocketApi>>,
    Path((stage, id)): Path<(String, String)>,
) -> Response {
    match connection_of(&api, &stage, &id).await {
        Ok(c) => {
            let last = *c.last_active.lock().expect("not poisoned");
            (
                [("content-type", "application/json")],
                json!({
                    "connectedAt": c.connected_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "identity": {"sourceIp": "127.0.0.1", "userAgent": c.user_agent},
                    "lastActiveAt": last.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                })
                .to_string(),
            )
                .into_response()
        }
        Err(r) => r,
    }
}

pub(super) async fn delete_connection(
    State(api): State<Arc<SocketApi>>,
    Path((stage, id)): Path<(String, String)>,
) -> Response {
    match connection_of(&api, &stage, &id).await {
        Ok(c) => {
            let _ = c.tx.send(Outgoing::Close(1000, ""));
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => r,
    }
}
