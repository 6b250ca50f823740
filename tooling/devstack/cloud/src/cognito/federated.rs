//! Managed login as an outside OpenID Connect provider's client, as
//! Cognito is one: the provider's endpoints from its discovery document,
//! the authorization code exchanged with the client secret
//! (`client_secret_basic`), and the ID token checked against the
//! provider's JWKS (signature, issuer, audience, expiry, nonce) before
//! any of its claims is believed.

use std::collections::BTreeMap;

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The provider as the user pool knows it, its secret read from Secrets
/// Manager.
#[derive(Debug, Clone)]
pub struct Provider {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: String,
    /// A user pool attribute → the provider's claim it is read from.
    pub mapping: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    #[error("Error in calling IdP {endpoint} endpoint: {message}")]
    Call {
        endpoint: &'static str,
        message: String,
    },
    #[error("Invalid id_token from IdP: {0}")]
    Token(String),
}

#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

/// Only signatures made with the provider's private key: never `none`,
/// never a secret both sides hold.
const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::ES256,
    Algorithm::PS256,
    Algorithm::EdDSA,
];

fn call(endpoint: &'static str) -> impl Fn(reqwest::Error) -> IdpError {
    move |e| IdpError::Call {
        endpoint,
        message: e.to_string(),
    }
}

impl Provider {
    pub async fn discover(&self, http: &reqwest::Client) -> Result<Discovery, IdpError> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        );
        let found: Discovery = (http.get(url).send().await)
            .and_then(reqwest::Response::error_for_status)
            .map_err(call("discovery"))?
            .json()
            .await
            .map_err(call("discovery"))?;
        if found.issuer.trim_end_matches('/') != self.issuer.trim_end_matches('/') {
            return Err(IdpError::Token(format!(
                "the discovery document names the issuer {}",
                found.issuer
            )));
        }
        Ok(found)
    }

    /// Where the browser goes to sign in at the provider.
    pub fn authorize_url(
        &self,
        d: &Discovery,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
    ) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &self.scopes)
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .finish();
        let joint = if d.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{joint}{query}", d.authorization_endpoint)
    }

    /// The provider's ID token for `code`.
    pub async fn exchange(
        &self,
        http: &reqwest::Client,
        d: &Discovery,
        code: &str,
        redirect_uri: &str,
    ) -> Result<String, IdpError> {
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect_uri)
            .finish();
        let answer = http
            .post(&d.token_endpoint)
            .header("authorization", self.basic())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(call("token"))?;
        let status = answer.status();
        let body: Value = answer.json().await.map_err(call("token"))?;
        match body["id_token"].as_str() {
            Some(token) if status.is_success() => Ok(token.to_owned()),
            _ => Err(IdpError::Call {
                endpoint: "token",
                message: format!(
                    "{status} {}",
                    body["error"].as_str().unwrap_or("no id_token")
                ),
            }),
        }
    }

    /// RFC 6749 §2.3.1: each part form-encoded, then base64.
    fn basic(&self) -> String {
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let pair = format!(
            "{}:{}",
            encode(&self.client_id),
            encode(&self.client_secret)
        );
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    /// The ID token's claims, once its signature and claims hold.
    pub async fn verify(
        &self,
        http: &reqwest::Client,
        d: &Discovery,
        token: &str,
        nonce: &str,
    ) -> Result<Map<String, Value>, IdpError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| IdpError::Token(e.to_string()))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(IdpError::Token(format!("{:?} is not accepted", header.alg)));
        }
        let keys: JwkSet = (http.get(&d.jwks_uri).send().await)
            .and_then(reqwest::Response::error_for_status)
            .map_err(call("jwks"))?
            .json()
            .await
            .map_err(call("jwks"))?;
        let jwk = (header.kid.as_deref())
            .and_then(|kid| keys.find(kid))
            .ok_or_else(|| IdpError::Token("no key of the provider signed it".into()))?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| IdpError::Token(e.to_string()))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&d.issuer]);
        validation.set_audience(&[&self.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| IdpError::Token(e.to_string()))?
            .claims;
        if claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
            return Err(IdpError::Token("the nonce is not the one sent".into()));
        }
        Ok(claims)
    }

    /// The user pool attributes the mapping reads from the claims, as
    /// `[{Name, Value}]`.
    pub fn attributes(&self, claims: &Map<String, Value>) -> Vec<Value> {
        (self.mapping.iter())
            .filter_map(|(attribute, claim)| {
                let value = match claims.get(claim)? {
                    Value::String(s) => s.clone(),
                    Value::Null => return None,
                    other => other.to_string(),
                };
                Some(json!({ "Name": attribute, "Value": value }))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> Provider {
        Provider {
            name: "Partner".into(),
            issuer: "http://idp".into(),
            client_id: "c id".into(),
            client_secret: "s:cret".into(), // pragma: allowlist secret
            scopes: "openid email".into(),
            mapping: [
                ("email".into(), "email".into()),
                ("email_verified".into(), "email_verified".into()),
            ]
            .into(),
        }
    }

    #[test]
    fn basic_auth_form_encodes_each_part_first() {
        let expected = base64::engine::general_purpose::STANDARD.encode("c+id:s%3Acret");
        assert_eq!(provider().basic(), format!("Basic {expected}"));
    }

    #[test]
    fn mapped_claims_become_attributes_as_text() {
        let claims = json!({"email": "a@b.c", "email_verified": true, "sub": "x"});
        let attributes = provider().attributes(claims.as_object().unwrap());
        assert_eq!(
            attributes,
            vec![
                json!({"Name": "email", "Value": "a@b.c"}),
                json!({"Name": "email_verified", "Value": "true"}),
            ]
        );
    }
}
