//! A relying party nobody here wrote, pointed at the local cloud as it
//! would be at Cognito: Rust's `openidconnect` is given the user pool's
//! issuer and nothing else, finds managed login through the discovery
//! document, signs in with the authorization code, PKCE and a nonce
//! through the outside provider's stand-in, checks the ID token itself
//! (signature from the discovered keys, issuer, audience, nonce), reads
//! userInfo, refreshes, revokes and signs out. Its HTTP client trusts the
//! local cloud's own authority (the endpoints file's `ca_certificate`), as
//! an app trusts a private CA: the library revokes only over HTTPS.

use std::sync::Arc;

use axum::http;
use devstack_testkit::cloud::{cloud, unique_email};
use devstack_testkit::redirects::{consent, location, with_query};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreRevocableToken, CoreSubjectIdentifierType,
    CoreUserInfoClaims,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthenticationFlow, AuthorizationCode, ClientId, CsrfToken,
    HttpRequest, HttpResponse, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    ProviderMetadata, RedirectUrl, RevocationUrl, Scope, TokenResponse,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};

/// What Cognito's document names beyond the core fields.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct ManagedLogin {
    revocation_endpoint: String,
    end_session_endpoint: String,
}
impl AdditionalProviderMetadata for ManagedLogin {}

type Metadata = ProviderMetadata<
    ManagedLogin,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The library's HTTP client: hyper with rustls on ring, trusting the
/// local cloud's authority, following no redirect, as the library asks.
struct Http(Client<HttpsConnector<HttpConnector>, Full<Bytes>>);

impl Http {
    fn trusting(ca_pem: &str) -> Http {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add_parsable_certificates(CertificateDer::pem_slice_iter(ca_pem.as_bytes()).flatten());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        Http(Client::builder(TokioExecutor::new()).build(connector))
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, std::io::Error> {
        let (parts, body) = request.into_parts();
        let request = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
        let answer = self
            .0
            .request(request)
            .await
            .map_err(std::io::Error::other)?;
        let (parts, body) = answer.into_parts();
        let body = body.collect().await.map_err(std::io::Error::other)?;
        Ok(http::Response::from_parts(parts, body.to_bytes().to_vec()))
    }
}

#[tokio::test]
async fn a_standard_relying_party_signs_in_through_discovery_and_the_session_ends_as_on_cognito() {
    let e = &cloud().endpoints;
    let http = Http::trusting(&e.ca_certificate);
    let http_client = |request| http.send(request);
    let issuer = IssuerUrl::new(e.issuer.clone()).unwrap();
    let metadata = Metadata::discover_async(issuer, &http_client)
        .await
        .expect("the discovery document and keys at the pool's issuer");
    let managed = metadata.additional_metadata().clone();
    let client =
        CoreClient::from_provider_metadata(metadata, ClientId::new(e.client_id.clone()), None)
            .set_redirect_uri(RedirectUrl::new(e.web_url.clone()).unwrap())
            .set_revocation_url(RevocationUrl::new(managed.revocation_endpoint.clone()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        // Straight to the provider, as an app's "sign in with" button does.
        .add_extra_param("identity_provider", e.federated_provider.clone())
        .url();
    let started = devstack_testkit::redirects::http()
        .get(url.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 302, "{}", started.text().await.unwrap());
    let email = unique_email("oidc");
    let back = consent(location(&started), &email).await;
    assert_eq!(back.get("state"), Some(state.secret().as_str()));
    let code = AuthorizationCode::new(back.get("code").expect("a code").to_owned());

    let tokens = client
        .exchange_code(code)
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http_client)
        .await
        .expect("the code's tokens");
    let id_token = tokens.id_token().expect("an ID token: openid was granted");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the library's own checks: signature, issuer, audience, nonce");
    assert_eq!(
        claims.email().map(|m| m.as_str()),
        Some(email.as_str()),
        "{claims:?}"
    );
    let scopes: Vec<String> = (tokens.scopes().into_iter().flatten())
        .map(|s| s.to_string())
        .collect();
    assert!(
        scopes.is_empty() || scopes.contains(&"openid".to_owned()),
        "{scopes:?}"
    );

    let info: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http_client)
        .await
        .expect("userInfo for the token granted openid");
    assert_eq!(info.email().map(|m| m.as_str()), Some(email.as_str()));

    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    let renewed = client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http_client)
        .await
        .expect("the refresh grant");
    let renewed_id = renewed.id_token().expect("a renewed ID token");
    let renewed_claims = renewed_id
        .claims(&client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
        .expect("a renewed ID token passes the same checks");
    assert_eq!(renewed_claims.subject(), claims.subject());

    // The library revokes only at an HTTPS address (RFC 7009 says a client
    // must check): the discovery document names the front's TLS address.
    assert!(
        managed.revocation_endpoint.starts_with("https://"),
        "{managed:?}"
    );
    client
        .revoke_token(CoreRevocableToken::from(refresh.clone()))
        .expect("an HTTPS revocation endpoint")
        .request_async(&http_client)
        .await
        .expect("the refresh token revoked");
    let refused = client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http_client)
        .await;
    assert!(
        format!("{refused:?}").contains("invalid_grant"),
        "a revoked refresh token is invalid_grant: {refused:?}"
    );
    let refused: Result<CoreUserInfoClaims, _> = client
        .user_info(renewed.access_token().clone(), None)
        .unwrap()
        .request_async(&http_client)
        .await;
    assert!(refused.is_err(), "userInfo refuses a revoked access token");

    let logout = with_query(
        &managed.end_session_endpoint,
        [
            ("client_id", e.client_id.as_str()),
            ("logout_uri", e.web_url.as_str()),
        ],
    );
    let signed_out = devstack_testkit::redirects::http()
        .get(logout)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 302);
    assert_eq!(location(&signed_out).base, e.web_url);
}
