//! The HTTP client under every SDK client and third-party call: hyper's
//! HTTP/1.1 client with rustls on ring, as the SDK's [`HttpClient`].
//!
//! Why not the SDK's own (`aws-smithy-http-client`): it always builds
//! HTTP/2 in (`h2` and hyper's HTTP/2 half), and since cargo unifies a
//! crate's features across the build, the Lambda runtime's own client got
//! HTTP/2 through it too: 0.65 MB of every function for a protocol
//! no call here uses (docs/deploying.md, "Artifact size"). AWS's JSON and query
//! endpoints, S3 and the local cloud all speak HTTP/1.1.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::retries::ErrorKind;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;
use aws_smithy_types::body::SdkBody;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as Pool;
use hyper_util::client::legacy::connect::HttpConnector as Tcp;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The roots a client trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roots {
    /// The roots AWS endpoints chain to, compiled in
    /// ([`AWS_ROOTS`]): nothing to read at a cold start.
    Aws,
    /// The system's store: for third parties, and for a person's tools.
    System,
}

impl Roots {
    /// The store, with how many certificates it holds.
    pub fn store(self) -> rustls::RootCertStore {
        let mut store = rustls::RootCertStore::empty();
        match self {
            Roots::Aws => {
                let certs = CertificateDer::pem_slice_iter(AWS_ROOTS).flatten();
                store.add_parsable_certificates(certs);
            }
            Roots::System => {
                let found = rustls_native_certs::load_native_certs();
                if let Some(error) = found.errors.first() {
                    tracing::warn!(%error, "some system root certificates could not be read");
                }
                store.add_parsable_certificates(found.certs);
            }
        }
        store
    }
}

/// `aws-roots.pem`: Amazon Root CA 1-4 and the Starfield Services root
/// cross-signing them, every root AWS endpoints chain to
/// ([`crate::config::aws_https`] says why only these).
pub const AWS_ROOTS: &[u8] = include_bytes!("aws-roots.pem");

/// An SDK HTTP client (`SdkConfig::http_client`) trusting `roots`.
pub fn client(roots: Roots) -> SharedHttpClient {
    Client {
        roots,
        connectors: Mutex::default(),
    }
    .into_shared()
}

/// The SDK asks for a connector per attempt, with the client's timeouts:
/// one pool per pair of timeouts, so every SDK client built from one
/// configuration shares its connections.
#[derive(Debug)]
struct Client {
    roots: Roots,
    connectors: Mutex<Vec<(Timeouts, SharedHttpConnector)>>,
}

type Timeouts = (Option<Duration>, Option<Duration>);

impl HttpClient for Client {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self.connectors.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, connector)) = connectors.iter().find(|(k, _)| *k == key) {
            return connector.clone();
        }
        let connector = SharedHttpConnector::new(Connector::new(self.roots, key.0, key.1));
        connectors.push((key, connector.clone()));
        connector
    }
}

/// One connection pool: `http://` (the local cloud) and `https://`.
#[derive(Debug, Clone)]
pub struct Connector {
    pool: Pool<HttpsConnector<Tcp>, SdkBody>,
    read_timeout: Option<Duration>,
}

impl Connector {
    /// `connect_timeout` bounds the TCP connect; `read_timeout` the wait
    /// from sending a request to its response's head.
    pub fn new(
        roots: Roots,
        connect_timeout: Option<Duration>,
        read_timeout: Option<Duration>,
    ) -> Self {
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots.store())
        .with_no_client_auth();
        let mut tcp = Tcp::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(connect_timeout);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let pool = Pool::builder(hyper_util::rt::TokioExecutor::new())
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .build(https);
        Self { pool, read_timeout }
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let sent = self.pool.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let answer = match read_timeout {
                Some(limit) => tokio::time::timeout(limit, sent)
                    .await
                    .map_err(|elapsed| ConnectorError::timeout(elapsed.into()))?,
                None => sent.await,
            };
            let response = answer.map_err(classify)?;
            aws_smithy_runtime_api::http::Response::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// What the SDK's retry strategy needs to know of a failed exchange: a
/// refused or dropped connection (a pooled one the server closed while
/// Lambda had the process frozen, say) is I/O and retried; so is a
/// response cut short.
fn classify(err: hyper_util::client::legacy::Error) -> ConnectorError {
    let kind = kind_of(&err);
    let err: BoxError = err.into();
    match kind {
        Kind::Timeout => ConnectorError::timeout(err),
        Kind::Io => ConnectorError::io(err),
        Kind::User => ConnectorError::user(err),
        Kind::Cut => ConnectorError::other(err, Some(ErrorKind::TransientError)),
        Kind::Other => ConnectorError::other(err, None),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Timeout,
    Io,
    User,
    Cut,
    Other,
}

fn kind_of(err: &hyper_util::client::legacy::Error) -> Kind {
    if err.is_connect() {
        return Kind::Io;
    }
    match source::<hyper::Error>(err) {
        Some(e) if e.is_timeout() => Kind::Timeout,
        Some(e) if e.is_user() => Kind::User,
        Some(e) if e.is_closed() || e.is_canceled() => Kind::Io,
        Some(e) if e.is_incomplete_message() => Kind::Cut,
        _ if source::<std::io::Error>(err).is_some() => Kind::Io,
        _ => Kind::Other,
    }
}

fn source<'a, E: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    std::iter::successors(Some(err), |e| e.source()).find_map(|e| e.downcast_ref::<E>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aws_roots_are_five_certificates() {
        assert_eq!(Roots::Aws.store().len(), 5);
    }

    /// A refused connection is I/O (the SDK retries it), not "other".
    #[tokio::test]
    async fn a_refused_connection_is_io() {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        let connector = Connector::new(Roots::Aws, Some(Duration::from_secs(2)), None);
        let mut request = HttpRequest::new(SdkBody::empty());
        request
            .set_uri(format!("http://127.0.0.1:{port}/"))
            .unwrap();
        let err = connector.call(request).await.unwrap_err();
        assert!(err.is_io(), "{err:?}");
    }

    /// A server that takes the request and never answers is a timeout
    /// after the read timeout, not a hang.
    #[tokio::test]
    async fn a_silent_server_is_a_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = tokio::spawn(async move { listener.accept().await });
        let connector = Connector::new(Roots::Aws, None, Some(Duration::from_millis(200)));
        let mut request = HttpRequest::new(SdkBody::empty());
        request
            .set_uri(format!("http://127.0.0.1:{port}/"))
            .unwrap();
        // Without the read timeout the call would wait for ever.
        let ended = tokio::time::timeout(Duration::from_secs(30), connector.call(request)).await;
        let err = ended.expect("the read timeout ends the call").unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        held.abort();
    }
}
