//! What one invocation owns while it runs: when it began, the metrics it
//! recorded, what its EMF document says about it and its waits on calls
//! out. A task-local, not a process global: under Lambda Managed Instances
//! one process runs many invocations at once (`AWS_LAMBDA_MAX_CONCURRENCY`),
//! and none may count, label or time another's work.
//!
//! Work a handler hands to a task of its own (`tokio::spawn`) is outside
//! its invocation: what it records goes straight to the process's
//! recorder, and its calls out are not counted as waits.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

tokio::task_local! {
    static CURRENT: Arc<Invocation>;
}

/// One invocation's state; [`Invocation::scope`] makes it current.
#[derive(Debug)]
pub struct Invocation {
    /// When it reached the function: an event's age is taken there, not
    /// after the handler's work.
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub request_id: String,
    state: Mutex<State>,
}

/// What an invocation gathers as it runs.
#[derive(Debug, Default)]
pub struct State {
    pub trace_id: String,
    /// The dimension its metrics go under (an HTTP route), so its
    /// `ColdStart` and timings land in the same document.
    pub labels: Vec<(&'static str, String)>,
    pub records: Vec<Record>,
    /// The detail-type of the event it consumed, a property of its document.
    pub event_type: Option<String>,
    pub waiting: Waiting,
}

/// A metric recorded by an invocation, put to the recorder when its
/// document is written.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Counter {
        name: &'static str,
        labels: Vec<(&'static str, String)>,
        n: u64,
    },
    Histogram {
        name: &'static str,
        labels: Vec<(&'static str, String)>,
        value: f64,
    },
}

impl Invocation {
    pub fn new(request_id: &str) -> Arc<Self> {
        Arc::new(Self {
            received_at: chrono::Utc::now(),
            request_id: request_id.to_owned(),
            state: Mutex::default(),
        })
    }

    /// The invocation the running task serves, if any.
    pub fn current() -> Option<Arc<Invocation>> {
        CURRENT.try_with(Arc::clone).ok()
    }

    /// Runs `work` with this invocation current.
    pub async fn scope<F: Future>(self: Arc<Self>, work: F) -> F::Output {
        CURRENT.scope(self, work).await
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere leaves the data as sound as it was.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Wall time with at least one call in flight: overlapping calls count once.
#[derive(Debug, Default)]
pub struct Waiting {
    in_flight: u32,
    since: Option<Instant>,
    total: Duration,
}

impl Waiting {
    pub fn enter(&mut self, now: Instant) {
        if self.in_flight == 0 {
            self.since = Some(now);
        }
        self.in_flight += 1;
    }

    pub fn leave(&mut self, now: Instant) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.in_flight == 0
            && let Some(since) = self.since.take()
        {
            self.total += now.saturating_duration_since(since);
        }
    }

    /// The time waited since the last take, which starts a new count (a
    /// call still in flight counts up to now, and on from now).
    pub fn take(&mut self, now: Instant) -> Duration {
        if let Some(since) = self.since.as_mut() {
            self.total += now.saturating_duration_since(*since);
            *since = now;
        }
        std::mem::take(&mut self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_calls_count_once_and_a_take_starts_a_new_count() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut w = Waiting::default();
        w.enter(at(0));
        w.enter(at(20));
        w.leave(at(40));
        w.leave(at(60));
        // 60 ms in flight, not 80 (the overlap counted twice) nor 90 (the
        // idle end).
        assert_eq!(w.take(at(90)), Duration::from_millis(60));
        assert_eq!(w.take(at(95)), Duration::ZERO);
        w.enter(at(100));
        assert_eq!(w.take(at(120)), Duration::from_millis(20));
        w.leave(at(130));
        assert_eq!(w.take(at(140)), Duration::from_millis(10));
    }

    #[tokio::test]
    async fn invocations_running_at_once_each_see_their_own() {
        let a = Invocation::new("a");
        let b = Invocation::new("b");
        let (gate_a, wait_a) = tokio::sync::oneshot::channel::<()>();
        let first = tokio::spawn(a.clone().scope(async move {
            Invocation::current().unwrap().state().event_type = Some("A".into());
            wait_a.await.unwrap();
            Invocation::current().unwrap().request_id.clone()
        }));
        let second = b.clone().scope(async {
            Invocation::current().unwrap().state().event_type = Some("B".into());
            gate_a.send(()).unwrap();
            Invocation::current().unwrap().request_id.clone()
        });
        assert_eq!(second.await, "b");
        assert_eq!(first.await.unwrap(), "a");
        assert_eq!(a.state().event_type.as_deref(), Some("A"));
        assert_eq!(b.state().event_type.as_deref(), Some("B"));
        assert!(Invocation::current().is_none(), "none outside a scope");
    }
}
