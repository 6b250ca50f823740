//! What the sandbox and its process generations share: the queue, the
//! invocations in flight, and where the running process is.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{Mutex, Notify, mpsc, oneshot, watch};

use crate::runtime::metrics::Metrics;
use crate::runtime::outcome::Outcome;

pub(super) struct Invocation {
    pub(super) request_id: String,
    /// Unique per attempt: Lambda's async retries keep the request id, so
    /// the id alone cannot tell an attempt's deadline from the next's.
    pub(super) serial: u64,
    /// `Lambda-Runtime-Trace-Id`: the hop's segment as the parent.
    pub(super) trace_header: String,
    pub(super) payload: Value,
    pub(super) deadline_ms: i64,
    pub(super) reply: oneshot::Sender<Outcome>,
}

/// What the next process is started from; a redeploy replaces it.
#[derive(Debug, Clone)]
pub(super) struct Launch {
    pub(super) binary: PathBuf,
    pub(super) env: Vec<(String, String)>,
}

pub(super) struct Shared {
    pub(super) queue: Mutex<mpsc::Receiver<Invocation>>,
    pub(super) in_flight: Mutex<HashMap<String, Invocation>>,
    pub(super) kill: Notify,
    pub(super) spawned_at: Mutex<Option<Instant>>,
    /// The running process's first invocation, until it is answered: its
    /// request id and when it was handed over (`None` once known).
    pub(super) first: Mutex<First>,
    pub(super) metrics: Mutex<Metrics>,
    pub(super) launch: Mutex<Launch>,
    /// The process generation that may take invocations; [`CLOSED`] while a
    /// swap drains. Generations only grow, so a smaller one is retired.
    pub(super) dispatching: watch::Sender<u64>,
    /// The generation of the process running now.
    pub(super) generation: watch::Sender<u64>,
    pub(super) swapping: Mutex<()>,
    /// The next exit is a swap's doing: restart at once, quietly.
    pub(super) retiring: std::sync::atomic::AtomicBool,
    /// The environment is stopped for good (its version left the alias):
    /// the next exit is its last.
    pub(super) ended: std::sync::atomic::AtomicBool,
}

pub(super) const CLOSED: u64 = 0;

/// Where a process is with its first invocation.
#[derive(Debug, Default)]
pub(super) enum First {
    /// Started, nothing handed over yet.
    #[default]
    Awaited,
    Running(String, Instant),
    Answered,
}

impl First {
    /// `id` is handed over: it is the first if none was before.
    pub(super) fn handed(&mut self, id: &str) {
        if matches!(self, First::Awaited) {
            *self = First::Running(id.to_owned(), Instant::now());
        }
    }

    /// `id` is answered: how long it took, if it was the first.
    pub(super) fn answered(&mut self, id: &str) -> Option<Duration> {
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
