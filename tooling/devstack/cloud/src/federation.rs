//! Sign-in with an outside identity provider, played locally: the
//! platform's OIDC provider is the stand-in (`devstack-idp`), as the
//! email sender is for campaigns. The platform deploys with fixed
//! parameters (the provider's issuer a placeholder, so the kept state is
//! the same for every cloud); the stand-in runs on a port of its own with
//! a client secret made per start, seeded in Secrets Manager under the
//! name the template reads, and the local Cognito front plays managed
//! login against it.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use devstack_template::adapt::ManagedLogin;
use serde_json::Value;

use crate::cognito::federated::Provider;
use crate::cognito::hosted::Login;

/// The issuer the platform deploys with; the stand-in's own is used.
const ISSUER_PLACEHOLDER: &str = "http://idp.devstack.invalid";
const CLIENT_ID: &str = "devstack-user-pool";
const SECRET_NAME: &str = "devstack/federation/client-secret";
const DOMAIN_PREFIX: &str = "devstack";

/// The platform's parameters that turn federated sign-in on.
pub fn parameters() -> Vec<(String, String)> {
    [
        ("FederatedIssuer", ISSUER_PLACEHOLDER),
        ("FederatedClientId", CLIENT_ID),
        ("FederatedClientSecretName", SECRET_NAME),
        ("AuthDomainPrefix", DOMAIN_PREFIX),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The stand-in provider, running, and the pool's managed login.
pub struct Federation {
    pub idp: devstack_idp::Provider,
    login: ManagedLogin,
}

/// The platform template's managed login, when it has a domain and a
/// provider: its stand-in started, its secret where the template says.
pub async fn start(
    conf: &SdkConfig,
    platform: &Value,
    listener: tokio::net::TcpListener,
) -> Result<Option<Federation>> {
    let (_, plan) = devstack_template::adapt::adapt(repo::PLATFORM, platform)?;
    let Some(login) = plan.user_pools.into_iter().next().map(|p| p.managed_login) else {
        return Ok(None);
    };
    let Some(provider) = login.providers.first().filter(|_| login.domain.is_some()) else {
        return Ok(None);
    };
    let secret = format!("idp_local_{}", uuid::Uuid::new_v4().simple());
    ops::secret_store::put_secret(conf, &provider.client_secret_name, &secret).await?;
    let options = devstack_idp::Options {
        client_id: provider.client_id.clone(),
        client_secret: secret,
    };
    let idp = devstack_idp::start(listener, options).await?;
    tracing::info!(target: "trail", provider = %provider.name, issuer = %idp.issuer(), "identity provider stand-in started");
    Ok(Some(Federation { idp, login }))
}

impl Federation {
    /// Managed login on the front at `domain_url`, the app's URLs with
    /// the web origin in place of its placeholder (`(placeholder,
    /// origin)`), the provider's secret read as Cognito reads it.
    pub async fn login(
        &self,
        conf: &SdkConfig,
        pool: &crate::cognito::Pool,
        domain_url: &str,
        (placeholder, web_origin): (&str, &str),
    ) -> Result<Login> {
        let planned = self.login.providers.first().context("a provider")?;
        let source = kit::secrets::Source::secrets_manager(conf, &planned.client_secret_name);
        let secret = kit::secrets::Secret::new(source, std::time::Duration::ZERO);
        let secret = secret.get().await?;
        self.idp
            .set_redirect_uris(vec![format!("{domain_url}/oauth2/idpresponse")]);
        let mut client = self.login.client.clone();
        for url in client
            .callback_urls
            .iter_mut()
            .chain(&mut client.logout_urls)
        {
            *url = url.replace(placeholder, web_origin);
        }
        Ok(Login {
            user_pool_id: pool.user_pool_id.clone(),
            client_id: pool.client_id.clone(),
            client,
            provider: Some(Provider {
                name: planned.name.clone(),
                issuer: self.idp.issuer(),
                client_id: planned.client_id.clone(),
                client_secret: secret.expose().to_owned(),
                scopes: planned.scopes.clone(),
                mapping: planned.attribute_mapping.clone(),
            }),
            domain_url: domain_url.to_owned(),
        })
    }

    /// The provider's name, for the web app's button.
    pub fn provider_name(&self) -> Option<&str> {
        self.login.providers.first().map(|p| p.name.as_str())
    }
}
