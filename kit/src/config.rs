//! Configuration read once per process, failing fast with the variable's name.

use aws_config::SdkConfig;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {message}")]
    Invalid { name: &'static str, message: String },
}

/// A required environment variable.
pub fn var(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or(ConfigError::Missing(name))
}

/// An optional numeric variable with a default.
pub fn number(name: &'static str, default: usize) -> Result<usize, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => {
            v.parse()
                .map_err(|e: std::num::ParseIntError| ConfigError::Invalid {
                    name,
                    message: e.to_string(),
                })
        }
        _ => Ok(default),
    }
}

/// The SDK configuration: region, credentials and endpoint come from the
/// standard chain, so `AWS_ENDPOINT_URL` points every client at the
/// emulator and its absence means real AWS.
pub async fn aws() -> SdkConfig {
    aws_config::from_env().http_client(https()).load().await
}

/// The HTTPS client every SDK client here uses: rustls with ring. The
/// SDK's default (aws-lc) adds about a megabyte to each function and a C
/// library to every build; TLS to AWS endpoints needs neither.
pub fn https() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls;
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// Clients built on first use rather than before the runtime loop: loading
/// the SDK configuration reads the system's root certificates, which is
/// most of a cold start's init time, and a function's first invocation can
/// pay it instead. Configuration values are still read (and checked) at
/// start, so a missing variable fails fast.
pub struct Lazy<T> {
    cell: tokio::sync::OnceCell<T>,
    make: Box<dyn Fn(&SdkConfig) -> T + Send + Sync>,
}

impl<T> Lazy<T> {
    pub fn new(make: impl Fn(&SdkConfig) -> T + Send + Sync + 'static) -> Self {
        Self {
            cell: tokio::sync::OnceCell::new(),
            make: Box::new(make),
        }
    }

    pub async fn get(&self) -> &T {
        self.cell
            .get_or_init(|| async { (self.make)(&aws().await) })
            .await
    }
}
