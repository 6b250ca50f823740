//! The Lambda Invoke API for the functions the local cloud runs, so
//! `aws lambda invoke`, the ops CLI and tests work with
//! `AWS_ENDPOINT_URL_LAMBDA` pointing here.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::invoke::AsyncFunction;
use crate::runtime::Arrival;
use crate::runtime::Function;

type Functions = Arc<(
    BTreeMap<String, Function>,
    BTreeMap<String, Arc<AsyncFunction>>,
)>;

pub fn router(
    functions: BTreeMap<String, Function>,
    asyncs: BTreeMap<String, Arc<AsyncFunction>>,
) -> Router {
    Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .with_state(Arc::new((functions, asyncs)))
}

/// A function by its physical name, its ARN, or `<stack>/<LogicalId>`.
fn find<'a>(
    functions: &'a BTreeMap<String, Function>,
    name: &str,
) -> Option<(&'a String, &'a Function)> {
    let bare = name.rsplit(':').next().unwrap_or(name);
    functions
        .iter()
        .find(|(key, f)| *key == name || f.spec.physical_name == bare || f.spec.arn == name)
}

async fn invoke(
    State(fs): State<Functions>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (functions, asyncs) = &*fs;
    let Some((key, function)) = find(functions, &name) else {
        return (
            StatusCode::NOT_FOUND,
            [("x-amzn-errortype", "ResourceNotFoundException")],
            json!({"Type": "User", "message": format!("Function not found: {name}")}).to_string(),
        )
            .into_response();
    };
    let payload: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return (
                    StatusCode::BAD_REQUEST,
                    [("x-amzn-errortype", "InvalidRequestContentException")],
                    json!({"Type": "User", "message": format!("Could not parse request body into json: {e}")}).to_string(),
                )
                    .into_response();
            }
        }
    };
    let kind = headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse");
    // A caller continues its trace with X-Amzn-Trace-Id (a DLQ replay does).
    let trace = headers
        .get(kit::telemetry::HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let correlation = payload["detail"]["metadata"]["correlation_id"]
        .as_str()
        .map(str::to_owned);
    if kind == "Event" {
        let target = asyncs[key].clone();
        let arrival = Arrival::new("async", "Invoke API (Event)")
            .traced(trace)
            .correlated(correlation.as_deref());
        tokio::spawn(async move {
            target.invoke(payload, "Invoke API (Event)", arrival).await;
        });
        return (
            StatusCode::ACCEPTED,
            [("x-amzn-requestid", uuid::Uuid::new_v4().to_string())],
            "",
        )
            .into_response();
    }
    let arrival = Arrival::new("invoke", "Invoke API")
        .traced(trace)
        .correlated(correlation.as_deref());
    match function
        .invoke_traced(uuid::Uuid::new_v4().to_string(), payload, arrival)
        .await
    {
        Ok(out) => (
            StatusCode::OK,
            [("x-amz-executed-version", "$LATEST")],
            out.to_string(),
        )
            .into_response(),
        Err(e) => (
            StatusCode::OK,
            [
                ("x-amz-function-error", "Unhandled"),
                ("x-amz-executed-version", "$LATEST"),
            ],
            json!({"errorType": e.error_type(), "errorMessage": e.to_string()}).to_string(),
        )
            .into_response(),
    }
}
