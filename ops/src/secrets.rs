//! `ops secrets`: the secrets a stack reads by name, stored as an operator
//! does once per account (CloudFormation cannot create an SSM
//! SecureString) and again to rotate. The value comes from stdin, never
//! an argument, so it stays out of shell history and process lists, and
//! nothing here prints it.

use aws_config::SdkConfig;

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("the value read from stdin is empty")]
    Empty,
    #[error("writing {name}: {message}")]
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

/// An SSM SecureString, overwritten if it exists; returns its version.
pub async fn put_parameter(conf: &SdkConfig, name: &str, value: &str) -> Result<i64, SecretsError> {
    let out = aws_sdk_ssm::Client::new(conf)
        .put_parameter()
        .name(name)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .value(value)
        .overwrite(true)
        .send()
        .await
        .map_err(|e| SecretsError::Write {
            name: name.to_owned(),
            message: aws_sdk_ssm::error::DisplayErrorContext(e).to_string(),
        })?;
    Ok(out.version)
}

/// A Secrets Manager secret: created, or given a new current version.
/// Returns the version id.
pub async fn put_secret(conf: &SdkConfig, name: &str, value: &str) -> Result<String, SecretsError> {
    let client = aws_sdk_secretsmanager::Client::new(conf);
    let write = |e: String| SecretsError::Write {
        name: name.to_owned(),
        message: e,
    };
    let created = client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await;
    match created {
        Ok(out) => Ok(out.version_id.unwrap_or_default()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_exists_exception()) =>
        {
            let out = client
                .put_secret_value()
                .secret_id(name)
                .secret_string(value)
                .send()
                .await
                .map_err(|e| {
                    write(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())
                })?;
            Ok(out.version_id.unwrap_or_default())
        }
        Err(e) => Err(write(
            aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
        )),
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
