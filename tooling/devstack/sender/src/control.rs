//! The sandbox's own routes, without auth: what a test or the local cloud
//! reads to account for every request and delivery, and the settings it
//! changes while running (the key, the webhook URL).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};

use crate::campaign::error;
use crate::shared::Shared;

/// `POST /_sandbox/api-key/rotate`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotated {
    pub api_key: String,
}

/// `PUT /_sandbox/webhook`'s body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub url: String,
}

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/_sandbox/campaigns",
            get(|State(shared): State<Arc<Shared>>| async move {
                let listing = shared.store().listing();
                axum::Json(listing)
            }),
        )
        .route(
            "/_sandbox/stats",
            get(|State(shared): State<Arc<Shared>>| async move {
                let stats = shared.store().stats.clone();
                axum::Json(stats)
            }),
        )
        .route(
            "/_sandbox/api-key/rotate",
            post(|State(shared): State<Arc<Shared>>| async move {
                axum::Json(Rotated {
                    api_key: shared.rotate_api_key(),
                })
            }),
        )
        .route("/_sandbox/webhook", put(set_webhook))
}

async fn set_webhook(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let url = match serde_json::from_slice::<Webhook>(&body) {
        Ok(Webhook { url }) => url,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("expected {{\"url\": \"http://…\"}}: {e}"),
                Some("url"),
            );
        }
    };
    if let Err(e) = reqwest::Url::parse(&url) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("not a URL: {e}"),
            Some("url"),
        );
    }
    shared.set_webhook_url(url);
    StatusCode::NO_CONTENT.into_response()
}
