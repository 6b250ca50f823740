//! The bus proxy: functions' EventBridge and DynamoDB calls go through it
//! to the emulator (`AWS_ENDPOINT_URL_EVENTBRIDGE`,
//! `AWS_ENDPOINT_URL_DYNAMODB`), unchanged. The trace header of each
//! PutEvents entry is known when its rule delivers it, and each applied
//! table write wakes that table's stream pollers (`Writes`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use devstack_api::telemetry::now_ms;
use devstack_lambda::recorder::Recorder;
use devstack_lambda::wake::{Writes, written_tables};
use serde_json::Value;

pub struct Proxy {
    pub upstream: String,
    pub client: reqwest::Client,
    pub recorder: Arc<Recorder>,
    /// The stream pollers' wake signal.
    pub writes: Arc<Writes>,
}

pub fn router(proxy: Arc<Proxy>) -> axum::Router {
    axum::Router::new().fallback(forward).with_state(proxy)
}

async fn forward(
    State(p): State<Arc<Proxy>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = p
        .client
        .request(method, format!("{}{path}", p.upstream))
        .body(body.clone());
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
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
        p.recorder.putting_events(&parsed_request);
    }
    let start_ms = now_ms();
    let answer = match request.send().await {
        Ok(a) => a,
        Err(e) => {
            return (StatusCode::BAD_GATEWAY, format!("bus proxy: {e}")).into_response();
        }
    };
    let status = answer.status();
    let answer_headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    if put_events && status.is_success() {
        let parsed: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        p.recorder
            .put_events(&parsed_request, &parsed, start_ms, now_ms() - start_ms);
    }
    if table_write && status.is_success() {
        table_written(
            &p.recorder,
            &p.writes,
            &target,
            &parsed_request,
            (start_ms, now_ms() - start_ms),
        );
    }
    let mut response = (status, bytes).into_response();
    for (name, value) in &answer_headers {
        if name != "content-length" && name != "transfer-encoding" {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
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
