//! The local API Gateway: one port for every service's routes. It checks
//! the bearer JWT as an HTTP API JWT authorizer does (signature against the
//! pool's JWKS, issuer, audience or client_id, expiry) and sends payload
//! 2.0 events to the route's function. Where the API has a CORS
//! configuration it answers preflight requests itself, before any
//! authorizer, and adds the CORS headers to every answer, as HTTP APIs do.
//! Each route belongs to its API's stage: a throttled request gets 429
//! before the authorizer, and every routed request writes an access log
//! line in the stage's format.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use kit::jwt::{Claims, Expect, Refusal, Verifier};
use serde_json::{Map, Value, json};

use devstack_lambda::runtime::{Arrival, Function};

use crate::stage::Stage;

/// An HTTP API's CORS configuration, as the gateway applies it. The
/// composition fills it from the template's plan: the gateway knows no SAM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    pub allow_origins: Vec<String>,
    pub allow_headers: Vec<String>,
    pub allow_methods: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u64>,
}

pub struct RouteTarget {
    /// The API's id, in the ARN its invocations are judged under.
    pub api_id: String,
    pub route_key: String,
    pub method: String,
    pub segments: Vec<String>,
    pub function: Function,
    pub cors: Option<Cors>,
    /// Shared by the routes of one API.
    pub stage: Arc<Stage>,
    /// Without the JWT authorizer (the route proves its caller itself).
    pub public: bool,
}

impl RouteTarget {
    pub fn new(route_key: &str, function: Function, cors: Option<Cors>, stage: Arc<Stage>) -> Self {
        let (method, path) = route_key.split_once(' ').unwrap_or(("ANY", route_key));
        Self {
            api_id: "local".to_owned(),
            route_key: route_key.to_owned(),
            method: method.to_owned(),
            segments: path
                .trim_matches('/')
                .split('/')
                .map(str::to_owned)
                .collect(),
            function,
            cors,
            stage,
            public: false,
        }
    }

    /// The route of the API `api_id`.
    pub fn of_api(mut self, api_id: &str) -> Self {
        api_id.clone_into(&mut self.api_id);
        self
    }

    /// A route API Gateway serves without its authorizer.
    pub fn public(mut self, public: bool) -> Self {
        self.public = public;
        self
    }

    /// Whether `path` is this route's, whatever the method.
    pub fn matches_path(&self, path: &str) -> bool {
        self.matches(&self.method.clone(), path).is_some()
    }

    /// Path parameters when `method path` is this route.
    pub fn matches(&self, method: &str, path: &str) -> Option<HashMap<String, String>> {
        if self.method != method && self.method != "ANY" {
            return None;
        }
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut params = HashMap::new();
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) if !part.is_empty() => {
                    let value = percent_encoding::percent_decode_str(part)
                        .decode_utf8_lossy()
                        .into_owned();
                    params.insert(name.to_owned(), value);
                }
                Some(_) => return None,
                None if segment == part => {}
                None => return None,
            }
        }
        Some(params)
    }
}

/// The HTTP APIs' JWT authorizer: the bearer token from `Authorization`,
/// checked by the same code the WebSocket API's authorizer runs on AWS.
pub struct Authorizer {
    verifier: Verifier,
}

impl Authorizer {
    pub fn new(issuer: String, audience: String, jwks_url: String) -> Self {
        Self {
            verifier: Verifier::new(Expect {
                issuer,
                audience,
                jwks_url,
            }),
        }
    }

    /// The token's claims, or why it is refused.
    pub async fn claims(&self, headers: &HeaderMap) -> Result<Claims, Refusal> {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim())
            .unwrap_or_default();
        self.verifier.verify(token).await
    }
}

pub struct Gateway {
    pub routes: Vec<RouteTarget>,
    pub authorizer: Authorizer,
    pub judge: crate::permission::Judged,
    /// The custom domain's API mappings (base path → API id): a request
    /// whose first segment is a base path reaches that API alone, the
    /// segment taken off, as API Gateway's custom domain serves it. Every
    /// API is also served at its own address (all of them at this one
    /// locally, their paths being distinct).
    pub mappings: Vec<(String, String)>,
}

impl Gateway {
    /// The path the routes see, and the only API it may reach (through a
    /// base path mapping), if any.
    fn mapped<'p>(&self, path: &'p str) -> (std::borrow::Cow<'p, str>, Option<&str>) {
        let trimmed = path.trim_start_matches('/');
        let (first, rest) = trimmed.split_once('/').unwrap_or((trimmed, ""));
        match self
            .mappings
            .iter()
            .find(|(key, _)| !key.is_empty() && key == first)
        {
            Some((_, api)) => (format!("/{rest}").into(), Some(api.as_str())),
            None => (path.into(), None),
        }
    }
}

pub fn router(gateway: Arc<Gateway>) -> Router {
    Router::new().fallback(handle).with_state(gateway)
}

fn api_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({"message": message}).to_string(),
    )
        .into_response()
}

async fn handle(
    State(gw): State<Arc<Gateway>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let origin = headers
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // A base path's API first; else the APIs' own paths (locally all of
    // them answer on this one address).
    let (mapped, only) = gw.mapped(uri.path());
    let tries = [(mapped.into_owned(), only), (uri.path().to_owned(), None)];
    let of_api = |r: &RouteTarget, only: Option<&str>| only.is_none_or(|api| r.api_id == api);
    if method == Method::OPTIONS && headers.contains_key("access-control-request-method") {
        let cors = (tries.iter())
            .flat_map(|(path, only)| {
                (gw.routes.iter()).filter(move |r| of_api(r, *only) && r.matches_path(path))
            })
            .find_map(|r| r.cors.as_ref());
        if let Some(cors) = cors {
            let mut response = StatusCode::NO_CONTENT.into_response();
            add_cors(&mut response, cors, origin.as_deref(), true);
            return response;
        }
    }
    let Some((route, params, path)) = tries.iter().find_map(|(path, only)| {
        (gw.routes.iter())
            .filter(|r| of_api(r, *only))
            .find_map(|r| r.matches(method.as_str(), path).map(|p| (r, p, path)))
    }) else {
        return api_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let started = Instant::now();
    let mut seen = Seen {
        request_id: uuid::Uuid::new_v4().to_string(),
        routed_path: path.clone(),
        ..Seen::default()
    };
    let mut response = if route.stage.admit() {
        let request = (&method, &uri, &headers, &body);
        route_response(&gw, route, params, request, &mut seen).await
    } else {
        tracing::info!(target: "trail", route = %route.route_key, "429 (stage throttle)");
        seen.error = Some("Too Many Requests");
        api_error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests")
    };
    route.stage.log(&access_vars(
        route, &method, &uri, &response, started, &seen,
    ));
    if let Some(cors) = &route.cors {
        add_cors(&mut response, cors, origin.as_deref(), false);
    }
    response
}

/// The CORS headers HTTP APIs add for an allowed origin (none otherwise).
fn add_cors(response: &mut Response, cors: &Cors, origin: Option<&str>, preflight: bool) {
    let Some(origin) = origin else { return };
    let any = cors.allow_origins.iter().any(|o| o == "*");
    if !any && !cors.allow_origins.iter().any(|o| o == origin) {
        return;
    }
    let h = response.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = axum::http::HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    };
    set(
        "access-control-allow-origin",
        if any {
            "*".to_owned()
        } else {
            origin.to_owned()
        },
    );
    if !any {
        set("vary", "origin".to_owned());
    }
    if preflight {
        set("access-control-allow-methods", cors.allow_methods.join(","));
        set("access-control-allow-headers", cors.allow_headers.join(","));
        if let Some(age) = cors.max_age {
            set("access-control-max-age", age.to_string());
        }
    } else if !cors.expose_headers.is_empty() {
        set(
            "access-control-expose-headers",
            cors.expose_headers.join(","),
        );
    }
}

/// What the access log says of a request beyond its answer.
#[derive(Default)]
struct Seen {
    request_id: String,
    /// The path the route matched: without a custom domain's base path,
    /// as API Gateway names the resource in the invocation's ARN.
    routed_path: String,
    sub: Option<String>,
    integration_ms: Option<u128>,
    error: Option<&'static str>,
}

/// The `$context` variables of an HTTP API's access log, for one request.
fn access_vars(
    route: &RouteTarget,
    method: &Method,
    uri: &Uri,
    response: &Response,
    started: Instant,
    seen: &Seen,
) -> HashMap<&'static str, String> {
    let mut vars = HashMap::from([
        ("requestId", seen.request_id.clone()),
        ("routeKey", route.route_key.clone()),
        ("httpMethod", method.to_string()),
        ("path", uri.path().to_owned()),
        ("protocol", "HTTP/1.1".to_owned()),
        ("status", response.status().as_u16().to_string()),
        ("responseLatency", started.elapsed().as_millis().to_string()),
        ("identity.sourceIp", "127.0.0.1".to_owned()),
        (
            "requestTimeEpoch",
            chrono::Utc::now().timestamp_millis().to_string(),
        ),
    ]);
    let optional = [
        ("authorizer.claims.sub", seen.sub.clone()),
        (
            "integrationLatency",
            seen.integration_ms.map(|ms| ms.to_string()),
        ),
        ("error.message", seen.error.map(str::to_owned)),
    ];
    vars.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
    vars
}

type Incoming<'r> = (&'r Method, &'r Uri, &'r HeaderMap, &'r Bytes);

async fn route_response(
    gw: &Gateway,
    route: &RouteTarget,
    params: HashMap<String, String>,
    (method, uri, headers, body): Incoming<'_>,
    seen: &mut Seen,
) -> Response {
    let started = Instant::now();
    let authorized = match route.public {
        true => Ok(serde_json::Map::new()),
        false => gw.authorizer.claims(headers).await,
    };
    let claims = match authorized {
        Ok(c) => c,
        Err(why) => {
            tracing::info!(target: "trail", route = %route.route_key, why = %why, "401 (authorizer)");
            seen.error = Some("Unauthorized");
            return api_error(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
    };
    seen.sub = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
    let mut event = payload_v2(route, method, uri, headers, body, params, &claims);
    event["requestContext"]["requestId"] = Value::from(seen.request_id.as_str());
    if route.public {
        // API Gateway sends no authorizer context for a route without one.
        if let Some(ctx) = event["requestContext"].as_object_mut() {
            ctx.remove("authorizer");
        }
    }
    let source = crate::permission::arn(
        route.function.spec.account(),
        &route.api_id,
        &format!("$default/{}{}", method.as_str(), seen.routed_path),
    );
    if !crate::permission::may_invoke(&gw.judge, &route.function, source).await {
        seen.error = Some("Internal Server Error");
        return api_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    }
    // The id kit's handlers log under: the caller's, or the request id.
    let correlation = kit::http_api::correlation_id(
        event["headers"]["x-correlation-id"].as_str(),
        event["requestContext"]["requestId"].as_str(),
    );
    let arrival = Arrival::new("http", &route.route_key)
        .traced(
            headers
                .get(kit::telemetry::HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        )
        .correlated(correlation.as_deref());
    let result = route
        .function
        .invoke_traced(uuid::Uuid::new_v4().to_string(), event, arrival)
        .await;
    let ms = started.elapsed().as_millis();
    seen.integration_ms = Some(ms);
    match result {
        Ok(out) => {
            let status = out["statusCode"].as_u64().unwrap_or(200) as u16;
            tracing::info!(target: "trail", route = %route.route_key, function = %route.function.spec.name, status, ms, "http");
            let mut response = Response::builder().status(status);
            for (k, v) in out["headers"].as_object().into_iter().flatten() {
                if let Some(v) = v.as_str() {
                    response = response.header(k, v);
                }
            }
            let body = out["body"].as_str().unwrap_or_default().to_owned();
            response
                .body(Body::from(body))
                .unwrap_or_else(|_| api_error(StatusCode::BAD_GATEWAY, "Bad Gateway"))
        }
        Err(e) => {
            tracing::warn!(target: "trail", route = %route.route_key, function = %route.function.spec.name, error = %e, ms, "500");
            seen.error = Some("Internal Server Error");
            api_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    }
}

/// API Gateway hands JWT claims on as strings; a list (`cognito:groups`)
/// as its items in brackets, space-separated: `[admins editors]`.
fn claim_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| i.to_string())
                })
                .collect();
            format!("[{}]", items.join(" "))
        }
        other => other.to_string(),
    }
}

fn payload_v2(
    route: &RouteTarget,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    params: HashMap<String, String>,
    claims: &Map<String, Value>,
) -> Value {
    let now = chrono::Utc::now();
    let mut hs = Map::new();
    for (k, v) in headers {
        if let Ok(v) = v.to_str() {
            hs.entry(k.as_str().to_owned())
                .and_modify(|e| *e = Value::from(format!("{},{v}", e.as_str().unwrap_or_default())))
                .or_insert_with(|| Value::from(v));
        }
    }
    let query = uri.query().unwrap_or_default();
    let mut qs = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        qs.insert(decode(k), Value::from(decode(v)));
    }
    let claims: Map<String, Value> = claims
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(claim_text(v))))
        .collect();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": uri.path(),
        "rawQueryString": query,
        "headers": hs,
        "requestContext": {
            "accountId": route.function.spec.account(),
            "apiId": route.api_id,
            "authorizer": {"jwt": {"claims": claims, "scopes": null}},
            "domainName": hs.get("host").cloned().unwrap_or(Value::from("localhost")),
            "domainPrefix": "local",
            "http": {"method": method.as_str(), "path": uri.path(), "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": hs.get("user-agent").cloned().unwrap_or(Value::from(""))},
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis()
        },
        "isBase64Encoded": false
    });
    if !params.is_empty() {
        event["pathParameters"] = json!(params);
    }
    if !qs.is_empty() {
        event["queryStringParameters"] = Value::Object(qs);
    }
    if !body.is_empty() {
        event["body"] = Value::from(String::from_utf8_lossy(body).into_owned());
    }
    event
}
