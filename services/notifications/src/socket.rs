//! The WebSocket API's routes, one function for all of them: `$connect`
//! records the connection under its user, `$disconnect` forgets it,
//! `ping` answers `pong` (browsers keep the connection inside API Gateway's
//! 10-minute idle timeout with it), and `$default` tells the client which
//! actions exist.
//!
//! The user comes from the authorizer's context, which API Gateway hands
//! to every event of the connection, never from anything the client sends.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use chrono::{TimeZone, Utc};
use kit::table::TableError;
use serde_json::{Value, json};

use crate::items::Connection;
use crate::push::{Push, PushError};
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("the event has no {0}")]
    Missing(&'static str),
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("reply to {connection_id}: {error}")]
    Reply {
        connection_id: String,
        error: PushError,
    },
}

/// What the route answers; for `$connect`, a 2xx opens the connection.
fn ok() -> Value {
    json!({"statusCode": 200})
}

fn user_of(event: &ApiGatewayWebsocketProxyRequest) -> Result<&str, SocketError> {
    event
        .request_context
        .authorizer
        .fields
        .get("principalId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or(SocketError::Missing("authorizer principalId"))
}

pub async fn handle(
    store: &Store,
    push: &Push,
    event: &ApiGatewayWebsocketProxyRequest,
) -> Result<Value, SocketError> {
    let ctx = &event.request_context;
    let connection_id = ctx
        .connection_id
        .as_deref()
        .ok_or(SocketError::Missing("connectionId"))?;
    let route = ctx.route_key.as_deref().unwrap_or("$default");
    match route {
        "$connect" => {
            let user = user_of(event)?;
            let at = Utc
                .timestamp_millis_opt(ctx.connected_at)
                .single()
                .unwrap_or_else(Utc::now);
            match store
                .add_connection(&Connection::new(user, connection_id, at))
                .await
            {
                Err(TableError::Barred) => {
                    tracing::info!(connection_id, user, "refused: the account was erased");
                    Ok(json!({"statusCode": 403}))
                }
                added => {
                    added?;
                    tracing::info!(connection_id, user, "connected");
                    Ok(ok())
                }
            }
        }
        "$disconnect" => {
            let user = user_of(event)?;
            store.forget_connection(user, connection_id).await?;
            tracing::info!(
                connection_id,
                user,
                status = ctx.disconnect_status_code,
                "disconnected"
            );
            Ok(ok())
        }
        other => {
            let reply = if other == "ping" {
                json!({"type": "pong"})
            } else {
                json!({"type": "error", "message": "unknown action; send {\"action\": \"ping\"}"})
            };
            match push.post(connection_id, &reply).await {
                // The client left meanwhile; its `$disconnect` cleans up.
                Ok(()) | Err(PushError::Gone) => Ok(ok()),
                Err(error) => Err(SocketError::Reply {
                    connection_id: connection_id.to_owned(),
                    error,
                }),
            }
        }
    }
}
