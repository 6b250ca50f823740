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
    read: Arc<Read>,
}

/// The two JSON-protocol APIs secrets live in.
#[derive(Clone, Copy, Debug)]
pub enum Api {
    Ssm,
    SecretsManager,
}

impl Api {
    /// The endpoint variable's id (`AWS_ENDPOINT_URL_<ID>`) and the
    /// signing name, which is also the host's prefix.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Api::Ssm => ("SSM", "ssm"),
            Api::SecretsManager => ("SECRETS_MANAGER", "secretsmanager"),
        }
    }
}

/// One of those APIs called as signed requests ([`crate::signed`]), reads
/// and writes alike: the SSM client alone cost the function that sends a
/// campaign 0.81 MB of its 4 MB (docs/deploying.md, "Artifact size"), for
/// one read, and the two clients were the longest crates of the test
/// command's build (52 CPU-seconds for SSM's), for four calls.
struct JsonApi {
    signer: crate::signed::Signer,
    url: String,
    http: crate::outbound::Client,
}

impl JsonApi {
    fn new(conf: &aws_config::SdkConfig, api: Api) -> Self {
        let (id, name) = api.names();
        let signer = crate::signed::Signer::new(conf, name);
        let url = crate::signed::endpoint(conf, id).unwrap_or_else(|| signer.aws_endpoint());
        Self {
            signer,
            url: format!("{url}/"),
            http: crate::outbound::Client::for_aws(),
        }
    }

    /// The operation `target` (`X-Amz-Target`) with `body`: the answer's
    /// JSON, or what AWS refused.
    async fn call(
        &self,
        target: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, Refused> {
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target),
        ];
        let answer = self
            .signer
            .send(
                &self.http,
                "POST",
                &self.url,
                &headers,
                body.to_string().into_bytes(),
                aws_sigv4::http_request::SigningSettings::default(),
            )
            .await
            .map_err(|e| Refused {
                status: 0,
                kind: "no answer".into(),
                message: e.to_string(),
            })?;
        answered(answer.status, &answer.body)
    }
}

/// An operation AWS refused: its status, its error kind
/// (`ParameterNotFound`) and message.
#[derive(Debug, PartialEq)]
struct Refused {
    status: u16,
    kind: String,
    message: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}: {}: {}", self.status, self.kind, self.message)
    }
}

/// An answer's JSON, or the error AWS named.
fn answered(status: u16, body: &[u8]) -> Result<serde_json::Value, Refused> {
    let json: serde_json::Value = serde_json::from_slice(body).map_err(|e| Refused {
        status,
        kind: "not JSON".into(),
        message: e.to_string(),
    })?;
    if status == 200 {
        return Ok(json);
    }
    // `__type` may carry its namespace: `com.amazonaws.ssm#ParameterNotFound`.
    let kind = json["__type"].as_str().unwrap_or_default();
    let kind = kind.rsplit('#').next().unwrap_or_default();
    let message = json["message"]
        .as_str()
        .or_else(|| json["Message"].as_str())
        .unwrap_or_default();
    Err(Refused {
        status,
        kind: kind.to_owned(),
        message: message.to_owned(),
    })
}

/// A read: the API, its operation, the request for a name and where the
/// value is in the answer.
struct Read {
    api: JsonApi,
    target: &'static str,
    request: fn(&str) -> serde_json::Value,
    value: fn(&serde_json::Value) -> Option<&str>,
}

impl Source {
    /// An SSM parameter (a SecureString, decrypted), read with the
    /// configuration's credentials, region and endpoint.
    pub fn parameter(conf: &aws_config::SdkConfig, name: impl Into<String>) -> Self {
        let read = Read {
            api: JsonApi::new(conf, Api::Ssm),
            target: "AmazonSSM.GetParameter",
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
            api: JsonApi::new(conf, Api::SecretsManager),
            target: "secretsmanager.GetSecretValue",
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
            .call(read.target, &(read.request)(&self.name))
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

/// Writes an SSM SecureString, overwriting it (a rotation); returns its
/// version. What an operator does once per account (CloudFormation cannot
/// create a SecureString), and the local cloud at each start.
#[cfg(feature = "secrets-write")]
pub async fn put_parameter(
    conf: &aws_config::SdkConfig,
    name: &str,
    value: &str,
) -> Result<i64, SecretError> {
    let request = serde_json::json!({
        "Name": name, "Value": value, "Type": "SecureString", "Overwrite": true,
    });
    let answer = JsonApi::new(conf, Api::Ssm)
        .call("AmazonSSM.PutParameter", &request)
        .await
        .map_err(|refused| write_error(name, refused.to_string()))?;
    answer["Version"]
        .as_i64()
        .ok_or_else(|| write_error(name, format!("no Version in the answer: {answer}")))
}

/// Writes a Secrets Manager secret: created, or given a new current
/// version if it exists. Returns the version id.
#[cfg(feature = "secrets-write")]
pub async fn put_secret(
    conf: &aws_config::SdkConfig,
    name: &str,
    value: &str,
) -> Result<String, SecretError> {
    let api = JsonApi::new(conf, Api::SecretsManager);
    // The new version's id: the SDKs make one up when the caller gives
    // none, and a raw request must carry its own.
    let token = uuid::Uuid::new_v4().to_string();
    let create = serde_json::json!({
        "Name": name, "SecretString": value, "ClientRequestToken": token,
    });
    let answer = match api.call("secretsmanager.CreateSecret", &create).await {
        Ok(answer) => answer,
        Err(refused) if refused.kind == "ResourceExistsException" => {
            let put = serde_json::json!({
                "SecretId": name, "SecretString": value, "ClientRequestToken": token,
            });
            api.call("secretsmanager.PutSecretValue", &put)
                .await
                .map_err(|refused| write_error(name, refused.to_string()))?
        }
        Err(refused) => return Err(write_error(name, refused.to_string())),
    };
    Ok(answer["VersionId"].as_str().unwrap_or(&token).to_owned())
}

#[cfg(feature = "secrets-write")]
fn write_error(name: &str, message: String) -> SecretError {
    SecretError::Write {
        name: name.to_owned(),
        message,
    }
}

/// One operation of `api`, signed with `conf`'s credentials: its answer's
/// JSON, or AWS's refusal as text. For the tools and tests that check
/// what they wrote (a parameter's type and version).
#[cfg(feature = "secrets-write")]
pub async fn call(
    conf: &aws_config::SdkConfig,
    api: Api,
    target: &str,
    body: &serde_json::Value,
) -> Result<serde_json::Value, String> {
    JsonApi::new(conf, api)
        .call(target, body)
        .await
        .map_err(|refused| refused.to_string())
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
    fn an_answer_gives_its_json_and_a_refusal_its_kind() {
        let answer =
            br#"{"Parameter":{"Name":"/k","Type":"SecureString","Value":"s3cr3t","Version":2}}"#;
        assert_eq!(
            answered(200, answer).unwrap()["Parameter"]["Value"],
            "s3cr3t"
        );
        let refused = br#"{"__type":"com.amazonaws.ssm#ParameterNotFound","message":"no /k"}"#;
        let refused = answered(400, refused).unwrap_err();
        assert_eq!(refused.kind, "ParameterNotFound");
        assert_eq!(refused.to_string(), "HTTP 400: ParameterNotFound: no /k");
        let exists = br#"{"__type":"ResourceExistsException","Message":"it exists"}"#;
        assert_eq!(
            answered(400, exists).unwrap_err().to_string(),
            "HTTP 400: ResourceExistsException: it exists"
        );
        assert_eq!(answered(200, b"not json").unwrap_err().kind, "not JSON");
    }
}
