//! The local API Gateway WebSocket API, played the way AWS plays it, one
//! listener per API (its own host, as `{api}.execute-api` is on AWS):
//!
//! - `GET /{stage}` upgrades to a WebSocket. `$connect`'s REQUEST
//!   authorizer is called only when every identity source is present
//!   (401 otherwise); an error `Unauthorized` is 401, a Deny is 403; the
//!   connection opens only after the `$connect` route answers 2xx.
//! - Messages are routed by the `RouteSelectionExpression`
//!   (`$request.body.<path>`), falling back to `$default`; events carry
//!   the authorizer's context on every route.
//! - `POST|GET|DELETE /{stage}/@connections/{id}` is the management API;
//!   an unknown or closed connection is 410 `GoneException`, named in the
//!   `x-amzn-ErrorType` header the SDK reads.
//! - AWS's limits: a frame over 32 KB or a message over 128 KB closes the
//!   connection with 1009; 10 minutes without a message from the client,
//!   or 2 hours in all, close it with 1001. Then `$disconnect` runs.

mod api;
mod authorizer;
mod connect;
mod connections;
mod messages;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

pub use api::{Authorizer, Limits, SocketApi, Spec, base64, short_id};
pub use authorizer::policy_allows;
use connect::connect;
use connections::{delete_connection, get_connection, post_to_connection};
pub use messages::select_route;

pub fn router(api: Arc<SocketApi>) -> Router {
    Router::new()
        .route("/{stage}", get(connect))
        .route(
            "/{stage}/@connections/{id}",
            post(post_to_connection)
                .get(get_connection)
                .delete(delete_connection),
        )
        .with_state(api)
}
