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

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use tokio::sync::{RwLock, mpsc};
use tokio::time::Instant;

use devstack_lambda::runtime::{Function, InvokeError};

/// AWS's WebSocket API quotas.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_frame_bytes: usize,
    pub max_message_bytes: usize,
    pub idle_timeout: Duration,
    pub max_lifetime: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 32 * 1024,
            max_message_bytes: 128 * 1024,
            idle_timeout: Duration::from_secs(10 * 60),
            max_lifetime: Duration::from_secs(2 * 60 * 60),
        }
    }
}

/// The `$connect` route's Lambda REQUEST authorizer.
#[derive(Clone)]
pub struct Authorizer {
    /// Its id, in the ARN API Gateway invokes it under.
    pub id: String,
    pub function: Function,
    pub identity_source: Vec<String>,
}

pub struct Spec {
    /// `<service>/<LogicalId>`, for the trail.
    pub name: String,
    /// The API's id (what `{api}` is in an AWS URL).
    pub api_id: String,
    pub stage: String,
    pub route_selection_expression: String,
    pub routes: BTreeMap<String, Function>,
    pub authorizer: Option<Authorizer>,
    pub limits: Limits,
    /// The stage's throttle (on `$connect`) and access log.
    pub settings: Arc<crate::stage::Stage>,
    /// What judges its invocations by the functions' policies.
    pub judge: crate::permission::Judged,
}

enum Outgoing {
    Data(Bytes),
    Close(u16, &'static str),
}

struct Connection {
    tx: mpsc::UnboundedSender<Outgoing>,
    connected_at: DateTime<Utc>,
    last_active: Mutex<DateTime<Utc>>,
    user_agent: String,
}

pub struct SocketApi {
    pub spec: Spec,
    /// `host:port`, the events' `domainName`.
    pub domain: String,
    connections: RwLock<HashMap<String, Arc<Connection>>>,
}

impl SocketApi {
    pub fn new(spec: Spec, domain: String) -> Arc<Self> {
        Arc::new(Self {
            spec,
            domain,
            connections: RwLock::new(HashMap::new()),
        })
    }

    pub async fn open_connections(&self) -> usize {
        self.connections.read().await.len()
    }
}

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

/// The same pieces every event of a connection shares.
struct Context {
    connection_id: String,
    connected_at: DateTime<Utc>,
    user_agent: String,
    authorizer: Map<String, Value>,
}

impl SocketApi {
    fn request_context(&self, ctx: &Context, route_key: &str, event_type: &str) -> Value {
        let now = Utc::now();
        let mut rc = json!({
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": short_id(11),
            "requestTime": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "messageDirection": "IN",
            "stage": self.spec.stage,
            "connectedAt": ctx.connected_at.timestamp_millis(),
            "requestTimeEpoch": now.timestamp_millis(),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": ctx.user_agent},
            "requestId": short_id(11),
            "domainName": self.domain,
            "connectionId": ctx.connection_id,
            "apiId": self.spec.api_id,
        });
        if !ctx.authorizer.is_empty() {
            rc["authorizer"] = Value::Object(ctx.authorizer.clone());
        }
        rc
    }

    /// Whether API Gateway may invoke `function` for `rest` of this API's
    /// ARN (`{stage}/{route}`, `authorizers/{id}`).
    async fn may_invoke(&self, function: &Function, rest: &str) -> bool {
        let source = crate::permission::arn(self.account(), &self.spec.api_id, rest);
        crate::permission::may_invoke(&self.spec.judge, function, source).await
    }

    fn method_arn(&self, route_key: &str) -> String {
        let rest = format!("{}/{route_key}", self.spec.stage);
        crate::permission::arn(self.account(), &self.spec.api_id, &rest)
    }

    /// The API's account: its stack's, which holds its functions.
    fn account(&self) -> &str {
        (self.spec.routes.values().next()).map_or(kit::config::LOCAL_ACCOUNT, |f| f.spec.account())
    }
}

fn message(status: StatusCode, text: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({"message": text}).to_string(),
    )
        .into_response()
}

/// `?a=1&b=2` → single- and multi-value maps, as API Gateway sends them.
fn query_maps(query: Option<&str>) -> (Map<String, Value>, Map<String, Value>) {
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

fn header_maps(headers: &HeaderMap) -> (Map<String, Value>, Map<String, Value>) {
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

/// Whether every identity source has a non-empty value.
fn identity_present(
    sources: &[String],
    headers: &Map<String, Value>,
    query: &Map<String, Value>,
) -> bool {
    sources.iter().all(|source| {
        let value = if let Some(name) = source.strip_prefix("route.request.querystring.") {
            query.get(name)
        } else if let Some(name) = source.strip_prefix("route.request.header.") {
            headers.get(&name.to_ascii_lowercase())
        } else {
            None
        };
        value.and_then(Value::as_str).is_some_and(|v| !v.is_empty())
    })
}

/// The policy's verdict for `arn`: an explicit Deny wins, then any Allow.
pub fn policy_allows(policy: &Value, arn: &str) -> bool {
    let statements: Vec<&Value> = match &policy["policyDocument"]["Statement"] {
        Value::Array(s) => s.iter().collect(),
        s @ Value::Object(_) => vec![s],
        _ => Vec::new(),
    };
    let applies = |s: &Value| {
        let listed = |v: &Value| match v {
            Value::String(x) => vec![x.clone()],
            Value::Array(xs) => xs
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        let action = listed(&s["Action"])
            .iter()
            .any(|a| a == "execute-api:Invoke" || a == "execute-api:*" || a == "*");
        action
            && listed(&s["Resource"])
                .iter()
                .any(|r| wildcard_match(r, arn))
    };
    let effect = |e: &str| statements.iter().any(|s| s["Effect"] == e && applies(s));
    !effect("Deny") && effect("Allow")
}

/// IAM's resource patterns: `*` any run of characters, `?` any one.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A `$connect` request's headers and query, single- and multi-valued, as
/// API Gateway hands them to the authorizer and the route.
struct Request {
    single_headers: Map<String, Value>,
    multi_headers: Map<String, Value>,
    single_query: Map<String, Value>,
    multi_query: Map<String, Value>,
}

async fn connect(
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
fn connect_request(headers: &HeaderMap, query: Option<&str>) -> (Request, Context) {
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
async fn open(api: &SocketApi, request: &Request, ctx: &mut Context) -> Result<(), Response> {
    if let Some(authorizer) = &api.spec.authorizer {
        authorize(api, authorizer, request, ctx).await?;
    }
    if let Some(function) = api.spec.routes.get("$connect") {
        connect_route(api, function, request, ctx).await?;
    }
    Ok(())
}

/// The `$context` variables of a `$connect`'s access log line.
fn connect_vars(
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

/// The REQUEST authorizer's contract: 401 without the identity source
/// (the authorizer is not called) or on `Unauthorized`, 403 on a Deny;
/// on an Allow, its principal and context go into `ctx`.
async fn authorize(
    api: &SocketApi,
    authorizer: &Authorizer,
    request: &Request,
    ctx: &mut Context,
) -> Result<(), Response> {
    let name = &api.spec.name;
    if !identity_present(
        &authorizer.identity_source,
        &request.single_headers,
        &request.single_query,
    ) {
        tracing::info!(target: "trail", api = %name, "$connect 401: no identity source (authorizer not called)");
        return Err(message(StatusCode::UNAUTHORIZED, "Unauthorized"));
    }
    let method_arn = api.method_arn("$connect");
    let mut event = json!({
        "type": "REQUEST",
        "methodArn": method_arn,
        "headers": request.single_headers,
        "multiValueHeaders": request.multi_headers,
        "queryStringParameters": request.single_query,
        "multiValueQueryStringParameters": request.multi_query,
        "stageVariables": {},
        "requestContext": api.request_context(ctx, "$connect", "CONNECT"),
    });
    event["requestContext"]
        .as_object_mut()
        .expect("an object")
        .remove("authorizer");
    let started = Instant::now();
    let rest = format!("authorizers/{}", authorizer.id);
    if !api.may_invoke(&authorizer.function, &rest).await {
        return Err(message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error",
        ));
    }
    match authorizer.function.invoke(event).await {
        Err(InvokeError::Function { message: m, .. }) if m == "Unauthorized" => {
            tracing::info!(target: "trail", api = %name, "$connect 401 (authorizer)");
            Err(message(StatusCode::UNAUTHORIZED, "Unauthorized"))
        }
        Err(e) => {
            tracing::warn!(target: "trail", api = %name, error = %e, "$connect 500: the authorizer failed");
            Err(message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error",
            ))
        }
        Ok(policy) if !policy_allows(&policy, &method_arn) => {
            tracing::info!(target: "trail", api = %name, "$connect 403 (policy denies)");
            Err(message(StatusCode::FORBIDDEN, "Forbidden"))
        }
        Ok(policy) => {
            // API Gateway hands the context on as strings, numbers and
            // booleans, beside principalId.
            if let Some(c) = policy["context"].as_object() {
                for (k, v) in c {
                    if !v.is_object() && !v.is_array() {
                        ctx.authorizer.insert(k.clone(), v.clone());
                    }
                }
            }
            ctx.authorizer
                .insert("principalId".into(), policy["principalId"].clone());
            ctx.authorizer.insert(
                "integrationLatency".into(),
                Value::from(started.elapsed().as_millis() as u64),
            );
            Ok(())
        }
    }
}

/// The `$connect` route: the connection opens only after it answers 2xx.
async fn connect_route(
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

async fn run(api: Arc<SocketApi>, ctx: Context, mut socket: WebSocket) {
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

fn is_capacity(e: &axum::Error) -> bool {
    // axum wraps tungstenite's error; its text is the stable part.
    let text = format!("{e:?}");
    text.contains("Capacity") || text.contains("too long") || text.contains("TooLong")
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) -> Result<(), axum::Error> {
    socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await
}

/// Selects the route for a message and invokes it, concurrently with the
/// connection's further messages (API Gateway keeps no order between them).
fn dispatch(
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

fn gone() -> Response {
    Response::builder()
        .status(StatusCode::GONE)
        .header("content-type", "application/json")
        .header("x-amzn-ErrorType", "GoneException")
        .body(Body::from("{}"))
        .expect("a valid response")
}

async fn connection_of(
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

async fn post_to_connection(
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

async fn get_connection(
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

async fn delete_connection(
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

/// Random ids in API Gateway's style (base64 of `bytes` random bytes, so
/// connection ids end in `=` and callers must encode them in URLs).
pub fn short_id(bytes: usize) -> String {
    let random: Vec<u8> = (0..bytes.div_ceil(16))
        .flat_map(|_| uuid::Uuid::new_v4().into_bytes())
        .take(bytes)
        .collect();
    base64(&random)
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_the_standard_alphabet_with_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
        assert_eq!(short_id(11).len(), 16);
        assert!(short_id(11).ends_with('='));
    }

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

    #[test]
    fn a_policy_allows_only_with_a_matching_allow_and_no_matching_deny() {
        let arn = "arn:aws:execute-api:us-east-1:123456789012:abc/live/$connect";
        let policy = |effect: &str, resource: &str| {
            json!({"principalId": "u", "policyDocument": {"Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]}})
        };
        assert!(policy_allows(&policy("Allow", arn), arn));
        assert!(policy_allows(
            &policy("Allow", "arn:aws:execute-api:*:*:abc/*"),
            arn
        ));
        assert!(!policy_allows(
            &policy("Allow", "arn:aws:execute-api:*:*:other/*"),
            arn
        ));
        assert!(!policy_allows(&policy("Deny", arn), arn));
        let both = json!({"policyDocument": {"Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"},
            {"Action": ["execute-api:Invoke"], "Effect": "Deny", "Resource": [arn]}]}});
        assert!(!policy_allows(&both, arn));
        assert!(!policy_allows(&json!({}), arn));
    }

    #[test]
    fn identity_sources_must_all_be_present_and_non_empty() {
        let q = |v: Value| v.as_object().unwrap().clone();
        let sources = vec!["route.request.querystring.token".to_owned()];
        assert!(identity_present(
            &sources,
            &Map::new(),
            &q(json!({"token": "t"}))
        ));
        assert!(!identity_present(
            &sources,
            &Map::new(),
            &q(json!({"token": ""}))
        ));
        assert!(!identity_present(&sources, &Map::new(), &Map::new()));
        let header = vec!["route.request.header.Auth".to_owned()];
        assert!(identity_present(
            &header,
            &q(json!({"auth": "x"})),
            &Map::new()
        ));
    }
}
