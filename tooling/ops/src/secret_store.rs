//! The secrets a stack reads by name, stored as an operator does once per
//! account (CloudFormation cannot create an SSM SecureString) and again
//! to rotate: what `ops secrets` writes, and the local cloud's start too.
//! The value comes from stdin, never an argument, so it stays out of
//! shell history and process lists, and nothing here prints it.

use aws_config::SdkConfig;
use kit::signed::json_protocol::{JsonApi, SECRETS_MANAGER, SSM};

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("the value read from stdin is empty")]
    Empty,
    #[error("writing secret {name}: {message}")]
    Write { name: String, message: String },
}

/// The value as read from stdin: one trailing newline is not part of it.
pub fn value_of(stdin: &str) -> Result<&str, SecretsError> {
    let value = stdin
        .strip_suffix('\n')
        .map(|v| v.strip_suffix('\r').unwrap_or(v))
        .unwrap_or(stdin);
    if value.is_empty() {
        return Err(SecretsError::Empty);
    }
    Ok(value)
}

/// An SSM SecureString, overwritten if it exists (a rotation); returns its
/// version. Signed calls, as a function's reads are (`kit::secrets`).
pub async fn put_parameter(conf: &SdkConfig, name: &str, value: &str) -> Result<i64, SecretsError> {
    let request = serde_json::json!({
        "Name": name, "Value": value, "Type": "SecureString", "Overwrite": true,
    });
    let answer = JsonApi::new(conf, SSM)
        .call("PutParameter", &request)
        .await
        .map_err(|refused| write_error(name, refused.to_string()))?;
    answer["Version"]
        .as_i64()
        .ok_or_else(|| write_error(name, format!("no Version in the answer: {answer}")))
}

/// A Secrets Manager secret: created, or given a new current version.
/// Returns the version id.
pub async fn put_secret(conf: &SdkConfig, name: &str, value: &str) -> Result<String, SecretsError> {
    let api = JsonApi::new(conf, SECRETS_MANAGER);
    // The new version's id: the SDKs make one up when the caller gives
    // none, and a raw request must carry its own.
    let token = uuid::Uuid::new_v4().to_string();
    let create = serde_json::json!({
        "Name": name, "SecretString": value, "ClientRequestToken": token,
    });
    let answer = match api.call("CreateSecret", &create).await {
        Ok(answer) => answer,
        Err(refused) if refused.kind == "ResourceExistsException" => {
            let put = serde_json::json!({
                "SecretId": name, "SecretString": value, "ClientRequestToken": token,
            });
            api.call("PutSecretValue", &put)
                .await
                .map_err(|refused| write_error(name, refused.to_string()))?
        }
        Err(refused) => return Err(write_error(name, refused.to_string())),
    };
    Ok(answer["VersionId"].as_str().unwrap_or(&token).to_owned())
}

fn write_error(name: &str, message: String) -> SecretsError {
    SecretsError::Write {
        name: name.to_owned(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_is_stdin_without_its_last_newline() {
        assert_eq!(value_of("sk_live_1\n").unwrap(), "sk_live_1");
        assert_eq!(value_of("sk_live_1\r\n").unwrap(), "sk_live_1");
        assert_eq!(value_of("a b\n\n").unwrap(), "a b\n");
        assert!(matches!(value_of("\n"), Err(SecretsError::Empty)));
        assert!(matches!(value_of(""), Err(SecretsError::Empty)));
    }
}
