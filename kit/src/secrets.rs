//! Secrets read at invoke time through a small TTL cache over one signed
//! call per read: a rotated value takes effect within the TTL, or at once after
//! [`Secret::refresh`] (a caller that is refused with the cached value
//! refetches once). Never in a template or an environment value: the
//! function's environment holds the secret's name only.
//!
//! AWS's Parameters and Secrets extension answers only during an
//! invocation and caches up to 300 s; Powertools caches 5 s by default.
//! The value never reaches a log: [`Value`]'s `Debug` is redacted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::signed::json_protocol::{JsonApi, SECRETS_MANAGER, SSM};

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("reading secret {name}: {message}")]
    Read { name: String, message: String },
    #[error("secret {0} has no value")]
    Empty(String),
}

/// Where a secret is read: an SSM parameter or a Secrets Manager secret.
#[derive(Clone)]
pub struct Source {
    name: String,
    read: Arc<Read>,
}

/// A read: the API, its operation, the request for a name and where the
/// value is in the answer.
struct Read {
    api: JsonApi,
    operation: &'static str,
    request: fn(&str) -> serde_json::Value,
    value: fn(&serde_json::Value) -> Option<&str>,
}

impl Source {
    /// An SSM parameter (a SecureString, decrypted), read with the
    /// configuration's credentials, region and endpoint.
    pub fn parameter(conf: &aws_config::SdkConfig, name: impl Into<String>) -> Self {
        let read = Read {
            api: JsonApi::new(conf, SSM),
            operation: "GetParameter",
            request: |name| serde_json::json!({ "Name": name, "WithDecryption": true }),
            value: |answer| answer["Parameter"]["Value"].as_str(),
        };
        Self {
            name: name.into(),
            read: Arc::new(read),
        }
    }

    /// A Secrets Manager secret's string, read likewise.
    pub fn secrets_manager(conf: &aws_config::SdkConfig, id: impl Into<String>) -> Self {
        let read = Read {
            api: JsonApi::new(conf, SECRETS_MANAGER),
            operation: "GetSecretValue",
            request: |id| serde_json::json!({ "SecretId": id }),
            value: |answer| answer["SecretString"].as_str(),
        };
        Self {
            name: id.into(),
            read: Arc::new(read),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    async fn fetch(&self) -> Result<String, SecretError> {
        let read = &self.read;
        let answer = read
            .api
            .call(read.operation, &(read.request)(&self.name))
            .await
            .map_err(|refused| SecretError::Read {
                name: self.name.clone(),
                message: refused.to_string(),
            })?;
        (read.value)(&answer)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| SecretError::Empty(self.name.clone()))
    }
}

/// A secret's value. Shown as `<redacted>`, so a stray `{:?}` logs nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct Value(String);

impl Value {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One secret, cached for `ttl`.
pub struct Secret {
    source: Source,
    ttl: Duration,
    cached: Mutex<Option<(Value, Instant)>>,
}

impl Secret {
    pub fn new(source: Source, ttl: Duration) -> Self {
        Self {
            source,
            ttl,
            cached: Mutex::new(None),
        }
    }

    pub fn name(&self) -> &str {
        self.source.name()
    }

    /// The cached value while fresh, else a new read.
    pub async fn get(&self) -> Result<Value, SecretError> {
        let mut cached = self.cached.lock().await;
        if let Some((value, at)) = cached.as_ref()
            && at.elapsed() < self.ttl
        {
            return Ok(value.clone());
        }
        let value = Value(self.source.fetch().await?);
        *cached = Some((value.clone(), Instant::now()));
        Ok(value)
    }

    /// A new read whatever the cache holds: the value was refused, so it
    /// may have been rotated. Logged (the name, never the value) and
    /// counted as `SecretRefetched`.
    pub async fn refresh(&self) -> Result<Value, SecretError> {
        let mut cached = self.cached.lock().await;
        let value = Value(self.source.fetch().await?);
        *cached = Some((value.clone(), Instant::now()));
        tracing::info!(secret = self.name(), "secret refetched after a refusal");
        crate::telemetry::count("SecretRefetched", 1);
        Ok(value)
    }
}
