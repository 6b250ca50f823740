//! What faces the outside once the functions run: the gateway, the
//! Invoke API, the Cognito front, the web app and the control API.

use std::sync::Arc;

use anyhow::Result;
use devstack_api::Endpoints;
use devstack_gateway::{Authorizer, Gateway};

use super::wiring::{Wiring, serve};
use crate::cognito;
use crate::deploy::Stack;
use crate::federation::Federation;
use crate::redeploy::Control;

/// Managed login's revocation over HTTPS too, for clients that revoke
/// only there ([`crate::tls`]): its listener and its address, once the
/// endpoints name the authority that signed it.
async fn revocation_over_tls(endpoints: &mut Endpoints) -> Result<(crate::tls::Listener, String)> {
    let tls = crate::tls::Tls::new()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("https://{}", listener.local_addr()?);
    endpoints.ca_certificate = tls.ca_pem.clone();
    Ok((tls.listener(listener), url))
}

impl Wiring<'_> {
    /// What faces the outside: the HTTP gateway, the Lambda Invoke API,
    /// the user pool's API (with its triggers), the web app (the web
    /// stack, through the local CDN) and the control API.
    pub(super) async fn serve_front(
        &mut self,
        pool: &cognito::Pool,
        stacks: &[Stack],
        (web_listener, cognito_listener, federation, site): (
            tokio::net::TcpListener,
            tokio::net::TcpListener,
            Option<&Federation>,
            &crate::web::Site,
        ),
    ) -> Result<Arc<Control>> {
        let gateway = Arc::new(Gateway {
            routes: std::mem::take(&mut self.routes),
            authorizer: Authorizer::new(
                pool.issuer.clone(),
                pool.client_id.clone(),
                pool.jwks_url.clone(),
            ),
            judge: Some(self.judge.clone()),
            mappings: crate::custom_domain::mappings(stacks),
        });
        let options = self.options;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port)).await?;
        self.endpoints.api_base_url = format!("http://{}", listener.local_addr()?);
        crate::custom_domain::api_urls(&mut self.endpoints, stacks);
        self.tasks
            .push(serve(listener, devstack_gateway::router(gateway)));
        let lambda_listener =
            tokio::net::TcpListener::bind(("127.0.0.1", options.lambda_port)).await?;
        self.endpoints.lambda_endpoint = format!("http://{}", lambda_listener.local_addr()?);
        let _ = (self.local.lambda).set(self.endpoints.lambda_endpoint.clone());
        let lambda_api =
            devstack_lambda::lambda_api::router(self.functions.clone(), self.asyncs.clone());
        self.tasks.push(serve(lambda_listener, lambda_api));
        self.endpoints.socket_url = self
            .endpoints
            .services
            .get("notifications")
            .and_then(|s| s.sockets.values().next().cloned())
            .unwrap_or_default();
        self.endpoints.cognito_url = format!("http://{}", cognito_listener.local_addr()?);
        let triggers = cognito::triggers_of(
            pool,
            &self.functions,
            options.services.is_some(),
            Some(self.judge.clone()),
        );
        let api = kit::signed::json_protocol::JsonApi::new(
            &self.conf,
            kit::signed::json_protocol::COGNITO_IDP,
        );
        let identities = self.identities(pool);
        let login = match federation {
            Some(f) => Some(self.managed_login(f, pool, &web_listener).await?),
            None => None,
        };
        let tls = match &login {
            Some(_) => Some(revocation_over_tls(&mut self.endpoints).await?),
            None => None,
        };
        let discovery = cognito::discovery::Discovery {
            user_pool_id: pool.user_pool_id.clone(),
            issuer: pool.issuer.clone(),
            engine_jwks_url: pool.engine_jwks_url(&self.endpoints.emulator_url),
            domain_url: login.as_ref().map(|l| l.domain_url.clone()),
            tls_url: tls.as_ref().map(|(_, url)| url.clone()),
        };
        let front = cognito::front(
            &self.endpoints.emulator_url,
            api,
            (triggers, identities),
            discovery,
            login,
        );
        if let Some((listener, _)) = tls {
            self.tasks.push(serve(listener, front.clone()));
        }
        self.tasks.push(serve(cognito_listener, front));
        self.endpoints.web_url = format!("http://{}/", web_listener.local_addr()?);
        let urls = crate::web::function_urls(stacks, &self.functions);
        let cdn = crate::web::publish(
            &self.conf,
            self.judge.clone(),
            (&options.web_dir, urls),
            &self.endpoints,
            site,
        )
        .await?;
        let _ = self.local.cdn.set(cdn.clone());
        self.tasks
            .push(serve(web_listener, devstack_cdn::router(cdn)));
        self.serve_control(stacks).await
    }

    /// The control API: redeploys and injected faults.
    pub(super) async fn serve_control(&mut self, stacks: &[Stack]) -> Result<Arc<Control>> {
        let control = Arc::new(Control::new(
            self.accounts.clone(),
            (self.judge.clone(), self.local.hooks.clone()),
            self.functions.clone(),
            self.local_env.clone(),
            self.substitutions.clone(),
            stacks
                .iter()
                .map(|(service, plan, _, _)| (service.clone(), plan.clone()))
                .collect(),
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        self.endpoints.control_url = format!("http://{}", listener.local_addr()?);
        let api = crate::redeploy::router(control.clone()).merge(crate::chaos::router(
            self.chaos.clone(),
            self.functions.clone(),
        ));
        self.tasks.push(serve(listener, api));
        Ok(control)
    }
}
