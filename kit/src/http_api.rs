//! HTTP API plumbing every service's API function shares: API Gateway HTTP
//! API payload 2.0 in, JSON out, and one error shape:
//! `{"error": {"code", "message", "field"?}}`.

use std::collections::HashMap;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Bodies past this size are refused before parsing (413).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The `apiId` a pre-traffic hook's requests carry (`kit::hook`). API
/// Gateway always sets its own API's id, so only a direct invocation,
/// which takes `lambda:InvokeFunction`, can carry this one.
pub const HOOK_API_ID: &str = "codedeploy-pre-traffic-hook";

/// The authenticated caller, from the JWT authorizer's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub email: Option<String>,
    /// The Cognito groups the token names (`cognito:groups`).
    pub groups: Vec<String>,
}

impl Caller {
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

/// A claim that holds a list, as an HTTP API's JWT authorizer hands it on:
/// a string, `[admins editors]` (bracketed, space-separated). A JSON array
/// as text and a bare value are read too.
pub fn claim_list(value: &str) -> Vec<String> {
    let value = value.trim();
    if let Ok(list) = serde_json::from_str::<Vec<String>>(value) {
        return list;
    }
    let inner = value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(value);
    inner
        .split([' ', ','])
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub body: Option<Value>,
}

impl Response {
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
        }
    }

    /// A typed answer: the type is what the OpenAPI document shows.
    pub fn of<T: Serialize>(status: u16, body: &T) -> Self {
        Self::json(
            status,
            serde_json::to_value(body).expect("an answer serializes"),
        )
    }

    pub fn no_content() -> Self {
        Self {
            status: 204,
            body: None,
        }
    }

    pub fn error(status: u16, code: &str, message: impl Into<String>, field: Option<&str>) -> Self {
        Self::of(
            status,
            &ErrorBody {
                error: ErrorDetail {
                    code: code.into(),
                    message: message.into(),
                    field: field.map(str::to_owned),
                },
            },
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::error(404, "not_found", format!("no such {what}"), None)
    }

    pub fn no_route(route_key: &str) -> Self {
        Self::error(404, "no_route", format!("no route {route_key}"), None)
    }

    pub fn internal(error: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %error, "request failed");
        Self::error(500, "internal", "internal error", None)
    }

    pub fn into_apigw(self) -> ApiGatewayV2httpResponse {
        let mut headers = HeaderMap::new();
        let mut out = ApiGatewayV2httpResponse::default();
        out.status_code = i64::from(self.status);
        if let Some(body) = self.body {
            headers.insert("content-type", HeaderValue::from_static("application/json"));
            out.body = Some(Body::Text(body.to_string()));
        }
        out.headers = headers;
        out
    }
}

/// Every error a function answers with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    /// Stable, for programs: `bad_request`, `invalid_field`, `not_found`,
    /// `conflict`, `too_large`, `unauthorized`, `internal`.
    pub code: String,
    /// For people.
    pub message: String,
    /// The request field the error is about (a body path such as
    /// `due_date`, a query parameter such as `limit`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// What API Gateway itself answers with (its authorizer, an unknown route).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GatewayError {
    pub message: String,
}

/// A count such as a size in bytes. JSON Schema's `integer` (and so the
/// OpenAPI document, and JavaScript's numbers) admits `3.0` as well as
/// `3`, so both are taken; `3.5` or `-1` is refused.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(de: D) -> Result<u64, D::Error> {
    let n = serde_json::Number::deserialize(de)?;
    n.as_u64()
        .or_else(|| {
            // Integral floats up to 2^53 are exact; past that they are not counts.
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(f))
                .map(|f| f as u64)
        })
        .ok_or_else(|| serde::de::Error::custom(format!("expected a whole number, got {n}")))
}

/// A one-line text field: no control characters, not blank. As a JSON
/// Schema pattern (ECMA-262 and Python's `re` agree on it), so the
/// OpenAPI document and [`check_line`] say the same thing.
pub const LINE_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// [`LINE_PATTERN`] and 1 to `max` characters, or a 422 naming `field`.
pub fn check_line(field: &str, value: &str, max: usize) -> Result<(), Invalid> {
    let n = value.chars().count();
    if n == 0 || n > max || value.trim().is_empty() || value.chars().any(char::is_control) {
        return Err(Invalid::range(
            field,
            format!(
                "must be 1 to {max} characters, not blank, without control characters (got {n})"
            ),
        ));
    }
    Ok(())
}

/// A request the caller must fix. `status` is 400 for a body that is not
/// the expected shape, 422 for values out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub status: u16,
    pub field: String,
    pub message: String,
}

impl Invalid {
    pub fn range(field: &str, message: impl Into<String>) -> Self {
        Self {
            status: 422,
            field: field.into(),
            message: message.into(),
        }
    }

    /// A valid request the resource's current state refuses (a limit
    /// reached): retrying as it is will not help, changing the state may.
    pub fn state(field: &str, message: impl Into<String>) -> Self {
        Self {
            status: 409,
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn shape(field: &str, message: impl Into<String>) -> Self {
        Self {
            status: 400,
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<Invalid> for Response {
    fn from(e: Invalid) -> Self {
        let code = match e.status {
            400 => "bad_request",
            409 => "conflict",
            _ => "invalid_field",
        };
        Response::error(e.status, code, e.message, Some(&e.field))
    }
}

impl From<crate::table::TableError> for Response {
    fn from(e: crate::table::TableError) -> Self {
        use crate::table::TableError;
        match e {
            TableError::NotFound => Response::error(404, "not_found", "not found", None),
            TableError::Conflict => Response::error(409, "conflict", e.to_string(), None),
            other => Response::internal(&other),
        }
    }
}

/// A list's `limit` query parameter: 20 when absent, else 1 to 100, or a
/// 400 naming `limit`.
pub fn page_limit(req: &Request) -> Result<i32, Response> {
    match req.query.get("limit") {
        None => Ok(20),
        Some(l) => l
            .parse::<i32>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| {
                Response::error(400, "bad_request", "limit must be 1..=100", Some("limit"))
            }),
    }
}

/// Parses a JSON body into `T`; an error names the field it is about.
pub fn parse_body<T: for<'de> Deserialize<'de>>(body: Option<&str>) -> Result<T, Invalid> {
    let text = body
        .filter(|b| !b.trim().is_empty())
        .ok_or_else(|| Invalid::shape("body", "a JSON object is required"))?;
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let field = match path.as_str() {
            "." | "" => unknown_field(&inner.to_string()).unwrap_or_else(|| "body".into()),
            _ => path,
        };
        Invalid::shape(&field, inner.to_string())
    })
}

fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest[..rest.find('`')?].to_owned())
}

/// The id a request's logs and events carry: a client may bring its own
/// (`x-correlation-id`, non-empty, at most 128 bytes) to follow a request
/// through the events it causes; otherwise API Gateway's request id serves.
/// The local gateway uses it too, to file the request's trace hop.
pub fn correlation_id(header: Option<&str>, request_id: Option<&str>) -> Option<String> {
    header
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .or(request_id)
        .map(str::to_owned)
}

/// What a handler needs from a request, independent of the wire format.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `METHOD /path/{param}` exactly as the template declares the route.
    pub route_key: String,
    pub path: HashMap<String, String>,
    pub query: HashMap<String, String>,
    pub body: Option<String>,
    /// Header names lowercased; a repeated header's values joined by `,`.
    pub headers: HashMap<String, String>,
    pub caller: Option<Caller>,
    pub correlation_id: String,
    /// API Gateway's request id: the key that joins the stage's access log
    /// line (which cannot carry the caller's correlation header) to the
    /// function's lines.
    pub gateway_request_id: String,
    /// Sent by the function's pre-traffic hook, not by a caller: what
    /// counts callers (a rejected webhook's metric, which pages) leaves it
    /// out.
    pub from_hook: bool,
}

impl Request {
    pub fn from_apigw(req: &ApiGatewayV2httpRequest) -> Self {
        let ctx = &req.request_context;
        let claims = ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| &jwt.claims);
        let caller = claims.and_then(|c| {
            Some(Caller {
                user_id: c.get("sub")?.clone(),
                email: c.get("email").cloned(),
                groups: c
                    .get("cognito:groups")
                    .map(|g| claim_list(g))
                    .unwrap_or_default(),
            })
        });
        let correlation_id = correlation_id(
            req.headers
                .get("x-correlation-id")
                .and_then(|v| v.to_str().ok()),
            ctx.request_id.as_deref(),
        )
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        Self {
            route_key: req
                .route_key
                .clone()
                .or_else(|| ctx.route_key.clone())
                .unwrap_or_default(),
            path: req.path_parameters.clone(),
            query: req
                .query_string_parameters
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            // JSON arrives as text; a base64 body fails JSON parsing with a
            // clear 400 rather than being guessed at.
            body: req.body.clone(),
            headers: req
                .headers
                .iter()
                .filter_map(|(k, v)| {
                    Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned()))
                })
                .collect(),
            caller,
            correlation_id,
            gateway_request_id: ctx.request_id.clone().unwrap_or_default(),
            from_hook: ctx.apiid.as_deref() == Some(HOOK_API_ID),
        }
    }

    /// The checks every route shares: an authenticated caller (API
    /// Gateway's authorizer stops the rest; never trust that alone) and a
    /// body within bounds.
    pub fn admit(&self) -> Result<Caller, Response> {
        let caller = self
            .caller
            .clone()
            .ok_or_else(|| Response::error(401, "unauthorized", "no authenticated caller", None))?;
        self.check_size()?;
        Ok(caller)
    }

    fn check_size(&self) -> Result<(), Response> {
        if self.body.as_ref().is_some_and(|b| b.len() > MAX_BODY_BYTES) {
            return Err(Response::error(
                413,
                "too_large",
                format!("body over {MAX_BODY_BYTES} bytes"),
                Some("body"),
            ));
        }
        Ok(())
    }

    /// A span that stamps every log line of the request with its ids.
    pub fn span(&self) -> tracing::Span {
        tracing::info_span!(
            "request",
            correlation_id = %self.correlation_id,
            route = %self.route_key,
            gateway_request_id = %self.gateway_request_id
        )
    }
}

/// Runs one request through the checks every route shares ([`Request::admit`]),
/// inside the request's span, and turns the route's `Err` into its response.
/// `route` dispatches on `req.route_key`; [`Response::no_route`] answers the rest.
pub async fn serve<'a, F, Fut>(req: &'a Request, route: F) -> Response
where
    F: FnOnce(Caller, &'a Request) -> Fut,
    Fut: std::future::Future<Output = Result<Response, Response>> + Send + 'a,
{
    match req.admit() {
        Ok(caller) => handle(req, route(caller, req)).await,
        Err(refused) => handle(req, std::future::ready(Err(refused))).await,
    }
}

/// [`serve`] for a route without an authenticated caller (a third party's
/// webhook, which proves itself by signature): the body bound, the span,
/// the metrics and the error mapping, without the caller check.
pub async fn serve_public<'a, F, Fut>(req: &'a Request, route: F) -> Response
where
    F: FnOnce(&'a Request) -> Fut,
    Fut: std::future::Future<Output = Result<Response, Response>> + Send + 'a,
{
    match req.check_size() {
        Ok(()) => handle(req, route(req)).await,
        Err(refused) => handle(req, std::future::ready(Err(refused))).await,
    }
}

async fn handle<'a>(
    req: &'a Request,
    routed: impl std::future::Future<Output = Result<Response, Response>> + Send + 'a,
) -> Response {
    use tracing::Instrument;
    let started = std::time::Instant::now();
    let span = req.span();
    // Boxed: the routes' futures are large, and nesting them inline
    // overflows the compiler's layout depth in the Lambda binaries.
    let routed: std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send + 'a>> =
        Box::pin(routed);
    let response = routed.instrument(span.clone()).await.unwrap_or_else(|e| e);
    let latency = started.elapsed();
    crate::telemetry::http(&req.route_key, response.status, latency);
    span.in_scope(|| {
        tracing::info!(
            status = response.status,
            latency_ms = latency.as_secs_f64() * 1000.0,
            "request handled"
        )
    });
    response
}

/// Builds API Gateway's payload 2.0 event for a route, as its JWT
/// authorizer passes it on: for tests (the `test-support` feature), which
/// hand it to a handler or a function directly.
#[cfg(any(test, feature = "test-support"))]
pub fn apigw_event(
    route_key: &str,
    raw_path: &str,
    path_params: &[(&str, &str)],
    query: &[(&str, &str)],
    claims: Option<&[(&str, &str)]>,
    body: Option<&str>,
    correlation_id: &str,
) -> ApiGatewayV2httpRequest {
    let event = apigw_json(
        route_key,
        raw_path,
        path_params,
        query,
        claims,
        body,
        correlation_id,
    );
    serde_json::from_value(event).expect("the payload 2.0 shape parses")
}

/// [`apigw_event`] as the JSON Lambda is invoked with: what a pre-traffic
/// hook hands a new version of an API function (`kit::hook`).
pub fn apigw_json(
    route_key: &str,
    raw_path: &str,
    path_params: &[(&str, &str)],
    query: &[(&str, &str)],
    claims: Option<&[(&str, &str)]>,
    body: Option<&str>,
    correlation_id: &str,
) -> Value {
    let method = route_key.split(' ').next().unwrap_or("GET");
    let raw_query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let now = chrono::Utc::now();
    let mut event = serde_json::json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": {"content-type": "application/json", "x-correlation-id": correlation_id},
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": "localhost",
            "domainPrefix": "local", "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": route_key, "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "local"}
        },
        "isBase64Encoded": false
    });
    let object = |pairs: &[(&str, &str)]| -> Value {
        (pairs.iter())
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    if let Some(claims) = claims {
        event["requestContext"]["authorizer"] =
            serde_json::json!({"jwt": {"claims": object(claims), "scopes": null}});
    }
    if !path_params.is_empty() {
        event["pathParameters"] = object(path_params);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = object(query);
    }
    if let Some(body) = body {
        event["body"] = Value::from(body);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_claim_is_read_as_api_gateway_hands_it_on() {
        assert_eq!(claim_list("[admins editors]"), ["admins", "editors"]);
        assert_eq!(claim_list("[admins]"), ["admins"]);
        assert_eq!(claim_list(r#"["admins","x y"]"#), ["admins", "x y"]);
        assert_eq!(claim_list("admins"), ["admins"]);
        assert!(claim_list("[]").is_empty());
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        #[serde(default)]
        when: Option<chrono::NaiveDate>,
    }

    #[test]
    fn a_malformed_body_names_the_field() {
        let e = parse_body::<Body>(Some(r#"{"name":"a","when":"soon"}"#)).unwrap_err();
        assert_eq!((e.status, e.field.as_str()), (400, "when"));
        let e = parse_body::<Body>(Some(r#"{"name":"a","extra":1}"#)).unwrap_err();
        assert_eq!(e.field, "extra");
        let e = parse_body::<Body>(Some(r#"{}"#)).unwrap_err();
        assert!(e.message.contains("name"), "{e}");
        assert_eq!(parse_body::<Body>(None).unwrap_err().field, "body");
        assert_eq!(parse_body::<Body>(Some("[1")).unwrap_err().status, 400);
    }

    #[test]
    fn a_callers_correlation_id_counts_only_when_usable() {
        assert_eq!(
            correlation_id(Some("c-1"), Some("r")).as_deref(),
            Some("c-1")
        );
        assert_eq!(correlation_id(Some(""), Some("r")).as_deref(), Some("r"));
        let long = "x".repeat(129);
        assert_eq!(correlation_id(Some(&long), Some("r")).as_deref(), Some("r"));
        assert_eq!(correlation_id(None, None), None);
    }

    #[test]
    fn a_request_carries_the_callers_claims_and_correlation_id() {
        let event = apigw_event(
            "GET /todos/{id}",
            "/todos/7",
            &[("id", "7")],
            &[("limit", "2")],
            Some(&[("sub", "u1"), ("email", "a@example.com")]),
            None,
            "req-9",
        );
        let req = Request::from_apigw(&event);
        assert_eq!(req.route_key, "GET /todos/{id}");
        assert_eq!(req.path["id"], "7");
        assert_eq!(req.query["limit"], "2");
        assert_eq!(req.correlation_id, "req-9");
        let caller = req.admit().unwrap();
        assert_eq!(
            (caller.user_id.as_str(), caller.email.as_deref()),
            ("u1", Some("a@example.com"))
        );
    }

    #[test]
    fn anonymous_and_oversized_requests_are_refused() {
        let anonymous = apigw_event("GET /x", "/x", &[], &[], None, None, "c");
        assert_eq!(
            Request::from_apigw(&anonymous).admit().unwrap_err().status,
            401
        );
        let big = "x".repeat(MAX_BODY_BYTES + 1);
        let oversized = apigw_event(
            "POST /x",
            "/x",
            &[],
            &[],
            Some(&[("sub", "u")]),
            Some(&big),
            "c",
        );
        assert_eq!(
            Request::from_apigw(&oversized).admit().unwrap_err().status,
            413
        );
    }
}

/// The emulator-independent part of `serve`, checked without I/O.
#[cfg(test)]
mod serve_tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn serve_admits_routes_and_maps_errors() {
        let req = |claims: Option<&[(&str, &str)]>, route: &str| {
            Request::from_apigw(&apigw_event(route, "/x", &[], &[], claims, None, "c"))
        };
        let route = |caller: Caller, req: &Request| {
            let key = req.route_key.clone();
            async move {
                match key.as_str() {
                    "GET /x" => Ok(Response::json(200, json!({"me": caller.user_id}))),
                    "POST /x" => Err(Response::error(409, "conflict", "no", None)),
                    other => Err(Response::no_route(other)),
                }
            }
        };
        let ok = req(Some(&[("sub", "u1")]), "GET /x");
        assert_eq!(serve(&ok, route).await.body.unwrap()["me"], "u1");
        let err = req(Some(&[("sub", "u1")]), "POST /x");
        assert_eq!(serve(&err, route).await.status, 409);
        let none = req(Some(&[("sub", "u1")]), "PUT /x");
        assert_eq!(
            serve(&none, route).await.body.unwrap()["error"]["code"],
            "no_route"
        );
        let anonymous = req(None, "GET /x");
        assert_eq!(serve(&anonymous, route).await.status, 401);
    }
}
