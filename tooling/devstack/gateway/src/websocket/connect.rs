//! `$connect`: the upgrade, its authorizer and its route, before the
//! connection opens.

use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use devstack_lambda::runtime::Function;

use super::api::{Context, Request, SocketApi, message, short_id};
use super::authorizer::authorize;
use super::messages::run;

pub(super) async fn connect(
    State(api): State<Arc<SocketApi>>,
    Path(stage): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    if stage != api.spec.stage {
        return message(StatusCode::FORBIDDEN, "Forbidden");
    }
    let Ok(upgrade) = upgrade else {
        return message(StatusCode::UPGRADE_REQUIRED, "Upgrade Required");
    };
    let started = Instant::now();
    let (request, mut ctx) = connect_request(&headers, query.as_deref());
    let refused = if api.spec.settings.admit() {
        open(&api, &request, &mut ctx).await.err()
    } else {
        tracing::info!(target: "trail", api = %api.spec.name, "$connect 429 (stage throttle)");
        Some(message(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"))
    };
    api.spec
        .settings
        .log(&connect_vars(&ctx, refused.as_ref(), started));
    if let Some(refused) = refused {
        return refused;
    }
    let limits = api.spec.limits;
    upgrade
        .max_frame_size(limits.max_frame_bytes)
        .max_message_size(limits.max_message_bytes)
        .on_upgrade(move |socket| run(api, ctx, socket))
}

/// The `$connect` request's maps, and the connection's context before
/// the authorizer.
pub(super) fn connect_request(headers: &HeaderMap, query: Option<&str>) -> (Request, Context) {
    let (single_headers, multi_headers) = header_maps(headers);
    let (single_query, multi_query) = query_maps(query);
    let request = Request {
        single_headers,
        multi_headers,
        single_query,
        multi_query,
    };
    let ctx = Context {
        connection_id: short_id(11),
        connected_at: Utc::now(),
        user_agent: request
            .single_headers
            .get("user-agent")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        authorizer: Map::new(),
    };
    (request, ctx)
}

/// The authorizer, then the `$connect` route: either may refuse.
pub(super) async fn open(
    api: &SocketApi,
    request: &Request,
    ctx: &mut Context,
) -> Result<(), Response> {
    if let Some(authorizer) = &api.spec.authorizer {
        authorize(api, authorizer, request, ctx).await?;
    }
    if let Some(function) = api.spec.routes.get("$connect") {
        connect_route(api, function, request, ctx).await?;
    }
    Ok(())
}

/// The `$context` variables of a `$connect`'s access log line.
pub(super) fn connect_vars(
    ctx: &Context,
    refused: Option<&Response>,
    started: Instant,
) -> std::collections::HashMap<&'static str, String> {
    let status = refused.map_or(200, |r| r.status().as_u16());
    let mut vars = std::collections::HashMap::from([
        ("requestId", short_id(11)),
        ("eventType", "CONNECT".to_owned()),
        ("routeKey", "$connect".to_owned()),
        ("status", status.to_string()),
        ("connectionId", ctx.connection_id.clone()),
        (
            "integrationLatency",
            started.elapsed().as_millis().to_string(),
        ),
        ("identity.sourceIp", "127.0.0.1".to_owned()),
        (
            "requestTimeEpoch",
            ctx.connected_at.timestamp_millis().to_string(),
        ),
    ]);
    if let Some(sub) = ctx.authorizer.get("principalId").and_then(Value::as_str) {
        vars.insert("authorizer.principalId", sub.to_owned());
    }
    if let Some(r) = refused {
        let reason = r.status().canonical_reason().unwrap_or("Error");
        vars.insert("error.message", reason.to_owned());
    }
    vars
}

/// `?a=1&b=2` → single- and multi-value maps, as API Gateway sends them.
pub(super) fn query_maps(query: Option<&str>) -> (Map<String, Value>, Map<String, Value>) {
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        let (k, v) = (decode(k), decode(v));
        single.insert(k.clone(), Value::from(v.clone()));
        if let Some(Value::Array(vs)) = multi.get_mut(&k) {
            vs.push(Value::from(v));
        } else {
            multi.insert(k, json!([v]));
        }
    }
    (single, multi)
}

pub(super) fn header_maps(headers: &HeaderMap) -> (Map<String, Value>, Map<String, Value>) {
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for (k, v) in headers {
        let Ok(v) = v.to_str() else { continue };
        single.insert(k.as_str().to_owned(), Value::from(v));
        if let Some(Value::Array(vs)) = multi.get_mut(k.as_str()) {
            vs.push(Value::from(v));
        } else {
            multi.insert(k.as_str().to_owned(), json!([v]));
        }
    }
    (single, multi)
}

/// The `$connect` route: the connection opens only after it answers 2xx.
pub(super) async fn connect_route(
    api: &SocketApi,
    function: &Function,
    request: &Request,
    ctx: &Context,
) -> Result<(), Response> {
    let name = &api.spec.name;
    let or_null = |m: &Map<String, Value>| {
        if m.is_empty() {
            Value::Null
        } else {
            Value::Object(m.clone())
        }
    };
    let event = json!({
        "headers": request.single_headers,
        "multiValueHeaders": request.multi_headers,
        "queryStringParameters": or_null(&request.single_query),
        "multiValueQueryStringParameters": or_null(&request.multi_query),
        "requestContext": api.request_context(ctx, "$connect", "CONNECT"),
        "isBase64Encoded": false,
    });
    if !api
        .may_invoke(function, &format!("{}/$connect", api.spec.stage))
        .await
    {
        return Err(message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error",
        ));
    }
    match function.invoke(event).await {
        Ok(out) => {
            let status = out["statusCode"].as_u64().unwrap_or(200) as u16;
            if !(200..300).contains(&status) {
                tracing::info!(target: "trail", api = %name, status, "$connect refused by its route");
                return Err(message(
                    StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN),
                    "Forbidden",
                ));
            }
            Ok(())
        }
        Err(e) => {
            tracing::warn!(target: "trail", api = %name, error = %e, "$connect 500: the route failed");
            Err(message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error",
            ))
        }
    }
}
