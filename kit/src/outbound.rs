//! Plain HTTP(S) calls to a third party through the SDK's own connector
//! (rustls on ring), so no second HTTP/TLS stack enters a function binary.

use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_types::body::SdkBody;

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("bad request to {url}: {message}")]
    Request { url: String, message: String },
    #[error("calling {url}: {message}")]
    Transport { url: String, message: String },
}

/// An answer: status and body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct Client {
    http: aws_smithy_http_client::Connector,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Client {
    /// A client trusting the system's root certificates: for third parties.
    pub fn new() -> Self {
        Self::with(aws_smithy_http_client::tls::TrustStore::default())
    }

    /// A client for AWS endpoints called without an SDK client (a signed
    /// S3 request): it trusts AWS's roots alone, as the SDK clients do
    /// ([`crate::config::aws_https`]).
    pub fn for_aws() -> Self {
        Self::with(
            aws_smithy_http_client::tls::TrustStore::empty()
                .with_native_roots(false)
                .with_pem_certificate(crate::config::AWS_ROOTS),
        )
    }

    fn with(roots: aws_smithy_http_client::tls::TrustStore) -> Self {
        use aws_smithy_http_client::tls;
        let builder = aws_smithy_http_client::Connector::builder().tls_provider(
            tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring),
        );
        let builder = match tls::TlsContext::builder().with_trust_store(roots).build() {
            Ok(context) => builder.tls_context(context),
            Err(_) => builder,
        };
        Self {
            http: builder.build(),
        }
    }

    /// One request; any status is an answer, only a failed exchange is an
    /// error.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Answer, OutboundError> {
        let bad = |message: String| OutboundError::Request {
            url: url.to_owned(),
            message,
        };
        let mut request = aws_smithy_runtime_api::http::Request::new(SdkBody::from(body));
        request.set_uri(url).map_err(|e| bad(e.to_string()))?;
        request.set_method(method).map_err(|e| bad(e.to_string()))?;
        for (name, value) in headers {
            request
                .headers_mut()
                .try_insert(name.to_string(), value.to_string())
                .map_err(|e| bad(e.to_string()))?;
        }
        let transport = |message: String| OutboundError::Transport {
            url: url.to_owned(),
            message,
        };
        let response = {
            let _in_flight = crate::calls::InFlight::enter();
            self.http
                .call(request)
                .await
                .map_err(|e| transport(format!("{e:?}")))?
        };
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let body = aws_smithy_types::byte_stream::ByteStream::new(response.into_body())
            .collect()
            .await
            .map_err(|e| transport(e.to_string()))?
            .into_bytes()
            .to_vec();
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}
