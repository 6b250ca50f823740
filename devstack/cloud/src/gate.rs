//! The gate: every AWS call a function makes passes here on its way to the
//! emulator (`AWS_ENDPOINT_URL`; with faults, through the function's fault
//! proxy first). It judges the call ([`crate::iam::Judge`]) and answers a
//! refusal as AWS would; it keeps each PutEvents entry's trace header for
//! the rule that delivers it; and each applied table write wakes that
//! table's stream pollers (`Writes`).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};
use devstack_api::telemetry::now_ms;
use devstack_iam::sigv4::Arrived;
use devstack_lambda::recorder::Recorder;
use devstack_lambda::wake::{Writes, written_tables};
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
    if let Err(refusal) = judged(&g.judge, &method, path, &headers, &body).await {
        let protocol = Protocol::of(&headers);
        return match refusal {
            Refusal::Denied(message) => protocol.denied(&message),
            Refusal::KeyDenied(message) => protocol.key_denied(&message),
            Refusal::Unrecognized { signature, message } => {
                protocol.unrecognized(signature, &message)
            }
        };
    }
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let put_events = target.ends_with(".PutEvents");
    let table_write = target.starts_with("DynamoDB_20120810.")
        && matches!(
            &target["DynamoDB_20120810.".len()..],
            "PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem" | "TransactWriteItems"
        );
    let parsed_request: Value = if put_events || table_write {
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
        .request(method, format!("{}{path}", g.upstream))
        .body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
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
        g.recorder
            .put_events(&parsed_request, &parsed, start_ms, now_ms() - start_ms);
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
        if (head || name != "content-length") && name != "transfer-encoding" {
            response.headers_mut().append(name, value.clone());
        }
    }
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
    fn a_table_write_is_a_hop_of_the_trace_its_item_carries() {
        use futures_util::FutureExt;
        let dir = tempfile::tempdir().unwrap();
        let r = Recorder::new(dir.path()).unwrap();
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
