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
    aws_config::load_from_env().await
}
