//! One execution environment: the real binary runs as a child process with
//! `AWS_LAMBDA_RUNTIME_API` pointing here, exactly as on AWS. One
//! invocation at a time (or, under Lambda Managed Instances, as many as
//! `AWS_LAMBDA_MAX_CONCURRENCY` says: each `next` takes one), restarted
//! when it dies; a run past its timeout kills it, and with it only what
//! that process was running.
//!
//! Every process gets a Runtime API listener of its own, so an answer can
//! always be told apart from a retired process's: a redeploy
//! ([`Sandbox::swap`]) closes the gate, lets the running invocation finish,
//! then replaces the process, and what arrived meanwhile waits in the
//! queue for the new one.

use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{Mutex, Notify, mpsc, oneshot, watch};

use super::{InvokeError, Metrics, Outcome, Spec};

struct Invocation {
    request_id: String,
    /// Unique per attempt: Lambda's async retries keep the request id, so
    /// the id alone cannot tell an attempt's deadline from the next's.
    serial: u64,
    /// `Lambda-Runtime-Trace-Id`: the hop's segment as the parent.
    trace_header: String,
    payload: Value,
    deadline_ms: i64,
    reply: oneshot::Sender<Outcome>,
}

/// What the next process is started from; a redeploy replaces it.
#[derive(Debug, Clone)]
struct Launch {
    binary: PathBuf,
    env: Vec<(String, String)>,
}

struct Shared {
    queue: Mutex<mpsc::Receiver<Invocation>>,
    in_flight: Mutex<HashMap<String, Invocation>>,
    kill: Notify,
    spawned_at: Mutex<Option<Instant>>,
    /// The running process's first invocation, until it is answered: its
    /// request id and when it was handed over (`None` once known).
    first: Mutex<First>,
    metrics: Mutex<Metrics>,
    launch: Mutex<Launch>,
    /// The process generation that may take invocations; [`CLOSED`] while a
    /// swap drains. Generations only grow, so a smaller one is retired.
    dispatching: watch::Sender<u64>,
    /// The generation of the process running now.
    generation: watch::Sender<u64>,
    swapping: Mutex<()>,
    /// The next exit is a swap's doing: restart at once, quietly.
    retiring: std::sync::atomic::AtomicBool,
    /// The environment is stopped for good (its version left the alias):
    /// the next exit is its last.
    ended: std::sync::atomic::AtomicBool,
}

const CLOSED: u64 = 0;

/// Where a process is with its first invocation.
#[derive(Debug, Default)]
enum First {
    /// Started, nothing handed over yet.
    #[default]
    Awaited,
    Running(String, Instant),
    Answered,
}

impl First {
    /// `id` is handed over: it is the first if none was before.
    fn handed(&mut self, id: &str) {
        if matches!(self, First::Awaited) {
            *self = First::Running(id.to_owned(), Instant::now());
        }
    }

    /// `id` is answered: how long it took, if it was the first.
    fn answered(&mut self, id: &str) -> Option<Duration> {
        match self {
            First::Running(first, at) if first == id => {
                let took = at.elapsed();
                *self = First::Answered;
                Some(took)
            }
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SwapError {
    /// Queued invocations stay queued: the supervisor keeps trying the new
    /// binary, and a fixed redeploy replaces it again.
    #[error("{function}: the new process from {} did not start within 30 s", binary.display())]
    NotStarted { function: String, binary: PathBuf },
    /// The new code could not be kept as the version's own.
    #[error("{0}: the new code could not be kept for its version: {1}")]
    NotPublished(String, String),
}

/// What a swap did, for the deploy report.
#[derive(Debug, Clone, Serialize)]
pub struct Swapped {
    pub function: String,
    pub binary: PathBuf,
    /// Waiting for the invocation in flight to finish.
    pub drained_ms: u64,
    /// Gate closed → new process asking for work.
    pub total_ms: u64,
    /// Invocations queued for the new process when it took over.
    pub waiting: usize,
}

/// One execution environment: a process of the function's binary and
/// the Runtime API it asks for work.
#[derive(Clone)]
pub(crate) struct Sandbox {
    pub spec: Arc<Spec>,
    tx: mpsc::Sender<Invocation>,
    shared: Arc<Shared>,
}

impl Sandbox {
    /// Serves the Runtime API on a free loopback port and keeps one process
    /// of the binary running against it.
    pub(crate) async fn start(spec: Spec) -> anyhow::Result<Sandbox> {
        let (tx, rx) = mpsc::channel(1024);
        let shared = Arc::new(Shared {
            queue: Mutex::new(rx),
            in_flight: Mutex::new(HashMap::new()),
            kill: Notify::new(),
            spawned_at: Mutex::new(None),
            first: Mutex::new(First::Answered),
            metrics: Mutex::new(Metrics::default()),
            launch: Mutex::new(Launch {
                binary: spec.binary.clone(),
                env: spec.env.clone(),
            }),
            dispatching: watch::Sender::new(CLOSED),
            generation: watch::Sender::new(CLOSED),
            swapping: Mutex::new(()),
            retiring: std::sync::atomic::AtomicBool::new(false),
            ended: std::sync::atomic::AtomicBool::new(false),
        });
        let spec = Arc::new(spec);
        // Bind the first listener here so a bad address fails the start.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        tokio::spawn(supervise(spec.clone(), shared.clone(), listener));
        Ok(Sandbox { spec, tx, shared })
    }

    /// Replaces the function's process with one of `binary` and `env`,
    /// losing no invocation: the gate closes so the old process takes no new
    /// work, the invocation in flight finishes (or times out, as on AWS),
    /// the old process ends, and the new one takes what queued up meanwhile.
    pub(crate) async fn swap(
        &self,
        binary: PathBuf,
        env: Vec<(String, String)>,
    ) -> Result<Swapped, SwapError> {
        let _one_at_a_time = self.shared.swapping.lock().await;
        let started = Instant::now();
        let before = *self.shared.generation.borrow();
        *self.shared.launch.lock().await = Launch {
            binary: binary.clone(),
            env,
        };
        self.shared.dispatching.send_replace(CLOSED);
        let deadline = started + self.spec.timeout + Duration::from_secs(5);
        while !self.shared.in_flight.lock().await.is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let drained_ms = started.elapsed().as_millis() as u64;
        let waiting = self.tx.max_capacity() - self.tx.capacity();
        // A crash during the drain already restarted it on the new launch.
        if *self.shared.generation.borrow() == before {
            self.shared
                .retiring
                .store(true, std::sync::atomic::Ordering::SeqCst);
            self.shared.kill.notify_one();
        }
        let mut generation = self.shared.generation.subscribe();
        let started_new = tokio::time::timeout(
            Duration::from_secs(30),
            generation.wait_for(|g| *g > before),
        )
        .await;
        if !matches!(started_new, Ok(Ok(_))) {
            return Err(SwapError::NotStarted {
                function: self.spec.name.clone(),
                binary,
            });
        }
        Ok(Swapped {
            function: self.spec.name.clone(),
            binary,
            drained_ms,
            total_ms: started.elapsed().as_millis() as u64,
            waiting,
        })
    }

    pub(crate) async fn invoke_with_header(
        &self,
        request_id: String,
        payload: Value,
        trace_header: String,
    ) -> Outcome {
        let raw_path = payload["rawPath"].as_str().map(str::to_owned);
        let (reply, outcome) = oneshot::channel();
        let deadline_ms =
            chrono::Utc::now().timestamp_millis() + self.spec.timeout.as_millis() as i64;
        static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let invocation = Invocation {
            serial: SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            request_id: request_id.clone(),
            trace_header,
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
        let mut m = self.shared.metrics.lock().await;
        m.completed += 1;
        if result.is_err() {
            m.errors += 1;
        }
        drop(m);
        result
    }

    pub(crate) async fn metrics(&self) -> Metrics {
        self.shared.metrics.lock().await.clone()
    }

    /// Ends the function's process as a crash would; it is restarted.
    pub(crate) fn kill(&self) {
        self.shared.kill.notify_one();
    }

    /// Ends the environment for good: its process takes nothing more and
    /// is not restarted. The caller has let what it ran finish.
    pub(crate) fn stop(&self) {
        self.shared
            .ended
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.shared.dispatching.send_replace(CLOSED);
        self.shared.kill.notify_one();
    }
}

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

/// A function's output, line by line, to the recorder: its log, its
/// metrics, and this process's output when the cloud echoes.
async fn relay(
    from: impl tokio::io::AsyncRead + Unpin,
    recorder: Arc<crate::recorder::Recorder>,
    function: String,
    stderr: bool,
) {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(from).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        recorder.function_line(&function, &line, stderr);
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

fn runtime_api(spec: Arc<Spec>, shared: Arc<Shared>, generation: u64) -> Router {
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

async fn supervise(spec: Arc<Spec>, shared: Arc<Shared>, first: tokio::net::TcpListener) {
    let mut backoff = Duration::from_millis(50);
    let mut listener = Some(first);
    let mut generation = CLOSED;
    loop {
        let listener = match listener.take() {
            Some(l) => l,
            None => match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(target: "trail", function = %spec.name, error = %e, "no port for the Runtime API");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        let api = match listener.local_addr() {
            Ok(a) => a.to_string(),
            Err(_) => continue,
        };
        generation += 1;
        let server = tokio::spawn({
            let app = runtime_api(spec.clone(), shared.clone(), generation);
            async move {
                let _ = axum::serve(listener, app).await;
            }
        });
        let started = Instant::now();
        let Some(status) = run_process(&spec, &shared, &api, generation).await else {
            server.abort();
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        };
        // Retire the generation before anything else can be handed to it.
        shared.dispatching.send_replace(CLOSED);
        server.abort();
        // Whatever it was working on failed with it.
        for (_, i) in shared.in_flight.lock().await.drain() {
            let _ = i.reply.send(Err(InvokeError::Crashed(status.clone())));
        }
        // It never asked for work: its init failed. Lambda answers the
        // invocations waiting for it at once, as errors, and tries init
        // again for the next one; here they would wait out the timeout
        // while the restarts back off, and no alarm would see them.
        let never_asked = shared.spawned_at.lock().await.take().is_some();
        if never_asked && status != KILLED {
            failed_init(&spec, &shared, &status).await;
        }
        if shared.ended.load(std::sync::atomic::Ordering::SeqCst) {
            tracing::info!(target: "trail", function = %spec.name, "environment stopped: its version left the alias");
            return;
        }
        if shared
            .retiring
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            let next = shared.launch.lock().await.binary.display().to_string();
            tracing::info!(target: "trail", function = %spec.name, binary = %next, "swapping the process");
            continue;
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

/// How a process the local cloud ended (a kill, a swap, a stop) ended.
const KILLED: &str = "killed";

/// Fails every invocation waiting for an environment whose init failed,
/// with Lambda's `Runtime.ExitError`.
async fn failed_init(spec: &Spec, shared: &Shared, status: &str) {
    let mut queue = shared.queue.lock().await;
    let mut failed = 0;
    while let Ok(i) = queue.try_recv() {
        let _ = i
            .reply
            .send(Err(InvokeError::Crashed(format!("init: {status}"))));
        failed += 1;
    }
    tracing::error!(target: "trail", function = %spec.name, %status, failed, "init failed: the waiting invocations failed");
}

/// The process is killed when the local cloud ends, however it ends: a
/// test binary exits without dropping its cloud, and a function in
/// `lambda_runtime`'s concurrent mode retries a refused `/next` at once,
/// forever (the classic loop returns, and its process ends). Three such
/// orphans were found spinning at half a core each.
#[cfg(target_os = "linux")]
fn die_with_the_cloud(cmd: &mut tokio::process::Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: between fork and exec the closure calls only prctl, getppid
    // and _exit, which are async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            // Sent when the thread that forked ends: tokio's workers live
            // as long as the cloud's runtime, and spawn from its tasks.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The cloud ended before the line above.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_the_cloud(_: &mut tokio::process::Command) {}

/// Starts one process of the function against the Runtime API at `api`
/// and runs it until it exits or is killed: how it ended, or `None` when
/// it could not start.
async fn run_process(spec: &Spec, shared: &Shared, api: &str, generation: u64) -> Option<String> {
    let launch = shared.launch.lock().await.clone();
    *shared.spawned_at.lock().await = Some(Instant::now());
    *shared.first.lock().await = First::Awaited;
    let mut cmd = tokio::process::Command::new(&launch.binary);
    // The version the local cloud started is unqualified; a version a
    // gradual deployment staged says its number in `launch.env`.
    cmd.env_clear()
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .envs(launch.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("AWS_LAMBDA_FUNCTION_NAME", &spec.physical_name)
        // What Lambda's OS-only runtimes start the process with: a
        // service's one binary runs the function its Handler names.
        .env("_HANDLER", &spec.configuration.handler)
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            spec.configuration.memory_size.to_string(),
        )
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", spec.physical_name),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .kill_on_drop(true);
    die_with_the_cloud(&mut cmd);
    // Lambda Managed Instances: the runtime polls for this many at once
    // (`lambda_runtime::run_concurrent`).
    if spec.per_environment() > 1 {
        cmd.env(
            "AWS_LAMBDA_MAX_CONCURRENCY",
            spec.per_environment().to_string(),
        );
    }
    if spec.recorder.is_some() {
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
    }
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(target: "trail", function = %spec.name, binary = %launch.binary.display(), error = %e, "cannot start");
            return None;
        }
    };
    shared.metrics.lock().await.pid = child.id();
    if let Some(recorder) = &spec.recorder {
        if let Some(pid) = child.id() {
            recorder.process(&devstack_api::telemetry::ProcessStarted {
                function: spec.name.clone(),
                pid,
                at_ms: devstack_api::telemetry::now_ms(),
            });
        }
        if let Some(out) = child.stdout.take() {
            tokio::spawn(relay(out, recorder.clone(), spec.name.clone(), false));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(relay(err, recorder.clone(), spec.name.clone(), true));
        }
    }
    shared.generation.send_replace(generation);
    shared.dispatching.send_replace(generation);
    Some(tokio::select! {
        s = child.wait() => s.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
        () = shared.kill.notified() => {
            let _ = child.kill().await;
            KILLED.to_owned()
        }
    })
}
