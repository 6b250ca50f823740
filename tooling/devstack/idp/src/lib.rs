//! An outside OpenID Connect identity provider played locally: what a
//! company's IdP (Google, Okta) is to a user pool that federates with it
//! for "Sign in with <provider>". A real OIDC server on a port of its own,
//! with one registered client (the user pool), which Cognito's managed
//! login or any standard client library can use.
//!
//! # Endpoints
//!
//! - `GET /.well-known/openid-configuration`: the endpoints below and what
//!   they support (the code flow; `client_secret_basic` and
//!   `client_secret_post`; EdDSA ID tokens).
//! - `GET /authorize?response_type=code&client_id&redirect_uri&scope&state&nonce`:
//!   a consent page asking for the email to sign in as (`#idp-email`,
//!   optional `#idp-name`, `#idp-allow`, `#idp-deny`). An unknown client
//!   or a redirect URI it did not register gets a 400 page and is never
//!   redirected to; a response type other than `code` or a scope without
//!   `openid` goes back as `error=unsupported_response_type` /
//!   `error=invalid_scope`.
//! - `POST /authorize` (the form): back to the redirect URI with
//!   `code` (single use, 60 s) or `error=access_denied`, and `state`.
//! - `POST /token`: the code for `{"access_token", "token_type": "Bearer",
//!   "expires_in": 3600, "id_token", "scope"}`; RFC 6749 §5.2's errors
//!   (`invalid_client`, 401 after Basic; `invalid_grant` for an unknown,
//!   used or expired code or another redirect URI; `invalid_request`;
//!   `unsupported_grant_type`). A code is spent on first presentation.
//!   The ID token carries `iss`, `sub`, `aud`, `exp`, `iat`, `auth_time`,
//!   `nonce` (when asked), `email`, `email_verified` and `name` (when
//!   given).
//! - `GET /jwks`: the public key; `GET /userinfo` with the access token:
//!   `{"sub", "email", "email_verified", "name"}`.
//!
//! The key is made per start. A person's subject is stable per email
//! ([`subject_of`]), so the same email is the same user at every start.

mod authorize;
mod credentials;
mod discovery;
mod keys;
mod pages;
mod state;
mod token;
mod userinfo;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use state::Shared;

/// The one client the provider knows: the user pool's registration.
#[derive(Debug, Clone)]
pub struct Options {
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    #[error("the identity provider's listener: {0}")]
    Listener(#[from] std::io::Error),
    #[error("the identity provider's key: {0}")]
    Key(String),
    #[error("the client id and secret must not be empty")]
    EmptyClient,
}

/// A running provider; it stops serving when dropped.
pub struct Provider {
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

/// Serves the provider on `listener` in a task of its own.
pub async fn start(
    listener: tokio::net::TcpListener,
    options: Options,
) -> Result<Provider, IdpError> {
    if options.client_id.is_empty() || options.client_secret.is_empty() {
        return Err(IdpError::EmptyClient);
    }
    let issuer = issuer_of(listener.local_addr()?);
    let shared = Arc::new(Shared::new(issuer, options, keys::Key::new()?));
    let app = router(shared.clone());
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "idp: the server stopped");
        }
    });
    tracing::info!(target: "trail", issuer = %shared.issuer, "idp: the identity provider is up");
    Ok(Provider { shared, server })
}

/// `http://127.0.0.1:<port>` for a listener on every interface: the
/// issuer must be one address that both browsers and the client reach.
fn issuer_of(address: std::net::SocketAddr) -> String {
    if address.ip().is_unspecified() {
        format!("http://127.0.0.1:{}", address.port())
    } else {
        format!("http://{address}")
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::configuration),
        )
        .route("/jwks", get(discovery::jwks))
        .route(
            "/authorize",
            get(authorize::consent).post(authorize::decide),
        )
        .route("/token", post(token::token))
        .route("/userinfo", get(userinfo::userinfo))
        .with_state(shared)
}

impl Provider {
    /// `http://127.0.0.1:<port>`, no trailing slash; discovery is at
    /// `{issuer}/.well-known/openid-configuration`.
    pub fn issuer(&self) -> String {
        self.shared.issuer.clone()
    }

    /// The redirect URIs the client registered (Cognito's
    /// `<domain>/oauth2/idpresponse`), replacing any before. Set after
    /// start, as the caller learns its own address later; until then every
    /// authorization request is refused.
    pub fn set_redirect_uris(&self, uris: Vec<String>) {
        tracing::info!(target: "trail", ?uris, "idp: redirect URIs registered");
        self.shared.set_redirect_uris(uris);
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The subject the provider gives an email: a UUID v5 of the lowercased
/// (and trimmed) email in a namespace of this crate's, so the same email
/// is the same person at every start and a caller can predict the
/// federated username `<ProviderName>_<sub>`.
pub fn subject_of(email: &str) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f1d_2a4e_9c37_4b8e_a5d0_7e21_c3b9_f046);
    uuid::Uuid::new_v5(&NAMESPACE, email.trim().to_lowercase().as_bytes()).to_string()
}

/// The provider over real HTTP, as a client and a browser see it (in the
/// library's own test binary: one link, not two).
#[cfg(test)]
mod http_tests;

#[cfg(test)]
mod tests {
    use super::{issuer_of, subject_of};

    #[test]
    fn a_subject_is_the_same_for_any_case_of_an_email_and_differs_between_emails() {
        assert_eq!(subject_of("Ada@Example.com"), subject_of("ada@example.com"));
        assert_ne!(subject_of("ada@example.com"), subject_of("bob@example.com"));
        assert_eq!(
            uuid::Uuid::parse_str(&subject_of("ada@example.com"))
                .unwrap()
                .get_version_num(),
            5
        );
    }

    #[test]
    fn a_listener_on_every_interface_is_issued_as_loopback() {
        assert_eq!(
            issuer_of("0.0.0.0:4000".parse().unwrap()),
            "http://127.0.0.1:4000"
        );
        assert_eq!(
            issuer_of("127.0.0.1:4001".parse().unwrap()),
            "http://127.0.0.1:4001"
        );
    }
}
