//! The gate: every AWS call a function makes passes here on its way to the
//! emulator (`AWS_ENDPOINT_URL`; with faults, through the function's fault
//! proxy first). It judges the call ([`crate::iam::Judge`]) and answers a
//! refusal as AWS would; it answers a browser's preflight to S3 by the
//! bucket's CORS rules, as S3 does (and puts S3's CORS headers, not the
//! emulator's wildcard, on the answers); it keeps each PutEvents entry's
//! trace header for the rule that delivers it; and each applied table
//! write wakes that table's stream pollers (`Writes`). A Lambda call goes
//! to the local cloud's Invoke API, not the emulator's: the functions it
//! names are the ones the local cloud runs (a pre-traffic hook invokes
//! the version a deployment staged), and CodeDeploy's hook status is
//! answered here ([`crate::hooks`]).

use std::sync::{Arc, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode, Uri};
use devstack_api::telemetry::now_ms;
use devstack_iam::cors::{Asked, allow_origin, allowing, preflight_headers};
use devstack_iam::sigv4::Arrived;
use devstack_lambda::recorder::Recorder;
use devstack_lambda::table_writes::{Writes, written_tables};
use serde_json::Value;

use crate::iam::{Judge, Refusal};
use crate::protocol::{Protocol, plain};

pub struct Gate {
    pub upstream: String,
    pub client: reqwest::Client,
    pub recorder: Arc<Recorder>,
    /// The stream pollers' wake signal.
    pub writes: Arc<Writes>,
    pub judge: Arc<Judge>,
    /// What the gate answers or reaches in the local cloud itself.
    pub local: Local,
}

/// The parts of the local cloud the gate answers from or forwards to
/// instead of the emulator.
#[derive(Clone, Default)]
pub struct Local {
    /// The distribution the local CDN plays, whose CloudFront calls the
    /// gate answers itself ([`crate::invalidations`]).
    pub cdn: crate::invalidations::Played,
    /// The local Invoke API's URL, once its listener is bound (after the
    /// gate's: the functions' environment names the gate).
    pub lambda: Arc<OnceLock<String>>,
    /// The deployments' hook executions, whose CodeDeploy calls the gate
    /// answers itself ([`crate::hooks`]).
    pub hooks: Arc<crate::hooks::Hooks>,
}

/// The part of the local cloud that answers a function's call to AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The emulator (moto, with the engine's changes).
    Engine,
    /// The local CDN's invalidations ([`crate::invalidations`]).
    Cdn,
    /// The deployments' hook executions ([`crate::hooks`]).
    Hooks,
    /// The local Invoke API: the functions the local cloud runs.
    Lambda,
    /// The local API gateway: a function's `@connections` calls reach its
    /// API's own gate, never this one.
    Gateway,
}

/// Who answers a call signed for `signing_service` (`lambda`, `events`).
pub fn answered_by(signing_service: &str) -> Part {
    match signing_service {
        "cloudfront" => Part::Cdn,
        "codedeploy" => Part::Hooks,
        "lambda" => Part::Lambda,
        "execute-api" => Part::Gateway,
        _ => Part::Engine,
    }
}

pub fn router(gate: Arc<Gate>) -> axum::Router {
    axum::Router::new().fallback(forward).with_state(gate)
}

async fn forward(
    State(g): State<Arc<Gate>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    // S3 as a browser meets it: its CORS rules, not the emulator's wildcard.
    let cors = (g.judge.mode() != devstack_iam::Mode::Off
        && Protocol::of(&headers) == Protocol::RestXml)
        .then(|| header(&headers, "origin"))
        .flatten();
    if let Some(origin) = &cors
        && method == Method::OPTIONS
        && let Some(wanted) = header(&headers, "access-control-request-method")
    {
        let asked = Asked {
            origin,
            method: &wanted,
            headers: &header(&headers, "access-control-request-headers").unwrap_or_default(),
        };
        return preflight(&g.judge, path, &asked).await;
    }
    let method_name = method.as_str().to_owned();
    if let Err(refusal) = judged(&g.judge, &method, path, &headers, &body).await {
        let protocol = Protocol::of(&headers);
        let mut refused = match refusal {
            Refusal::Denied(message) => protocol.denied(&message),
            Refusal::KeyDenied(message) => protocol.key_denied(&message),
            Refusal::Unrecognized { signature, message } => {
                protocol.unrecognized(signature, &message)
            }
            Refusal::Expired => protocol.expired(),
            Refusal::Coded {
                status,
                code,
                message,
            } => protocol.refused(status, code, &message),
        };
        // S3 answers a refused cross-origin request with the bucket's CORS
        // headers too, so the page reads the 403 rather than a network
        // error.
        if let Some(origin) = &cors {
            with_cors(&g.judge, (origin, &method_name), path, &mut refused).await;
        }
        return refused;
    }
    let target = header(&headers, "x-amz-target").unwrap_or_default();
    let signing = signing_service(&headers).unwrap_or_default();
    let upstream = match answered_by(&signing) {
        Part::Cdn => {
            let played = g.local.cdn.get().map(|c| &**c);
            return crate::invalidations::answer(played, method.as_str(), path, &body);
        }
        Part::Hooks => return crate::hooks::answer(&g.local.hooks, &target, &body),
        Part::Lambda => g.local.lambda.get().unwrap_or(&g.upstream),
        Part::Engine | Part::Gateway => &g.upstream,
    };
    let put_events = target.ends_with(".PutEvents");
    // STS's answer to a caller's AssumeRole is a session the judge must
    // know: its request is kept to read the answer by.
    let assume = (signing == "sts").then(|| body.clone());
    let table_write = target.starts_with("DynamoDB_20120810.")
        && matches!(
            &target["DynamoDB_20120810.".len()..],
            "PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem" | "TransactWriteItems"
        );
    let mut parsed_request: Value = if put_events || table_write {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    if put_events {
        g.recorder.putting_events(&parsed_request);
    }
    // A HEAD answer's length is the object's (S3's HeadObject): it must
    // pass as it is, not be recomputed from the empty body.
    let head = method == Method::HEAD;
    let mut request = g
        .client
        .request(method, format!("{upstream}{path}"))
        .body(body);
    for (name, value) in forwarded(&headers) {
        request = request.header(name, value);
    }
    let start_ms = now_ms();
    let answer = match request.send().await {
        Ok(a) => a,
        Err(e) => return plain(StatusCode::BAD_GATEWAY, format!("gate: {e}")),
    };
    let status = answer.status();
    let answer_headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    if put_events && status.is_success() {
        let parsed: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let publisher = (headers.get("authorization"))
            .and_then(|v| v.to_str().ok())
            .and_then(|a| g.judge.function_signing(a));
        // Recorded beside the answer, not before it: the function's
        // PutEvents does not wait for the records (each event's detail
        // serialised again, two files appended).
        let (recorder, took) = (g.recorder.clone(), (start_ms, now_ms() - start_ms));
        // A PutEvents is no table write: the request is this record's alone.
        let request = std::mem::take(&mut parsed_request);
        tokio::task::spawn_blocking(move || {
            recorder.put_events(&request, &parsed, took, publisher.as_deref());
        });
    }
    if let Some(asked) = assume
        && status.is_success()
        && let Some(authorization) = header(&headers, "authorization")
    {
        g.judge.assumed(&authorization, &asked, &bytes).await;
    }
    if table_write && status.is_success() {
        table_written(
            &g.recorder,
            &g.writes,
            &target,
            &parsed_request,
            (start_ms, now_ms() - start_ms),
        );
    }
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &answer_headers {
        let emulators_cors = cors.is_some() && name.as_str().starts_with("access-control-");
        if (head || name != "content-length")
            && name != "transfer-encoding"
            && !emulators_cors
            && !engines_own(name)
        {
            response.headers_mut().append(name, value.clone());
        }
    }
    if let Some(origin) = &cors {
        with_cors(&g.judge, (origin, &method_name), path, &mut response).await;
    }
    response
}

/// The CORS headers of the bucket's first rule that allows `origin` and
/// `method`, on an answer to the browser.
async fn with_cors(
    judge: &crate::iam::Judge,
    (origin, method): (&str, &str),
    path: &str,
    response: &mut Response<Body>,
) {
    let asked = Asked {
        origin,
        method,
        headers: "",
    };
    let rules = judge.bucket_cors(bucket_of(path)).await;
    let Some(rule) = allowing(&rules, &asked) else {
        return;
    };
    let mut add = vec![
        ("access-control-allow-origin", allow_origin(rule, &asked)),
        ("vary", "Origin".to_owned()),
    ];
    if !rule.expose.is_empty() {
        add.push(("access-control-expose-headers", rule.expose.join(", ")));
    }
    for (name, value) in add {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
}

/// The engine's own headers, which pass neither way: asked for, they
/// change what it does (`x-moto-account-id` acts in the account it names,
/// whoever signed, while the judge judged the signer's); answered, they
/// say what AWS never says (a forgotten password's confirmation code,
/// which Cognito only sends to the user's inbox).
pub(crate) fn engines_own(name: &HeaderName) -> bool {
    name.as_str().starts_with("x-moto-")
}

/// The caller's headers the emulator gets: not the connection's, and not
/// [`engines_own`].
pub(crate) fn forwarded(headers: &HeaderMap) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
    headers
        .iter()
        .filter(|(name, _)| *name != "host" && *name != "content-length" && !engines_own(name))
}

/// The service a request is signed for (its credential scope's).
fn signing_service(headers: &HeaderMap) -> Option<String> {
    let auth = header(headers, "authorization")?;
    devstack_iam::sigv4::Authorization::parse(&auth)
        .ok()
        .map(|a| a.service)
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The bucket a path-style S3 request names.
fn bucket_of(path: &str) -> &str {
    let path = path.split('?').next().unwrap_or_default();
    path.trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
}

/// A browser's preflight to S3, answered by the bucket's CORS rules: the
/// first that allows the origin, the method and every requested header,
/// else S3's 403.
async fn preflight(judge: &Judge, path: &str, asked: &Asked<'_>) -> Response<Body> {
    let bucket = bucket_of(path);
    let rules = judge.bucket_cors(bucket).await;
    if let Some(rule) = allowing(&rules, asked) {
        let mut response = plain(StatusCode::OK, String::new());
        for (name, value) in preflight_headers(rule, asked) {
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, v);
            }
        }
        return response;
    }
    tracing::warn!(target: "trail", bucket, origin = asked.origin, method = asked.method,
        headers = asked.headers, "cors: preflight refused (no rule of the bucket allows it)");
    let mut response = plain(
        StatusCode::FORBIDDEN,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessForbidden</Code><Message>CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.</Message><Method>{}</Method><ResourceType>OBJECT</ResourceType><RequestId>{}</RequestId></Error>",
            asked.method,
            uuid::Uuid::new_v4()
        ),
    );
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/xml"));
    response
}

/// The judge's verdict on a request as it arrived.
async fn judged(
    judge: &Judge,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Refusal> {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    let arrived = Arrived {
        method: method.as_str(),
        path_and_query: path,
        headers: &pairs,
        body,
    };
    judge.check(&arrived).await
}
/// A table write the emulator applied: the pollers of its tables wake, and
/// it is a hop of the trace its item carries.
fn table_written(
    recorder: &Recorder,
    writes: &Writes,
    target: &str,
    request: &Value,
    (start_ms, duration_ms): (f64, f64),
) {
    let tables = written_tables(target, request);
    for t in &tables {
        writes.written(t);
    }
    recorder.table_write(target, &tables, request, start_ms, duration_ms);
}

#[cfg(test)]
mod tests {
    use devstack_api::telemetry::read_hops;

    use super::*;

    #[test]
    fn a_caller_cannot_ask_the_engine_for_another_account() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            HeaderValue::from_static("AWS4-HMAC-SHA256 ..."),
        );
        headers.insert(
            "x-moto-account-id",
            HeaderValue::from_static("222222222222"),
        );
        headers.insert("host", HeaderValue::from_static("127.0.0.1:1"));
        let names: Vec<&str> = forwarded(&headers).map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["authorization"]);
    }

    #[test]
    fn a_table_write_is_a_hop_of_the_trace_its_item_carries() {
        use futures_util::FutureExt;
        let dir = tempfile::tempdir().unwrap();
        let r = Recorder::new(dir.path(), false).unwrap();
        let writes = Writes::default();
        let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        let woken = writes.watch("notifications-Table");
        let request = serde_json::json!({"TransactItems": [
            {"Put": {"TableName": "notifications-Table", "Item": {
                "pk": {"S": "USER#1"}, "trace_header": {"S": header}, "correlation_id": {"S": "c7"}}}},
            {"ConditionCheck": {"TableName": "notifications-Table", "Key": {"pk": {"S": "USER#1"}}}}
        ]});
        table_written(
            &r,
            &writes,
            "DynamoDB_20120810.TransactWriteItems",
            &request,
            (10.0, 3.0),
        );
        let hops = read_hops(dir.path()).unwrap();
        assert_eq!(hops.len(), 1);
        let h = &hops[0];
        assert_eq!(
            (h.kind.as_str(), h.function.as_str(), h.detail.as_str()),
            ("dynamodb", "notifications-Table", "TransactWriteItems")
        );
        assert_eq!(h.trace_id, "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(h.correlation_ids, ["c7"]);
        assert_eq!((h.start_ms, h.duration_ms), (10.0, 3.0));
        assert!(
            woken.notified().now_or_never().is_some(),
            "the poller was not woken"
        );
        // No trace header in the item: the pollers still wake, no hop.
        table_written(
            &r,
            &writes,
            "DynamoDB_20120810.PutItem",
            &serde_json::json!({"TableName": "notifications-Table", "Item": {"pk": {"S": "x"}}}),
            (20.0, 1.0),
        );
        assert_eq!(read_hops(dir.path()).unwrap().len(), 1);
        assert!(woken.notified().now_or_never().is_some());
    }
}
