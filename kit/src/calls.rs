//! How long an invocation waited on calls out: every SDK client a function
//! builds ([`crate::config::lambda`]) and every third-party call
//! ([`crate::outbound`]) counts the wall time with at least one call in
//! flight (request sent → response head). The invocation's own time, what
//! the function's code and the SDK's own work cost, is its duration less
//! that ([`crate::telemetry`]'s `OwnTime` and `CallTime`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

#[derive(Debug, Default)]
struct Waiting {
    in_flight: u32,
    since: Option<Instant>,
    total: Duration,
}

impl Waiting {
    fn enter(&mut self, now: Instant) {
        if self.in_flight == 0 {
            self.since = Some(now);
        }
        self.in_flight += 1;
    }

    fn leave(&mut self, now: Instant) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.in_flight == 0
            && let Some(since) = self.since.take()
        {
            self.total += now.saturating_duration_since(since);
        }
    }

    fn take(&mut self, now: Instant) -> Duration {
        if let Some(since) = self.since.as_mut() {
            self.total += now.saturating_duration_since(*since);
            *since = now;
        }
        std::mem::take(&mut self.total)
    }
}

/// One process, one invocation at a time (Lambda's model), so one tally.
static WAITING: Mutex<Waiting> = Mutex::new(Waiting {
    in_flight: 0,
    since: None,
    total: Duration::ZERO,
});

fn tally() -> std::sync::MutexGuard<'static, Waiting> {
    WAITING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Held while one call is in flight; overlapping calls count once.
pub(crate) struct InFlight;

impl InFlight {
    pub(crate) fn enter() -> Self {
        tally().enter(Instant::now());
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        tally().leave(Instant::now());
    }
}

/// The time spent waiting since the last call, which starts a new count
/// (a call still in flight counts up to now, and on from now).
pub fn take() -> Duration {
    tally().take(Instant::now())
}

/// `client` with its calls counted.
pub fn counted(client: SharedHttpClient) -> SharedHttpClient {
    SharedHttpClient::new(Counted(client))
}

#[derive(Debug)]
struct Counted(SharedHttpClient);

impl HttpClient for Counted {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(CountedConnector(
            self.0.http_connector(settings, components),
        ))
    }
}

#[derive(Debug)]
struct CountedConnector(SharedHttpConnector);

impl HttpConnector for CountedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let call = self.0.call(request);
        HttpConnectorFuture::new(async move {
            let _in_flight = InFlight::enter();
            call.await
        })
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
}
