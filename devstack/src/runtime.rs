//! Lambda's side of the Runtime API, for one function: the real binary runs
//! as a child process with `AWS_LAMBDA_RUNTIME_API` pointing here, exactly
//! as on AWS. One warm process per function, one invocation at a time,
//! restarted when it dies; a timeout kills it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{Mutex, Notify, mpsc, oneshot};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// The handler returned an error (`/error`), as `{errorType, errorMessage}`.
    #[error("{error_type}: {message}")]
    Function { error_type: String, message: String },
    #[error("Task timed out after {0:?}")]
    Timeout(Duration),
    #[error("Runtime exited: {0}")]
    Crashed(String),
    #[error("the local cloud is stopping")]
    Stopped,
}

impl InvokeError {
    pub fn error_type(&self) -> &str {
        match self {
            InvokeError::Function { error_type, .. } => error_type,
            InvokeError::Timeout(_) => "Sandbox.Timedout",
            InvokeError::Crashed(_) => "Runtime.ExitError",
            InvokeError::Stopped => "Runtime.Stopped",
        }
    }
}

pub type Outcome = Result<Value, InvokeError>;

struct Invocation {
    request_id: String,
    payload: Value,
    deadline_ms: i64,
    reply: oneshot::Sender<Outcome>,
}

/// What a function process needs to start.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Display name, `<stack>/<LogicalId>`.
    pub name: String,
    pub physical_name: String,
    pub arn: String,
    pub binary: PathBuf,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
}

/// Startup measurements, for the bench.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    /// Process spawn → first `next` request, per start.
    pub init: Vec<Duration>,
    pub restarts: u32,
    pub invocations: u32,
    pub errors: u32,
    /// `rawPath` of the latest HTTP events this function received.
    pub recent_paths: std::collections::VecDeque<String>,
}

struct Shared {
    queue: Mutex<mpsc::Receiver<Invocation>>,
    in_flight: Mutex<HashMap<String, Invocation>>,
    kill: Notify,
    spawned_at: Mutex<Option<Instant>>,
    metrics: Mutex<Metrics>,
}

/// A running function.
#[derive(Clone)]
pub struct Function {
    pub spec: Arc<Spec>,
    tx: mpsc::Sender<Invocation>,
    shared: Arc<Shared>,
}

impl Function {
    /// Serves the Runtime API on a free loopback port and keeps one process
    /// of the binary running against it.
    pub async fn start(spec: Spec) -> anyhow::Result<Function> {
        let (tx, rx) = mpsc::channel(1024);
        let shared = Arc::new(Shared {
            queue: Mutex::new(rx),
            in_flight: Mutex::new(HashMap::new()),
            kill: Notify::new(),
            spawned_at: Mutex::new(None),
            metrics: Mutex::new(Metrics::default()),
        });
        let spec = Arc::new(spec);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let api = listener.local_addr()?.to_string();
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state((spec.clone(), shared.clone()));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        tokio::spawn(supervise(spec.clone(), shared.clone(), api));
        Ok(Function { spec, tx, shared })
    }

    /// A synchronous invocation (RequestResponse).
    pub async fn invoke(&self, payload: Value) -> Outcome {
        let request_id = uuid::Uuid::new_v4().to_string();
        self.invoke_with_id(request_id, payload).await
    }

    pub async fn invoke_with_id(&self, request_id: String, payload: Value) -> Outcome {
        let raw_path = payload["rawPath"].as_str().map(str::to_owned);
        let (reply, outcome) = oneshot::channel();
        let deadline_ms =
            chrono::Utc::now().timestamp_millis() + self.spec.timeout.as_millis() as i64;
        let invocation = Invocation {
            request_id: request_id.clone(),
            payload,
            deadline_ms,
            reply,
        };
        if self.tx.send(invocation).await.is_err() {
            return Err(InvokeError::Stopped);
        }
        {
            let mut m = self.shared.metrics.lock().await;
            m.invocations += 1;
            if let Some(path) = raw_path {
                if m.recent_paths.len() == 256 {
                    m.recent_paths.pop_front();
                }
                m.recent_paths.push_back(path);
            }
        }
        // The clock starts when the runtime takes the event, as on AWS; the
        // queue wait is bounded separately so a stuck function cannot hang
        // its callers forever.
        let result = match tokio::time::timeout(
            self.spec.timeout + Duration::from_secs(60),
            outcome,
        )
        .await
        {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(InvokeError::Stopped),
            Err(_) => {
                self.shared.in_flight.lock().await.remove(&request_id);
                self.shared.kill.notify_one();
                Err(InvokeError::Timeout(self.spec.timeout))
            }
        };
        if result.is_err() {
            self.shared.metrics.lock().await.errors += 1;
        }
        result
    }

    pub async fn metrics(&self) -> Metrics {
        self.shared.metrics.lock().await.clone()
    }

    /// Ends the function's process as a crash would; it is restarted.
    pub fn kill(&self) {
        self.shared.kill.notify_one();
    }
}

type St = State<(Arc<Spec>, Arc<Shared>)>;

async fn next(State((spec, shared)): St) -> Response {
    if let Some(spawned) = shared.spawned_at.lock().await.take() {
        shared.metrics.lock().await.init.push(spawned.elapsed());
    }
    let invocation = {
        let mut queue = shared.queue.lock().await;
        match queue.recv().await {
            Some(i) => i,
            // Shutting down: the process is about to be killed; an answer
            // without an event would only make it panic first.
            None => std::future::pending().await,
        }
    };
    let mut headers = HeaderMap::new();
    let h = |v: &str| HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static(""));
    headers.insert("lambda-runtime-aws-request-id", h(&invocation.request_id));
    headers.insert(
        "lambda-runtime-deadline-ms",
        h(&invocation.deadline_ms.to_string()),
    );
    headers.insert("lambda-runtime-invoked-function-arn", h(&spec.arn));
    headers.insert(
        "lambda-runtime-trace-id",
        h(&format!(
            "Root=1-{:08x}-{};Sampled=0",
            chrono::Utc::now().timestamp(),
            &invocation.request_id.replace('-', "")[..24]
        )),
    );
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    let body = invocation.payload.to_string();
    let id = invocation.request_id.clone();
    let timeout = spec.timeout;
    shared.in_flight.lock().await.insert(id.clone(), invocation);
    // The function's own clock: past the deadline the process is killed.
    let watch = shared.clone();
    tokio::spawn(async move {
        tokio::time::sleep(timeout).await;
        if let Some(i) = watch.in_flight.lock().await.remove(&id) {
            let _ = i.reply.send(Err(InvokeError::Timeout(timeout)));
            watch.kill.notify_one();
        }
    });
    (headers, body).into_response()
}

async fn response(State((_, shared)): St, Path(id): Path<String>, body: Bytes) -> StatusCode {
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

async fn error(State((_, shared)): St, Path(id): Path<String>, body: Bytes) -> StatusCode {
    match shared.in_flight.lock().await.remove(&id) {
        Some(i) => {
            let _ = i.reply.send(Err(function_error(&body)));
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

async fn init_error(State((spec, _)): St, body: Bytes) -> StatusCode {
    tracing::error!(target: "trail", function = %spec.name, error = %function_error(&body), "init failed");
    StatusCode::ACCEPTED
}

async fn supervise(spec: Arc<Spec>, shared: Arc<Shared>, api: String) {
    let mut backoff = Duration::from_millis(50);
    loop {
        *shared.spawned_at.lock().await = Some(Instant::now());
        let started = Instant::now();
        let mut cmd = tokio::process::Command::new(&spec.binary);
        cmd.env_clear()
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", &api)
            .env("AWS_LAMBDA_FUNCTION_NAME", &spec.physical_name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", spec.physical_name),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .kill_on_drop(true);
        if let Ok(path) = std::env::var("PATH") {
            cmd.env("PATH", path);
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(target: "trail", function = %spec.name, binary = %spec.binary.display(), error = %e, "cannot start");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        let status = tokio::select! {
            s = child.wait() => s.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
            () = shared.kill.notified() => {
                let _ = child.kill().await;
                "killed".to_owned()
            }
        };
        // Whatever it was working on failed with it.
        for (_, i) in shared.in_flight.lock().await.drain() {
            let _ = i.reply.send(Err(InvokeError::Crashed(status.clone())));
        }
        shared.metrics.lock().await.restarts += 1;
        tracing::warn!(target: "trail", function = %spec.name, %status, "process exited; restarting");
        // A process that dies at once is not restarted in a hot loop.
        backoff = if started.elapsed() > Duration::from_secs(5) {
            Duration::from_millis(50)
        } else {
            (backoff * 2).min(Duration::from_secs(5))
        };
        tokio::time::sleep(backoff).await;
    }
}
