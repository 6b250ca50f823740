//! An open connection: its messages routed by the selection expression,
//! its limits, and `$disconnect` at the end.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use chrono::Utc;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::api::{Connection, Context, Outgoing, SocketApi, base64, short_id};

pub(super) async fn run(api: Arc<SocketApi>, ctx: Context, mut socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let connection = Arc::new(Connection {
        tx,
        connected_at: ctx.connected_at,
        last_active: Mutex::new(ctx.connected_at),
        user_agent: ctx.user_agent.clone(),
    });
    api.connections
        .write()
        .await
        .insert(ctx.connection_id.clone(), connection.clone());
    let ctx = Arc::new(ctx);
    let name = &api.spec.name;
    tracing::info!(target: "trail", api = %name, connection = %ctx.connection_id, "connected");
    let limits = api.spec.limits;
    let ends_at = Instant::now() + limits.max_lifetime;
    let mut idle_at = Instant::now() + limits.idle_timeout;
    let (status, reason): (u16, &str) = loop {
        tokio::select! {
            received = socket.recv() => match received {
                None => break (1006, "Connection closed abnormally"),
                Some(Err(e)) => {
                    // The socket's own limits (frame and message size) end
                    // here, as a capacity error.
                    if is_capacity(&e) {
                        let _ = close(&mut socket, 1009, "Message too big").await;
                        break (1009, "Message too big");
                    }
                    break (1006, "Connection closed abnormally");
                }
                Some(Ok(Message::Close(frame))) => {
                    break (frame.map_or(1005, |f| f.code), "Client closed");
                }
                Some(Ok(Message::Text(text))) => {
                    idle_at = Instant::now() + limits.idle_timeout;
                    *connection.last_active.lock().expect("not poisoned") = Utc::now();
                    dispatch(&api, &ctx, &connection, text.as_str().to_owned(), false);
                }
                Some(Ok(Message::Binary(bytes))) => {
                    idle_at = Instant::now() + limits.idle_timeout;
                    *connection.last_active.lock().expect("not poisoned") = Utc::now();
                    dispatch(&api, &ctx, &connection, base64(&bytes), true);
                }
                Some(Ok(_)) => {}
            },
            out = rx.recv() => match out {
                Some(Outgoing::Data(bytes)) => {
                    let message = match std::str::from_utf8(&bytes) {
                        Ok(text) => Message::Text(text.into()),
                        Err(_) => Message::Binary(bytes),
                    };
                    if socket.send(message).await.is_err() {
                        break (1006, "Connection closed abnormally");
                    }
                }
                Some(Outgoing::Close(code, why)) => {
                    let _ = close(&mut socket, code, why).await;
                    break (code, why);
                }
                None => break (1006, "Connection closed abnormally"),
            },
            _ = tokio::time::sleep_until(idle_at) => {
                let _ = close(&mut socket, 1001, "Going away").await;
                break (1001, "Going away (idle timeout)");
            }
            _ = tokio::time::sleep_until(ends_at) => {
                let _ = close(&mut socket, 1001, "Going away").await;
                break (1001, "Going away (connection lifetime)");
            }
        }
    };
    api.connections.write().await.remove(&ctx.connection_id);
    tracing::info!(target: "trail", api = %name, connection = %ctx.connection_id, status, reason, "disconnected");
    if let Some(function) = api.spec.routes.get("$disconnect") {
        let mut rc = api.request_context(&ctx, "$disconnect", "DISCONNECT");
        rc["disconnectStatusCode"] = Value::from(status);
        rc["disconnectReason"] = Value::from(reason);
        let event = json!({"requestContext": rc, "isBase64Encoded": false});
        let rest = format!("{}/$disconnect", api.spec.stage);
        if !api.may_invoke(function, &rest).await {
            return;
        }
        if let Err(e) = function.invoke(event).await {
            tracing::warn!(target: "trail", api = %name, connection = %ctx.connection_id, error = %e, "$disconnect failed");
        }
    }
}

pub(super) fn is_capacity(e: &axum::Error) -> bool {
    // axum wraps tungstenite's error; its text is the stable part.
    let text = format!("{e:?}");
    text.contains("Capacity") || text.contains("too long") || text.contains("TooLong")
}

pub(super) async fn close(
    socket: &mut WebSocket,
    code: u16,
    reason: &'static str,
) -> Result<(), axum::Error> {
    socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await
}

/// Selects the route for a message and invokes it, concurrently with the
/// connection's further messages (API Gateway keeps no order between them).
pub(super) fn dispatch(
    api: &Arc<SocketApi>,
    ctx: &Arc<Context>,
    connection: &Arc<Connection>,
    body: String,
    binary: bool,
) {
    let route_key = select_route(
        &api.spec.route_selection_expression,
        if binary { "" } else { &body },
        &api.spec.routes,
    );
    let (api, ctx, tx) = (api.clone(), ctx.clone(), connection.tx.clone());
    tokio::spawn(async move {
        // What API Gateway itself sends back when a message finds no route
        // or its integration fails.
        let reply_error = |text: &str, request_id: &Value| {
            let payload = json!({"message": text, "connectionId": ctx.connection_id, "requestId": request_id});
            let _ = tx.send(Outgoing::Data(Bytes::from(payload.to_string())));
        };
        let Some(route_key) = route_key else {
            reply_error("Forbidden", &Value::from(short_id(11)));
            return;
        };
        let function = &api.spec.routes[&route_key];
        let mut rc = api.request_context(&ctx, &route_key, "MESSAGE");
        rc["messageId"] = Value::from(short_id(11));
        let request_id = rc["requestId"].clone();
        let event = json!({"requestContext": rc, "body": body, "isBase64Encoded": binary});
        if !api
            .may_invoke(function, &format!("{}/{route_key}", api.spec.stage))
            .await
        {
            reply_error("Internal server error", &request_id);
            return;
        }
        if let Err(e) = function.invoke(event).await {
            tracing::warn!(target: "trail", api = %api.spec.name, route = %route_key, connection = %ctx.connection_id, error = %e, "route failed");
            reply_error("Internal server error", &request_id);
        }
    });
}

/// `$request.body.a.b` → the message's `a.b` when it names a route, else
/// `$default` if there is one.
pub fn select_route<T>(
    expression: &str,
    body: &str,
    routes: &BTreeMap<String, T>,
) -> Option<String> {
    let selected = expression
        .strip_prefix("$request.body.")
        .and_then(|path| {
            let parsed: Value = serde_json::from_str(body).ok()?;
            let value = path.split('.').try_fold(&parsed, |v, k| v.get(k))?;
            match value {
                Value::String(s) => Some(s.clone()),
                Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
                _ => None,
            }
        })
        .filter(|key| !key.starts_with('$') && routes.contains_key(key));
    selected.or_else(|| {
        routes
            .contains_key("$default")
            .then(|| "$default".to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_selected_by_the_expression_and_fall_back_to_default() {
        let routes: BTreeMap<String, ()> = ["$default", "ping", "$connect"]
            .into_iter()
            .map(|k| (k.to_owned(), ()))
            .collect();
        let e = "$request.body.action";
        let pick = |body: &str| select_route(e, body, &routes);
        assert_eq!(pick(r#"{"action":"ping"}"#).as_deref(), Some("ping"));
        assert_eq!(pick(r#"{"action":"nope"}"#).as_deref(), Some("$default"));
        assert_eq!(pick("not json").as_deref(), Some("$default"));
        assert_eq!(
            pick(r#"{"action":"$connect"}"#).as_deref(),
            Some("$default"),
            "special routes are never selected"
        );
        let nested = select_route(
            "$request.body.meta.kind",
            r#"{"meta":{"kind":"ping"}}"#,
            &routes,
        );
        assert_eq!(nested.as_deref(), Some("ping"));
        let no_default: BTreeMap<String, ()> = [("ping".to_owned(), ())].into();
        assert_eq!(select_route(e, "{}", &no_default), None);
    }
}
