//! HTTP API calls counted by operation, at the one place every SDK client
//! sends through: the HTTP client of the SDK configuration. Counting there
//! rather than around each call site sees what AWS bills and throttles: each
//! real request, the SDK's retries included, and calls made inside helpers
//! that a call-site count would miss.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_types::config_bag::ConfigBag;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the SDK configuration has no HTTP client whose calls could be counted")]
    NoHttpClient,
}

/// The operation a request is for: its `x-amz-target` header (the JSON
/// protocols name the operation there: `AmazonSQS.ReceiveMessage`,
/// `AWSEvents.PutEvents`), else `METHOD path` for REST-style APIs. The
/// query is left out: it holds parameters, not the operation, and would
/// split one operation into many keys.
pub fn operation_key(target: Option<&str>, method: &str, uri: &str) -> String {
    match target.map(str::trim).filter(|t| !t.is_empty()) {
        Some(target) => target.to_owned(),
        None => format!("{method} {}", path_of(uri)),
    }
}

/// The path of an absolute or origin-form URI, without query or fragment.
fn path_of(uri: &str) -> &str {
    let uri = uri.split(['?', '#']).next().unwrap_or_default();
    let path = match uri.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => uri,
    };
    if path.is_empty() { "/" } else { path }
}

/// Calls by operation, as counted at one moment (or between two).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Tally(pub BTreeMap<String, u64>);

impl Tally {
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// What was counted after `before` was taken (operations with none
    /// left out).
    pub fn since(&self, before: &Tally) -> Tally {
        Tally(
            self.0
                .iter()
                .map(|(op, n)| (op.clone(), n - before.0.get(op).copied().unwrap_or(0)))
                .filter(|(_, n)| *n > 0)
                .collect(),
        )
    }
}

/// A counter shared by every client built from a configuration that
/// [`Calls::counting`] returned.
#[derive(Debug, Clone, Default)]
pub struct Calls(Arc<Mutex<BTreeMap<String, u64>>>);

impl Calls {
    /// `conf` with its HTTP client wrapped so that every request sent
    /// through it is counted here. Clients built from `conf` before this
    /// keep the unwrapped client and are not counted.
    pub fn counting(&self, conf: &SdkConfig) -> Result<SdkConfig, Error> {
        let inner = conf.http_client().ok_or(Error::NoHttpClient)?;
        Ok(conf.to_builder().http_client(self.wrap(inner)).build())
    }

    pub fn wrap(&self, inner: SharedHttpClient) -> SharedHttpClient {
        SharedHttpClient::new(CountingClient {
            inner,
            calls: self.clone(),
        })
    }

    pub fn record(&self, operation: String) {
        *self.lock().entry(operation).or_default() += 1;
    }

    pub fn snapshot(&self) -> Tally {
        Tally(self.lock().clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, u64>> {
        // A panic elsewhere cannot leave a half-done increment behind, so
        // the counts are still right after a poisoning.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Debug)]
struct CountingClient {
    inner: SharedHttpClient,
    calls: Calls,
}

// Everything but `http_connector` is forwarded so that wrapping changes
// nothing but the count (config validation, the user agent's metadata).
impl HttpClient for CountingClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(CountingConnector {
            inner: self.inner.http_connector(settings, components),
            calls: self.calls.clone(),
        })
    }

    fn validate_base_client_config(
        &self,
        runtime_components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner
            .validate_base_client_config(runtime_components, cfg)
    }

    fn validate_final_config(
        &self,
        runtime_components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner.validate_final_config(runtime_components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

#[derive(Debug)]
struct CountingConnector {
    inner: SharedHttpConnector,
    calls: Calls,
}

impl HttpConnector for CountingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        // Counted when sent, whatever the answer: a throttled or failed
        // request costs a call too.
        self.calls.record(operation_key(
            request.headers().get("x-amz-target"),
            request.method(),
            request.uri(),
        ));
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_header_names_the_operation() {
        assert_eq!(
            operation_key(
                Some("AmazonSQS.ReceiveMessage"),
                "POST",
                "http://127.0.0.1:5000/"
            ),
            "AmazonSQS.ReceiveMessage"
        );
        assert_eq!(
            operation_key(
                Some("AWSEvents.PutEvents"),
                "POST",
                "https://events.us-east-1.amazonaws.com/?x=1"
            ),
            "AWSEvents.PutEvents"
        );
    }

    #[test]
    fn without_a_target_the_method_and_path_do_and_the_query_is_dropped() {
        assert_eq!(
            operation_key(
                None,
                "POST",
                "http://127.0.0.1:9001/2015-03-31/functions/f/invocations?Qualifier=1"
            ),
            "POST /2015-03-31/functions/f/invocations"
        );
        assert_eq!(
            operation_key(None, "GET", "https://bucket.s3.amazonaws.com/key#frag"),
            "GET /key"
        );
        assert_eq!(
            operation_key(None, "GET", "/origin/form?list-type=2"),
            "GET /origin/form"
        );
    }

    #[test]
    fn a_root_or_empty_path_is_slash() {
        assert_eq!(
            operation_key(None, "POST", "http://127.0.0.1:5000"),
            "POST /"
        );
        assert_eq!(
            operation_key(None, "POST", "http://127.0.0.1:5000?Action=Foo"),
            "POST /"
        );
        assert_eq!(operation_key(Some("  "), "GET", ""), "GET /");
    }

    #[test]
    fn a_tally_since_an_earlier_one_holds_only_the_difference() {
        let calls = Calls::default();
        calls.record("AmazonSQS.SendMessageBatch".into());
        let before = calls.snapshot();
        calls.record("AmazonSQS.ReceiveMessage".into());
        calls.record("AmazonSQS.ReceiveMessage".into());
        let phase = calls.snapshot().since(&before);
        assert_eq!(phase.total(), 2);
        assert_eq!(
            phase.0,
            BTreeMap::from([("AmazonSQS.ReceiveMessage".to_owned(), 2)])
        );
    }

    /// Every request the connector sends is counted, before it is passed on.
    #[tokio::test]
    async fn the_connector_counts_each_request_it_passes_on() {
        use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

        #[derive(Debug)]
        struct Ok200;
        impl HttpConnector for Ok200 {
            fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
                HttpConnectorFuture::ready(Ok(HttpResponse::new(
                    200.try_into().expect("a status"),
                    aws_smithy_types::body::SdkBody::empty(),
                )))
            }
        }
        let calls = Calls::default();
        let connector = CountingConnector {
            inner: SharedHttpConnector::new(Ok200),
            calls: calls.clone(),
        };
        for target in ["AmazonSQS.ReceiveMessage", "AmazonSQS.ReceiveMessage", ""] {
            let mut request = HttpRequest::get("http://127.0.0.1:5000/queue?x=1").unwrap();
            if !target.is_empty() {
                request.headers_mut().insert("x-amz-target", target);
            }
            let answer = connector.call(request).await.unwrap();
            assert_eq!(answer.status().as_u16(), 200);
        }
        assert_eq!(
            calls.snapshot().0,
            BTreeMap::from([
                ("AmazonSQS.ReceiveMessage".to_owned(), 2),
                ("GET /queue".to_owned(), 1),
            ])
        );
    }
}
