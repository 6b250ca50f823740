//! How long an invocation waited on calls out: every SDK client a function
//! builds ([`crate::config::lambda`]) and every third-party call
//! ([`crate::outbound`]) counts the wall time with at least one call in
//! flight (request sent → response head). The invocation's own time, what
//! the function's code and the SDK's own work cost, is its duration less
//! that ([`crate::telemetry`]'s `OwnTime` and `CallTime`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

use crate::invocation::Invocation;

/// Held while one call is in flight, counted in the invocation that made
/// it; overlapping calls count once. A call outside any invocation counts
/// nowhere.
pub(crate) struct InFlight(Option<Arc<Invocation>>);

impl InFlight {
    pub(crate) fn enter() -> Self {
        Self::enter_in(Invocation::current())
    }

    fn enter_in(invocation: Option<Arc<Invocation>>) -> Self {
        if let Some(i) = &invocation {
            i.state().waiting.enter(Instant::now());
        }
        InFlight(invocation)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(i) = &self.0 {
            i.state().waiting.leave(Instant::now());
        }
    }
}

/// The running invocation's time spent waiting since the last call, which
/// starts a new count (a call still in flight counts up to now, and on
/// from now).
pub fn take() -> Duration {
    Invocation::current().map_or(Duration::ZERO, |i| i.state().waiting.take(Instant::now()))
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
        // Taken here, in the caller's task, whatever task polls the call.
        let invocation = Invocation::current();
        HttpConnectorFuture::new(async move {
            let _in_flight = InFlight::enter_in(invocation);
            call.await
        })
    }
}
