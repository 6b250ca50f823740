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

mod process;
mod runtime_api;
mod shared;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::{Mutex, Notify, mpsc, oneshot, watch};

use crate::runtime::metrics::Metrics;
use crate::runtime::outcome::{InvokeError, Outcome};
use crate::spec::Spec;

use process::supervise;
use shared::{CLOSED, First, Invocation, Launch, Shared};

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
