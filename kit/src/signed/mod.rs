//! The project's only hand-written AWS calls: requests signed with
//! `aws-sigv4` (the SDK clients' own signer) and sent through
//! [`crate::outbound`]. Every other AWS call goes through its official SDK
//! client. A call is here only where that client's measured cost is out
//! of all proportion to the few calls made with it:
//!
//! | calls | instead of | the client's cost, measured |
//! |---|---|---|
//! | [`json_protocol`]: SSM's GetParameter and PutParameter, Secrets Manager's GetSecretValue and PutSecretValue, Cognito's user-pool calls for erasure and the tools, KMS and EventBridge calls for the local cloud's tools | the SSM, Secrets Manager, Cognito, KMS and EventBridge clients | the SSM client: 0.81 MB of the campaign sender's artifact, 52 CPU-seconds of the test command's build for four calls; the Cognito client: 37 CPU-seconds for seven |
//! | [`json_protocol`]: CodeDeploy's PutLifecycleEventHookExecutionStatus, a pre-traffic hook's one call per deployment | the CodeDeploy client | not measured: an SDK crate nothing else in the build compiles, for one call |
//! | [`cloudfront`]: CreateInvalidation | the CloudFront client | 52 CPU-seconds of the build for one call |
//!
//! For scale, S3 is called through its client, as code a team copies
//! should: in `todos` it costs 1.22 MB of `todos-api`'s release artifact
//! (3.90 → 5.12 MB), 0.33–0.42 MB of the two other functions that call
//! S3, and no init time.
//! None of these costs touches init: every function builds its clients on
//! its first invocation (`crate::config::Lazy`).
//!
//! What an SDK client adds and these calls do without: its retries (a
//! caller's error is retried by its trigger), and endpoint rules beyond
//! `https://<service>.<region>.amazonaws.com` (no FIPS or dual-stack
//! endpoints, no partition but `aws`).

pub mod cloudfront;
pub mod json_protocol;

use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};

#[derive(Debug, thiserror::Error)]
#[error("signing a request to {service}: {message}")]
pub struct SignError {
    service: String,
    message: String,
}

/// A signed call's failure: signing it, or sending it.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error(transparent)]
    Send(#[from] crate::outbound::OutboundError),
}

/// A signature: what to add to the URL's query (a presigned URL) and the
/// headers to send.
#[derive(Debug, Default)]
pub struct Signature {
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
}

/// Signs for one service with the configuration's credentials and region.
#[derive(Clone)]
pub struct Signer {
    service: &'static str,
    region: String,
    credentials: Option<SharedCredentialsProvider>,
}

impl Signer {
    /// `service` is the signing name (`s3`, `ssm`).
    pub fn new(conf: &SdkConfig, service: &'static str) -> Self {
        Self {
            service,
            region: conf.region().map_or("us-east-1", |r| r.as_ref()).to_owned(),
            credentials: conf.credentials_provider(),
        }
    }

    /// Signs in `region` whatever the configuration's: a global service
    /// (CloudFront, IAM) signs in us-east-1.
    pub fn in_region(mut self, region: &str) -> Self {
        region.clone_into(&mut self.region);
        self
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// The regional endpoint on AWS.
    pub fn aws_endpoint(&self) -> String {
        format!("https://{}.{}.amazonaws.com", self.service, self.region)
    }

    /// Signs `method url` with `headers` (`host` among them) and `body`
    /// (`None`: an unsigned payload), at `time`.
    pub async fn sign(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        time: SystemTime,
        settings: SigningSettings,
    ) -> Result<Signature, SignError> {
        let failed = |message: String| SignError {
            service: self.service.to_owned(),
            message,
        };
        let credentials = self
            .credentials
            .as_ref()
            .ok_or_else(|| failed("no credentials configured".into()))?
            .provide_credentials()
            .await
            .map_err(|e| failed(e.to_string()))?;
        let identity: aws_smithy_runtime_api::client::identity::Identity = credentials.into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service)
            .time(time)
            .settings(settings)
            .build()
            .map_err(|e| failed(e.to_string()))?
            .into();
        let body = body.map_or(SignableBody::UnsignedPayload, SignableBody::Bytes);
        let request = SignableRequest::new(method, url, headers.iter().copied(), body)
            .map_err(|e| failed(e.to_string()))?;
        let (instructions, _) = sign(request, &params)
            .map_err(|e| failed(e.to_string()))?
            .into_parts();
        let (headers, query) = instructions.into_parts();
        Ok(Signature {
            query: query
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.into_owned()))
                .collect(),
            headers: headers
                .iter()
                .map(|h| (h.name().to_owned(), h.value().to_owned()))
                .collect(),
        })
    }

    /// Sends `method url` with `headers` and `body` through `http`, signed
    /// now in its headers (`host` is signed too, and set by `http`).
    pub async fn send(
        &self,
        http: &crate::outbound::Client,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        settings: SigningSettings,
    ) -> Result<crate::outbound::Answer, CallError> {
        let host = host_of(url);
        let mut signed = vec![("host", host.as_str())];
        signed.extend_from_slice(headers);
        let signature = self
            .sign(
                method,
                url,
                &signed,
                Some(&body),
                SystemTime::now(),
                settings,
            )
            .await?;
        let mut sent = headers.to_vec();
        sent.extend(
            signature
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        Ok(http.send(method, url, &sent, body).await?)
    }
}

/// A service's base URL when one is configured: `AWS_ENDPOINT_URL_<ID>`
/// (`id` as the SDK names the variable: `S3`, `SSM`), else the
/// configuration's endpoint (the local cloud's). `None`: AWS's own.
pub fn endpoint(conf: &SdkConfig, id: &str) -> Option<String> {
    std::env::var(format!("AWS_ENDPOINT_URL_{id}"))
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| conf.endpoint_url().map(str::to_owned))
        .map(|url| url.trim_end_matches('/').to_owned())
}

/// A URL's host (and port), for the signed `host` header.
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or_default().to_owned()
}
