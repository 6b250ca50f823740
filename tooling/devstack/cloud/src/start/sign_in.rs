//! The Cognito front's sign-in parts, as the platform deploys them: the
//! identity pool's calls and managed login with the outside provider.

use anyhow::Result;

use super::kept;
use super::wiring::Wiring;
use crate::cognito;
use crate::federation::Federation;

impl Wiring<'_> {
    /// Managed login on the Cognito front, back to the web app: the
    /// endpoints name the provider's stand-in.
    pub(super) async fn managed_login(
        &mut self,
        federation: &Federation,
        pool: &cognito::Pool,
        web_listener: &tokio::net::TcpListener,
    ) -> Result<cognito::hosted::Login> {
        let origin = format!("http://{}", web_listener.local_addr()?);
        let placed = (kept::WEB_ORIGIN_PLACEHOLDER, origin.as_str());
        let login =
            (federation.login(&self.conf, pool, &self.endpoints.cognito_url, placed)).await?;
        self.endpoints.idp_url = federation.idp.issuer();
        self.endpoints.federated_provider =
            federation.provider_name().unwrap_or_default().to_owned();
        Ok(login)
    }

    pub(super) fn identities(
        &self,
        pool: &cognito::Pool,
    ) -> Option<cognito::identities::Identities> {
        let identity = pool.identity.clone()?;
        Some(cognito::identities::Identities {
            provider: pool.provider_name(),
            user_pool_id: pool.user_pool_id.clone(),
            verifier: kit::jwt::Verifier::new(kit::jwt::Expect {
                issuer: pool.issuer.clone(),
                audience: pool.client_id.clone(),
                jwks_url: pool.jwks_url.clone(),
            }),
            idp: kit::signed::json_protocol::JsonApi::new(
                &self.conf,
                kit::signed::json_protocol::COGNITO_IDP,
            ),
            judge: self.judge.clone(),
            pool: identity,
        })
    }
}
