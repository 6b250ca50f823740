//! Secrets read at invoke time through a small TTL cache over the SDK
//! clients: a rotated value takes effect within the TTL, or at once after
//! [`Secret::refresh`] (a caller that is refused with the cached value
//! refetches once). Never in a template or an environment value: the
//! function's environment holds the secret's name only.
//!
//! AWS's Parameters and Secrets extension answers only during an
//! invocation and caches up to 300 s; Powertools caches 5 s by default.
//! The value never reaches a log: [`Value`]'s `Debug` is redacted.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("reading secret {name}: {message}")]
    Read { name: String, message: String },
    #[error("secret {0} has no value")]
    Empty(String),
    #[error("writing secret {name}: {message}")]
    Write { name: String, message: String },
}

/// Where a secret is read: an SSM parameter or a Secrets Manager secret.
/// Held as a trait object, so a function links only the client of the one
/// kind it builds (each is about 0.23 MB; README, "Artifact size").
#[derive(Clone)]
pub struct Source {
    name: String,
    store: Arc<dyn Store>,
}

type Read<'a> = Pin<Box<dyn Future<Output = Result<Option<String>, String>> + Send + 'a>>;

trait Store: Send + Sync {
    fn read<'a>(&'a self, name: &'a str) -> Read<'a>;
}

impl Store for aws_sdk_ssm::Client {
    fn read<'a>(&'a self, name: &'a str) -> Read<'a> {
        Box::pin(async move {
            let out = self
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| aws_sdk_ssm::error::DisplayErrorContext(e).to_string())?;
            Ok(out.parameter.and_then(|p| p.value))
        })
    }
}

impl Store for aws_sdk_secretsmanager::Client {
    fn read<'a>(&'a self, name: &'a str) -> Read<'a> {
        Box::pin(async move {
            let out = self
                .get_secret_value()
                .secret_id(name)
                .send()
                .await
                .map_err(|e| aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())?;
            Ok(out.secret_string)
        })
    }
}

impl Source {
    /// An SSM parameter (a SecureString, decrypted).
    pub fn parameter(client: aws_sdk_ssm::Client, name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            store: Arc::new(client),
        }
    }

    /// A Secrets Manager secret's string.
    pub fn secrets_manager(client: aws_sdk_secretsmanager::Client, id: impl Into<String>) -> Self {
        Self {
            name: id.into(),
            store: Arc::new(client),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    async fn fetch(&self) -> Result<String, SecretError> {
        let value = self
            .store
            .read(&self.name)
            .await
            .map_err(|message| SecretError::Read {
                name: self.name.clone(),
                message,
            })?;
        value
            .filter(|v| !v.is_empty())
            .ok_or_else(|| SecretError::Empty(self.name.clone()))
    }
}

/// Writes an SSM SecureString, overwriting it (a rotation); returns its
/// version. What an operator does once per account (CloudFormation cannot
/// create a SecureString), and the local cloud at each start.
pub async fn put_parameter(
    client: &aws_sdk_ssm::Client,
    name: &str,
    value: &str,
) -> Result<i64, SecretError> {
    let out = client
        .put_parameter()
        .name(name)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .value(value)
        .overwrite(true)
        .send()
        .await
        .map_err(|e| SecretError::Write {
            name: name.to_owned(),
            message: aws_sdk_ssm::error::DisplayErrorContext(e).to_string(),
        })?;
    Ok(out.version)
}

/// Writes a Secrets Manager secret: created, or given a new current
/// version if it exists. Returns the version id.
pub async fn put_secret(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
    value: &str,
) -> Result<String, SecretError> {
    let write = |e: String| SecretError::Write {
        name: name.to_owned(),
        message: e,
    };
    fn shown(e: impl std::error::Error) -> String {
        aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string()
    }
    let created = client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await;
    let version = match created {
        Ok(out) => out.version_id,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_exists_exception()) =>
        {
            let put = client
                .put_secret_value()
                .secret_id(name)
                .secret_string(value);
            put.send().await.map_err(|e| write(shown(e)))?.version_id
        }
        Err(e) => return Err(write(shown(e))),
    };
    Ok(version.unwrap_or_default())
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
