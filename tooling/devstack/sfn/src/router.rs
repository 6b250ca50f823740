//! The "Lambda" moto's Step Functions interpreter calls for a Lambda task.
//!
//! The interpreter calls Lambda with boto3 at `http://localhost:$MOTO_PORT`;
//! moto is started with `MOTO_PORT` naming this router's port. An Invoke
//! goes to the local Lambda API (the function name arrives as an ARN, which
//! that API accepts); every other request goes to moto verbatim, because
//! boto3 inside moto may call other services at the same address.
//!
//! With a [`TaskJudge`], an Invoke is first judged as AWS judges a task's:
//! the execution's role (the emulator's launcher names it in
//! [`ROLE_HEADER`]) must be allowed `lambda:InvokeFunction` on the
//! function. A refusal is Lambda's `AccessDeniedException`, which the
//! interpreter turns into the task's `Lambda.AccessDeniedException`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// The header in which the emulator's interpreter names the execution's
/// role on each task's call.
pub const ROLE_HEADER: &str = "x-devstack-execution-role";

/// Whether a task of an execution running as `role_arn` may invoke
/// `function` (a name or an ARN, as the task named it); `Err` carries AWS's
/// message.
pub trait TaskJudge: Send + Sync {
    fn may_invoke<'a>(
        &'a self,
        role_arn: &'a str,
        function: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
}

/// Where requests go.
struct Upstreams {
    lambda_api: String,
    moto: String,
    http: reqwest::Client,
    judge: Option<Arc<dyn TaskJudge>>,
}

/// Serves the router on `listener` until the task is dropped. `lambda_api`
/// and `moto` are base URLs (`http://127.0.0.1:port`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    lambda_api: String,
    moto: String,
) -> anyhow::Result<()> {
    axum::serve(listener, router(lambda_api, moto, None)?).await?;
    Ok(())
}

/// The router itself, for a caller that serves it its own way.
pub fn router(
    lambda_api: String,
    moto: String,
    judge: Option<Arc<dyn TaskJudge>>,
) -> anyhow::Result<axum::Router> {
    let http = reqwest::Client::builder()
        .no_proxy()
        // Answers pass through as they are, redirects included; and an
        // invocation lasts as long as the function's own timeout says.
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let upstreams = Upstreams {
        lambda_api: lambda_api.trim_end_matches('/').to_owned(),
        moto: moto.trim_end_matches('/').to_owned(),
        http,
        judge,
    };
    Ok(axum::Router::new()
        .fallback(forward)
        .with_state(Arc::new(upstreams)))
}

/// `POST /2015-03-31/functions/{name}/invocations`: Lambda's Invoke.
fn is_invoke(method: &Method, path: &str) -> bool {
    invoked(method, path).is_some()
}

/// The function an Invoke names (decoded: an ARN arrives escaped).
fn invoked(method: &Method, path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    match segments.as_slice() {
        ["", "2015-03-31", "functions", name, "invocations"]
            if *method == Method::POST && !name.is_empty() =>
        {
            Some(
                percent_encoding::percent_decode_str(name)
                    .decode_utf8_lossy()
                    .into_owned(),
            )
        }
        _ => None,
    }
}

/// The judge's refusal of a task's Invoke, if it refuses.
async fn refused(
    up: &Upstreams,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Option<String> {
    let judge = up.judge.as_ref()?;
    let function = invoked(method, path)?;
    let role = headers.get(ROLE_HEADER)?.to_str().ok()?;
    judge.may_invoke(role, &function).await.err()
}

async fn forward(State(up): State<Arc<Upstreams>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    if let Some(message) = refused(&up, &parts.method, parts.uri.path(), &parts.headers).await {
        return lambda_error(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            "User",
            &message,
        );
    }
    let invoke = is_invoke(&parts.method, parts.uri.path());
    let base = if invoke { &up.lambda_api } else { &up.moto };
    let mut headers = parts.headers.clone();
    // The invocation's hop then names its caller: Step Functions, unless
    // the engine's EventBridge named itself.
    if invoke && !headers.contains_key(devstack_api::telemetry::INVOKED_BY) {
        headers.insert(
            devstack_api::telemetry::INVOKED_BY,
            axum::http::HeaderValue::from_static(devstack_api::telemetry::STEP_FUNCTIONS),
        );
    }
    let url = format!("{base}{path_and_query}");
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            return failure(
                StatusCode::BAD_REQUEST,
                &format!("reading the request: {e}"),
            );
        }
    };
    match send(&up.http, parts.method, &url, &headers, body).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!(%url, error = %e, "Step Functions router: upstream unreachable");
            failure(StatusCode::BAD_GATEWAY, &format!("{url}: {e}"))
        }
    }
}

async fn send(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, reqwest::Error> {
    let answer = http
        .request(method, url)
        .headers(end_to_end(headers))
        .body(body)
        .send()
        .await?;
    let status = answer.status();
    let mut headers = end_to_end(answer.headers());
    let body = answer.bytes().await?;
    if status.is_client_error() || status.is_server_error() {
        ensure_request_id(&mut headers);
    }
    let mut out = Response::new(Body::from(body));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

/// The headers that describe the message, not this hop: the client and
/// server set the connection's own (host, length, framing) again.
fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    const HOP: [&str; 6] = [
        "host",
        "content-length",
        "connection",
        "transfer-encoding",
        "keep-alive",
        "upgrade",
    ];
    headers
        .iter()
        .filter(|(name, _)| !HOP.contains(&name.as_str()))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

/// boto3 reads an error's request id from this header; without it the
/// interpreter fails the task with `States.Runtime KeyError('RequestId')`.
fn ensure_request_id(headers: &mut HeaderMap) {
    let name = HeaderName::from_static("x-amzn-requestid");
    if !headers.contains_key(&name)
        && let Ok(value) = HeaderValue::from_str(&request_id())
    {
        headers.insert(name, value);
    }
}

/// Unique within this process, which is all a request id must be here.
fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!(
        "sfn-router-{nanos:x}-{}",
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// An answer of the router's own, shaped as a Lambda service error.
fn failure(status: StatusCode, message: &str) -> Response {
    lambda_error(status, "ServiceException", "Service", message)
}

/// An error as Lambda's REST-JSON protocol answers it.
fn lambda_error(status: StatusCode, code: &'static str, kind: &str, message: &str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("x-amzn-errortype", HeaderValue::from_static(code));
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    ensure_request_id(&mut headers);
    let body = serde_json::json!({"Type": kind, "Message": message}).to_string();
    (status, headers, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_post_to_invocations_is_an_invoke() {
        let arn = "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af/invocations";
        assert!(is_invoke(&Method::POST, arn));
        assert!(!is_invoke(&Method::GET, arn));
        assert!(!is_invoke(&Method::POST, "/2015-03-31/functions/f"));
        assert!(!is_invoke(
            &Method::POST,
            "/2015-03-31/functions//invocations"
        ));
        assert!(!is_invoke(&Method::POST, "/"));
        assert_eq!(
            invoked(&Method::POST, arn).as_deref(),
            Some("arn:aws:lambda:us-east-1:123456789012:function:f")
        );
    }

    #[test]
    fn an_error_without_a_request_id_gets_one_and_one_with_it_keeps_it() {
        let mut bare = HeaderMap::new();
        ensure_request_id(&mut bare);
        assert!(bare.contains_key("x-amzn-RequestId"));
        let mut given = HeaderMap::new();
        given.insert("X-Amzn-RequestId", HeaderValue::from_static("abc"));
        ensure_request_id(&mut given);
        assert_eq!(given["x-amzn-requestid"], "abc");
    }
}
