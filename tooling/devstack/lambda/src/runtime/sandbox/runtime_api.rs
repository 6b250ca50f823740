//! The Runtime API one process generation polls: `next`, its answers,
//! its errors and its init error.

use std::path::Path as FsPath;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;

use super::shared::{Invocation, Shared};
use crate::runtime::outcome::InvokeError;
use crate::spec::Spec;

type St = State<(Arc<Spec>, Arc<Shared>, u64)>;

/// Waits for an invocation this process generation may take; `None` once
/// the generation is retired.
async fn take(shared: &Shared, generation: u64) -> Option<Invocation> {
    let mut gate = shared.dispatching.subscribe();
    loop {
        let open = *gate.borrow_and_update();
        if open > generation {
            return None;
        }
        if open == generation {
            let mut queue = shared.queue.lock().await;
            tokio::select! {
                got = queue.recv() => match got {
                    Some(i) => return Some(i),
                    // Shutting down: the process is about to be killed; an
                    // answer without an event would only make it panic first.
                    None => std::future::pending::<()>().await,
                },
                // Closed or retired meanwhile: let go of the queue.
                _ = gate.changed() => continue,
            }
        }
        if gate.changed().await.is_err() {
            return None;
        }
    }
}

async fn next(State((spec, shared, generation)): St) -> Response {
    if let Some(spawned) = shared.spawned_at.lock().await.take() {
        shared.metrics.lock().await.init.push(spawned.elapsed());
    }
    let Some(invocation) = take(&shared, generation).await else {
        // Only a process that is already gone asks with a retired generation.
        return StatusCode::GONE.into_response();
    };
    let mut headers = HeaderMap::new();
    let h = |v: &str| HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static(""));
    headers.insert("lambda-runtime-aws-request-id", h(&invocation.request_id));
    headers.insert(
        "lambda-runtime-deadline-ms",
        h(&invocation.deadline_ms.to_string()),
    );
    headers.insert("lambda-runtime-invoked-function-arn", h(&spec.arn));
    headers.insert("lambda-runtime-trace-id", h(&invocation.trace_header));
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Some(path) = &spec.capture {
        capture(path, &headers, &invocation.payload);
    }
    let body = invocation.payload.to_string();
    let id = invocation.request_id.clone();
    shared.first.lock().await.handed(&id);
    let serial = invocation.serial;
    let timeout = spec.timeout;
    shared.in_flight.lock().await.insert(id.clone(), invocation);
    // The function's own clock: past the deadline the process is killed.
    // Only this attempt's: a retry with the same request id has its own.
    let watch = shared.clone();
    tokio::spawn(async move {
        tokio::time::sleep(timeout).await;
        let mut in_flight = watch.in_flight.lock().await;
        if in_flight.get(&id).is_some_and(|i| i.serial == serial)
            && let Some(i) = in_flight.remove(&id)
        {
            let _ = i.reply.send(Err(InvokeError::Timeout(timeout)));
            watch.kill.notify_one();
        }
    });
    (headers, body).into_response()
}

/// One line per event. Written before the function can answer, so a
/// reader that saw the answer finds the line; blocking, because it is a
/// test's option and one small append.
fn capture(path: &FsPath, headers: &HeaderMap, event: &Value) {
    use std::io::Write;
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                Value::from(v.to_str().unwrap_or_default()),
            )
        })
        .collect();
    let line = serde_json::json!({"headers": headers, "event": event});
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| writeln!(f, "{line}"));
    if let Err(e) = written {
        tracing::warn!(path = %path.display(), error = %e, "event capture failed");
    }
}

/// The first invocation's time, when `id` is it.
async fn answered(shared: &Shared, id: &str) {
    if let Some(took) = shared.first.lock().await.answered(id) {
        let mut m = shared.metrics.lock().await;
        let start = m.init.len().saturating_sub(1);
        m.first_invocation.push((start, took));
    }
}

async fn response(State((_, shared, _)): St, Path(id): Path<String>, body: Bytes) -> StatusCode {
    answered(&shared, &id).await;
    match shared.in_flight.lock().await.remove(&id) {
        Some(i) => {
            let value = serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
            let _ = i.reply.send(Ok(value));
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

fn function_error(body: &[u8]) -> InvokeError {
    let v: Value = serde_json::from_slice(body).unwrap_or_default();
    InvokeError::Function {
        error_type: v["errorType"].as_str().unwrap_or("Unhandled").to_owned(),
        message: v["errorMessage"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned()),
    }
}

async fn error(State((_, shared, _)): St, Path(id): Path<String>, body: Bytes) -> StatusCode {
    answered(&shared, &id).await;
    match shared.in_flight.lock().await.remove(&id) {
        Some(i) => {
            let _ = i.reply.send(Err(function_error(&body)));
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

async fn init_error(State((spec, _, _)): St, body: Bytes) -> StatusCode {
    tracing::error!(target: "trail", function = %spec.name, error = %function_error(&body), "init failed");
    StatusCode::ACCEPTED
}

pub(super) fn runtime_api(spec: Arc<Spec>, shared: Arc<Shared>, generation: u64) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state((spec, shared, generation))
}
