//! Plain HTTP(S) calls to a third party through the SDK clients' own
//! connector ([`crate::transport`]), so no second HTTP/TLS stack enters a
//! function binary.

use std::time::Duration;

use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_types::body::SdkBody;

use crate::transport::{Connector, Roots};

/// As the SDK's default: a peer that takes longer to accept is down.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

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
    http: Connector,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Client {
    /// A client trusting the system's root certificates: for third parties.
    pub fn new() -> Self {
        Self::with(Roots::System)
    }

    /// A client for AWS endpoints called without an SDK client (a signed
    /// S3 request, Cognito's keys): it trusts AWS's roots alone, as the SDK
    /// clients do ([`crate::config::aws_https`]).
    pub fn for_aws() -> Self {
        Self::with(Roots::Aws)
    }

    fn with(roots: Roots) -> Self {
        Self {
            http: Connector::new(roots, Some(CONNECT_TIMEOUT), None),
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
            let _in_flight = crate::call_time::InFlight::enter();
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
