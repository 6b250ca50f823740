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
    #[error(transparent)]
    Write(#[from] kit::secrets::SecretError),
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
    Ok(kit::secrets::put_parameter(conf, name, value).await?)
}

/// A Secrets Manager secret: created, or given a new current version.
/// Returns the version id.
pub async fn put_secret(conf: &SdkConfig, name: &str, value: &str) -> Result<String, SecretsError> {
    Ok(kit::secrets::put_secret(conf, name, value).await?)
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
