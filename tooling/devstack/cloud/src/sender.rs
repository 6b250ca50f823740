//! The third-party email sender, played locally for the stack that talks
//! to one: the stack whose template has the parameters `SenderUrl`,
//! `ApiKeyParameterName` and `SigningSecretName` (campaigns). Its
//! development secrets are made per start and seeded where the functions
//! read them: the API key as an SSM SecureString, the signing secret in
//! Secrets Manager, as an operator does with `ops secrets put`.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use devstack_sender::{Options as SandboxOptions, Sandbox};
use serde_json::Value;

/// What a stack's template says about its sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub stack: String,
    pub api_key_parameter: String,
    pub signing_secret: String,
}

/// The stack that talks to a sender, with its secrets' names (the
/// parameters' values, overrides applied).
pub fn wanted(stack: &str, template: &Value) -> Option<Wanted> {
    let default = |name: &str| {
        template["Parameters"][name]["Default"]
            .as_str()
            .map(str::to_owned)
    };
    default("SenderUrl")?;
    Some(Wanted {
        stack: stack.to_owned(),
        api_key_parameter: default("ApiKeyParameterName")?,
        signing_secret: default("SigningSecretName")?,
    })
}

/// The stand-in, with development secrets of its own: random per start,
/// so nothing real is ever in the repository or the environment. Returns
/// it with its signing secret.
pub async fn start(listener: tokio::net::TcpListener) -> Result<(Sandbox, String)> {
    let signing_secret = format!("whsec_local_{}", uuid::Uuid::new_v4().simple());
    let options = SandboxOptions::new(
        format!("sk_local_{}", uuid::Uuid::new_v4().simple()),
        signing_secret.clone(),
    );
    Ok((Sandbox::start(listener, options).await?, signing_secret))
}

/// Puts the sender's secrets where the stack's functions read them.
pub async fn seed(
    conf: &SdkConfig,
    wanted: &Wanted,
    api_key: &str,
    signing_secret: &str,
) -> Result<()> {
    put_api_key(conf, &wanted.api_key_parameter, api_key).await?;
    ops::secret_store::put_secret(conf, &wanted.signing_secret, signing_secret).await?;
    tracing::info!(target: "trail", stack = %wanted.stack, parameter = %wanted.api_key_parameter, secret = %wanted.signing_secret, "sender secrets seeded");
    Ok(())
}

/// Writes the API key (a rotation overwrites it).
pub async fn put_api_key(conf: &SdkConfig, parameter: &str, api_key: &str) -> Result<()> {
    ops::secret_store::put_parameter(conf, parameter, api_key).await?;
    Ok(())
}

/// Rotates the sender's API key as an operator would: a new key at the
/// sender (the old one is refused from then on), then the parameter
/// overwritten. Functions holding the old key get a 401, read the
/// parameter again and carry on.
pub async fn rotate(endpoints: &devstack_api::Endpoints, parameter: &str) -> Result<()> {
    #[derive(serde::Deserialize)]
    struct Rotated {
        api_key: String,
    }
    let url = format!("{}/_sandbox/api-key/rotate", endpoints.sender_url);
    let rotated: Rotated = reqwest::Client::new()
        .post(&url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("rotating the key at {url}"))?
        .json()
        .await?;
    // The parameter is the campaigns stack's, in its account.
    let conf = ops::targets::administrator(endpoints, "campaigns").await;
    put_api_key(&conf, parameter, &rotated.api_key).await
}

/// The webhook's address on the local gateway: the stack's one public
/// `POST` route (the sender holds no Cognito token).
pub fn webhook_url(api_base_url: &str, plan: &devstack_template::adapt::Plan) -> Option<String> {
    let route = plan
        .routes
        .iter()
        .find(|r| r.public && r.route_key.starts_with("POST "))?;
    let path = route.route_key.split_once(' ')?.1;
    Some(format!("{}{path}", api_base_url.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_stack_wants_a_sender_by_its_parameters() {
        let t = json!({"Parameters": {
            "SenderUrl": {"Default": "https://x"},
            "ApiKeyParameterName": {"Default": "/c/key"},
            "SigningSecretName": {"Default": "c/sig"}}});
        let w = wanted("campaigns", &t).unwrap();
        assert_eq!(
            (w.api_key_parameter.as_str(), w.signing_secret.as_str()),
            ("/c/key", "c/sig")
        );
        assert_eq!(wanted("users", &json!({"Parameters": {}})), None);
    }
}
