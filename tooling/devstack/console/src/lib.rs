//! The local cloud's console: a page on loopback, with no sign-in, that
//! draws the system as it runs. It reads what the cloud already writes
//! (the telemetry folder: hops, events, IAM verdicts, dead letters) and
//! acts only through the ops binary, the same code path as `ops dlq
//! replay`, so it holds no cloud state and no credentials of its own.
//!
//! - `GET /api/map?window=<seconds>`: the service map ([`map`]), with
//!   each function's live version ([`versions`]);
//! - `GET /api/trail`: the trail as server-sent events ([`trail`]), one
//!   message per batch of records, resumable by `Last-Event-ID`;
//! - `GET /api/letters`: each service's dead letters (`ops dlq peek`);
//! - `POST /api/letters/{service}/replay` `{"message_id"}`: one letter
//!   replayed (`ops dlq replay --message-id`);
//! - `GET /api/trace?id=`: one trace as a waterfall ([`waterfall`]);
//! - `GET /api/functions`: each function's figures ([`functions`]) and
//!   its role's used and unused permissions;
//! - `GET /api/deployments`: each gradual deployment as it last stood
//!   (`devstack deploy`): its weights over time, each alarm's state, the
//!   outcome, newest first;
//! - `GET /api/executions`: every state machine, its definition and its
//!   latest executions; `GET /api/execution?arn=`: one execution, state by
//!   state (`devstack_sfn`'s reading of its history, as `devstack
//!   executions` prints it); `GET /api/execution/logs?arn=`: the log lines
//!   of the functions it invoked ([`logs`]);
//! - anything else: the page's files (`tooling/devstack/console/page/dist`).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::{Value, json};

pub mod files;
pub mod functions;
pub mod letters;
pub mod logs;
pub mod machines;
pub mod map;
mod records;
pub mod trail;
pub mod versions;
pub mod waterfall;

/// What the console reads and runs.
#[derive(Debug, Clone)]
pub struct Console {
    pub telemetry_dir: PathBuf,
    /// The built page (`tooling/devstack/console/page/dist`).
    pub dist: PathBuf,
    /// What the stacks declare: the map's accounts, resources and idle
    /// deliveries.
    pub topology: map::Topology,
    pub ops: letters::Ops,
    /// moto's server, where the executions are read.
    pub emulator_url: String,
    /// The accounts whose state machines are drawn.
    pub accounts: Vec<String>,
    /// The devstack binary, for `devstack least-privilege`.
    pub devstack: PathBuf,
    /// Physical function name → `<service>/<LogicalId>`, for the state
    /// machines' tasks on the map and their logs.
    pub functions: BTreeMap<String, String>,
}

pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/api/map", get(service_map))
        .route("/api/trail", get(live_trail))
        .route("/api/letters", get(dead_letters))
        .route("/api/letters/{service}/replay", post(replay))
        .route("/api/functions", get(function_figures))
        .route("/api/deployments", get(deployments))
        .route("/api/trace", get(trace))
        .route("/api/executions", get(executions))
        .route("/api/execution", get(execution))
        .route("/api/execution/logs", get(execution_logs))
        .fallback(get(page))
        .with_state(console)
}

#[derive(Deserialize)]
struct Window {
    /// Seconds back from now; the whole run when absent.
    window: Option<f64>,
}

async fn service_map(State(c): State<Arc<Console>>, Query(w): Query<Window>) -> Response {
    let since = w
        .window
        .map_or(0.0, |s| devstack_api::telemetry::now_ms() - s * 1000.0);
    let machines = state_machines(&c).await;
    // The files off the async workers, as the other views read them.
    let drawn = tokio::task::spawn_blocking(move || {
        let dir = &c.telemetry_dir;
        let hops = devstack_api::telemetry::read_hops(dir).unwrap_or_default();
        let events = devstack_api::telemetry::read_events(dir);
        let dead_letters = devstack_api::telemetry::read_dead_letters(dir);
        let records = map::Records {
            hops: &hops,
            events: &events,
            dead_letters: &dead_letters,
            machines: &machines,
        };
        let mut map = map::draw(&records, &c.topology, since);
        map.versions = versions::live(&devstack_api::telemetry::read_deployments(dir));
        map
    });
    match drawn.await {
        Ok(map) => axum::Json(map).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// Each state machine with the functions its tasks invoke; none when
/// moto cannot be read, and the map then names Step Functions.
async fn state_machines(c: &Console) -> Vec<machines::Machine> {
    let listed = devstack_sfn::listing::definitions(&c.emulator_url, &c.accounts).await;
    (listed.unwrap_or_default().into_iter())
        .map(|m| machines::Machine {
            functions: (machines::task_functions(&m.definition).iter())
                .filter_map(|name| c.functions.get(name).cloned())
                .collect(),
            name: m.name,
        })
        .collect()
}

/// How often a quiet trail looks for new lines.
const POLL: Duration = Duration::from_millis(100);

async fn live_trail(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let start = (headers.get("last-event-id"))
        .and_then(|v| v.to_str().ok())
        .map(trail::Place::parse)
        .unwrap_or_default();
    let stream = futures_util::stream::unfold((c, start), |(c, place)| async move {
        loop {
            let dir = c.telemetry_dir.clone();
            let (records, next) =
                tokio::task::spawn_blocking(move || trail::read_since(&dir, place))
                    .await
                    .unwrap_or((vec![], place));
            if records.is_empty() {
                tokio::time::sleep(POLL).await;
                continue;
            }
            let event = Event::default()
                .id(next.id())
                .data(Value::Array(records).to_string());
            return Some((Ok(event), (c, next)));
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn dead_letters(State(c): State<Arc<Console>>) -> Response {
    match c.ops.letters().await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => error(StatusCode::BAD_GATEWAY, &e),
    }
}

#[derive(Deserialize)]
struct Replay {
    message_id: String,
}

/// A replay changes the cloud: it must come from the console's own page.
/// A page elsewhere cannot send this JSON body without a preflight the
/// console never answers, and its `Origin` would not be this host.
async fn replay(
    State(c): State<Arc<Console>>,
    Path(service): Path<String>,
    headers: HeaderMap,
    body: Result<axum::Json<Replay>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|h| h.to_str().ok());
    if let Some(origin) = origin
        && Some(origin.trim_start_matches("http://")) != host
    {
        return error(
            StatusCode::FORBIDDEN,
            "origin: a replay comes from the console's own page",
        );
    }
    let axum::Json(r) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("message_id: {e}")),
    };
    match c.ops.replay(&service, &r.message_id).await {
        Ok(report) => axum::Json(report).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, &e),
    }
}

async fn deployments(State(c): State<Arc<Console>>) -> Response {
    let dir = c.telemetry_dir.clone();
    let read = tokio::task::spawn_blocking(move || devstack_api::telemetry::read_deployments(&dir));
    match read.await {
        Ok(deployments) => axum::Json(deployments).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn function_figures(State(c): State<Arc<Console>>) -> Response {
    let dir = c.telemetry_dir.clone();
    let figures = tokio::task::spawn_blocking(move || functions::figures(&dir))
        .await
        .unwrap_or_default();
    let permissions = functions::permissions(&c.devstack, &c.telemetry_dir)
        .await
        .unwrap_or_else(|e| json!({ "error": e }));
    axum::Json(json!({ "functions": figures, "permissions": permissions })).into_response()
}

async fn executions(State(c): State<Arc<Console>>) -> Response {
    match devstack_sfn::listing::machines(&c.emulator_url, &c.accounts).await {
        Ok(m) => axum::Json(m).into_response(),
        Err(e) => error(StatusCode::BAD_GATEWAY, &e.to_string()),
    }
}

#[derive(Deserialize)]
struct TraceId {
    id: String,
}

async fn trace(State(c): State<Arc<Console>>, Query(q): Query<TraceId>) -> Response {
    let dir = c.telemetry_dir.clone();
    let bars = tokio::task::spawn_blocking(move || waterfall::bars(&dir, &q.id))
        .await
        .unwrap_or_default();
    axum::Json(bars).into_response()
}

#[derive(Deserialize)]
struct Arn {
    arn: String,
}

/// The execution an `arn` query names, or the answer that says why not.
async fn fetched(c: &Console, arn: &str) -> Result<devstack_sfn::history::Execution, Response> {
    if !arn.starts_with("arn:aws:states:") {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "arn: not a Step Functions execution ARN",
        ));
    }
    devstack_sfn::history::fetch(&c.emulator_url, arn)
        .await
        .map_err(|e| error(StatusCode::BAD_GATEWAY, &e.to_string()))
}

async fn execution(State(c): State<Arc<Console>>, Query(q): Query<Arn>) -> Response {
    match fetched(&c, &q.arn).await {
        Ok(e) => axum::Json(e).into_response(),
        Err(answer) => answer,
    }
}

async fn execution_logs(State(c): State<Arc<Console>>, Query(q): Query<Arn>) -> Response {
    let execution = match fetched(&c, &q.arn).await {
        Ok(e) => e,
        Err(answer) => return answer,
    };
    let console = c.clone();
    let found = tokio::task::spawn_blocking(move || {
        logs::of(&console.telemetry_dir, &console.functions, &execution)
    })
    .await
    .unwrap_or_default();
    axum::Json(found).into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

async fn page(State(c): State<Arc<Console>>, uri: Uri) -> Response {
    files::serve(&c.dist, uri.path()).await
}
