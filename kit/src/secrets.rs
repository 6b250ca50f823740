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
#[derive(Clone)]
pub struct Source {
    name: String,
    read: Arc<SignedRead>,
}

/// A read from a JSON-protocol API (SSM's GetParameter, Secrets
/// Manager's GetSecretValue) as one signed call ([`crate::signed`]): the
/// SSM client alone cost the function that sends a campaign 0.81 MB of
/// its 4 MB (docs/deploying.md, "Artifact size"), for this one read.
struct SignedRead {
    signer: crate::signed::Signer,
    url: String,
    http: crate::outbound::Client,
    /// `X-Amz-Target`: the operation.
    target: &'static str,
    /// The request's body for a name.
    request: fn(&str) -> serde_json::Value,
    /// The value in a 200 answer.
    value: fn(&serde_json::Value) -> Option<&str>,
}

impl SignedRead {
    /// `id` names the endpoint variable (`AWS_ENDPOINT_URL_<ID>`), `name`
    /// the signing name and host prefix.
    fn new(
        conf: &aws_config::SdkConfig,
        (id, name): (&str, &'static str),
        target: &'static str,
        request: fn(&str) -> serde_json::Value,
        value: fn(&serde_json::Value) -> Option<&str>,
    ) -> Self {
        let signer = crate::signed::Signer::new(conf, name);
        let url = crate::signed::endpoint(conf, id).unwrap_or_else(|| signer.aws_endpoint());
        Self {
            signer,
            url: format!("{url}/"),
            http: crate::outbound::Client::for_aws(),
            target,
            request,
            value,
        }
    }

    /// The value named, `None` when the answer holds none.
    async fn read(&self, name: &str) -> Result<Option<String>, String> {
        let body = (self.request)(name).to_string();
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", self.target),
        ];
        let answer = self
            .signer
            .send(
                &self.http,
                "POST",
                &self.url,
                &headers,
                body.into_bytes(),
                aws_sigv4::http_request::SigningSettings::default(),
            )
            .await
            .map_err(|e| e.to_string())?;
        answered(answer.status, &answer.body, self.value)
    }
}

/// An answer's value, or the error AWS named.
fn answered(
    status: u16,
    body: &[u8],
    value: fn(&serde_json::Value) -> Option<&str>,
) -> Result<Option<String>, String> {
    let json: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("HTTP {status}: not JSON: {e}"))?;
    if status == 200 {
        return Ok(value(&json).map(str::to_owned));
    }
    // `__type` may carry its namespace: `com.amazonaws.ssm#ParameterNotFound`.
    let kind = json["__type"].as_str().unwrap_or_default();
    let kind = kind.rsplit('#').next().unwrap_or_default();
    let message = json["message"]
        .as_str()
        .or_else(|| json["Message"].as_str())
        .unwrap_or_default();
    Err(format!("HTTP {status}: {kind}: {message}"))
}

impl Source {
    /// An SSM parameter (a SecureString, decrypted), read with the
    /// configuration's credentials, region and endpoint.
    pub fn parameter(conf: &aws_config::SdkConfig, name: impl Into<String>) -> Self {
        let read = SignedRead::new(
            conf,
            ("SSM", "ssm"),
            "AmazonSSM.GetParameter",
            |name| serde_json::json!({ "Name": name, "WithDecryption": true }),
            |answer| answer["Parameter"]["Value"].as_str(),
        );
        Self {
            name: name.into(),
            read: Arc::new(read),
        }
    }

    /// A Secrets Manager secret's string, read likewise.
    pub fn secrets_manager(conf: &aws_config::SdkConfig, id: impl Into<String>) -> Self {
        let read = SignedRead::new(
            conf,
            ("SECRETS_MANAGER", "secretsmanager"),
            "secretsmanager.GetSecretValue",
            |id| serde_json::json!({ "SecretId": id }),
            |answer| answer["SecretString"].as_str(),
        );
        Self {
            name: id.into(),
            read: Arc::new(read),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    async fn fetch(&self) -> Result<String, SecretError> {
        let value = self
            .read
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
#[cfg(feature = "secrets-write")]
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
#[cfg(feature = "secrets-write")]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_gives_its_value_and_a_refusal_its_reason() {
        let parameter: fn(&serde_json::Value) -> Option<&str> =
            |a| a["Parameter"]["Value"].as_str();
        let answer =
            br#"{"Parameter":{"Name":"/k","Type":"SecureString","Value":"s3cr3t","Version":2}}"#;
        assert_eq!(answered(200, answer, parameter), Ok(Some("s3cr3t".into())));
        let refused = br#"{"__type":"com.amazonaws.ssm#ParameterNotFound","message":"no /k"}"#;
        assert_eq!(
            answered(400, refused, parameter),
            Err("HTTP 400: ParameterNotFound: no /k".into())
        );
        let secret: fn(&serde_json::Value) -> Option<&str> = |a| a["SecretString"].as_str();
        let refused = br#"{"__type":"ResourceNotFoundException","Message":"no such secret"}"#;
        assert_eq!(
            answered(400, refused, secret),
            Err("HTTP 400: ResourceNotFoundException: no such secret".into())
        );
        assert!(answered(200, b"not json", secret).is_err());
    }
}
