//! Cognito token checks, written once: the local gateway plays the HTTP
//! APIs' JWT authorizer with them, and the WebSocket API's Lambda REQUEST
//! authorizer (which browsers need, since they cannot set headers on a
//! WebSocket) runs the very same code on AWS.
//!
//! The checks are API Gateway's: an RS256 signature by a key of the pool's
//! JWKS, `iss`, `exp`, and the client in `aud` (ID tokens) or `client_id`
//! (access tokens).

use std::collections::HashMap;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::{Map, Value};
use tokio::sync::RwLock;

pub type Claims = Map<String, Value>;

/// Why a token is refused. The text is for logs, never for the caller:
/// API Gateway answers every refusal with the same `Unauthorized`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no token")]
    Missing,
    #[error("malformed token")]
    Malformed,
    #[error("token without kid")]
    NoKid,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("token for another client")]
    WrongClient,
}

/// What a valid token must say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    pub issuer: String,
    /// The app client id.
    pub audience: String,
    /// On AWS `<issuer>/.well-known/jwks.json`; the emulator serves it
    /// elsewhere, so it is configuration, never derived in the checks.
    pub jwks_url: String,
}

impl Expect {
    /// From `ISSUER`, `CLIENT_ID` and optionally `JWKS_URL` (by default
    /// the issuer's well-known address, as on AWS).
    pub fn from_env() -> Result<Self, crate::config::ConfigError> {
        let issuer = crate::config::var("ISSUER")?;
        let audience = crate::config::var("CLIENT_ID")?;
        let jwks_url = std::env::var("JWKS_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/')));
        Ok(Self {
            issuer,
            audience,
            jwks_url,
        })
    }
}

/// The keys of a JWKS document by `kid`; entries that are not RSA keys
/// are skipped.
pub fn keys_of(jwks: &Value) -> HashMap<String, DecodingKey> {
    let mut keys = HashMap::new();
    for k in jwks["keys"].as_array().into_iter().flatten() {
        if let (Some(id), Some(n), Some(e)) = (k["kid"].as_str(), k["n"].as_str(), k["e"].as_str())
            && let Ok(key) = DecodingKey::from_rsa_components(n, e)
        {
            keys.insert(id.to_owned(), key);
        }
    }
    keys
}

/// The token's `kid`, before any key is needed.
pub fn kid(token: &str) -> Result<String, Refusal> {
    let token = token.trim();
    if token.is_empty() {
        return Err(Refusal::Missing);
    }
    decode_header(token)
        .map_err(|_| Refusal::Malformed)?
        .kid
        .ok_or(Refusal::NoKid)
}

/// The checks themselves, pure: the token against one key.
pub fn check(token: &str, key: &DecodingKey, expect: &Expect) -> Result<Claims, Refusal> {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&expect.issuer]);
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "iss"]);
    let claims = decode::<Claims>(token.trim(), key, &validation)
        .map_err(|e| Refusal::Invalid(e.to_string()))?
        .claims;
    let audience = Value::from(expect.audience.as_str());
    let ok = match claims.get("aud") {
        Some(Value::String(a)) => *a == expect.audience,
        Some(Value::Array(a)) => a.contains(&audience),
        _ => claims.get("client_id") == Some(&audience),
    };
    if !ok {
        return Err(Refusal::WrongClient);
    }
    Ok(claims)
}

/// Checks tokens against the pool's keys, fetched on first use and again
/// when a token names a key not seen yet (the pool may have rotated).
pub struct Verifier {
    pub expect: Expect,
    keys: RwLock<HashMap<String, DecodingKey>>,
    http: crate::outbound::Client,
}

impl Verifier {
    pub fn new(expect: Expect) -> Self {
        Self {
            expect,
            keys: RwLock::new(HashMap::new()),
            // The keys are Cognito's (`cognito-idp.<region>.amazonaws.com`):
            // AWS's roots, not the system's 140 to parse on a cold start.
            http: crate::outbound::Client::for_aws(),
        }
    }

    pub async fn verify(&self, token: &str) -> Result<Claims, Refusal> {
        let kid = kid(token)?;
        let cached = self.keys.read().await.get(&kid).cloned();
        let key = match cached {
            Some(k) => k,
            None => {
                let fetched = self.fetch_keys().await;
                let mut keys = self.keys.write().await;
                keys.extend(fetched);
                keys.get(&kid).cloned().ok_or(Refusal::UnknownKey)?
            }
        };
        check(token, &key, &self.expect)
    }

    async fn fetch_keys(&self) -> HashMap<String, DecodingKey> {
        match self.fetch_jwks().await {
            Ok(jwks) => keys_of(&jwks),
            Err(e) => {
                // Every token then fails as signed by an unknown key, which
                // is the safe answer; the log says why.
                tracing::error!(url = %self.expect.jwks_url, error = %e, "JWKS not fetched");
                HashMap::new()
            }
        }
    }

    async fn fetch_jwks(&self) -> Result<Value, String> {
        let answer = self
            .http
            .send("GET", &self.expect.jwks_url, &[], Vec::new())
            .await
            .map_err(|e| e.to_string())?;
        if answer.status != 200 {
            return Err(format!("HTTP {}", answer.status));
        }
        serde_json::from_slice(&answer.body).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_that_are_not_jwts_are_refused_before_any_key_is_needed() {
        assert_eq!(kid(""), Err(Refusal::Missing));
        assert_eq!(kid("  "), Err(Refusal::Missing));
        assert_eq!(kid("not.a.jwt"), Err(Refusal::Malformed));
        // A header without kid: {"alg":"RS256","typ":"JWT"}.
        assert_eq!(
            kid("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.e30.sig"),
            Err(Refusal::NoKid)
        );
    }

    #[test]
    fn only_rsa_keys_with_a_kid_are_taken_from_a_jwks() {
        let jwks = serde_json::json!({"keys": [
            {"kid": "a", "kty": "RSA", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"},
            {"kid": "b", "kty": "EC", "crv": "P-256", "x": "x", "y": "y"},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB"}
        ]});
        let keys = keys_of(&jwks);
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["a"]);
    }

    #[test]
    fn the_jwks_address_defaults_to_the_issuers_well_known_path() {
        // SAFETY: this test alone reads these variables.
        unsafe {
            std::env::set_var(
                "ISSUER",
                "https://cognito-idp.eu-west-1.amazonaws.com/pool/",
            );
            std::env::set_var("CLIENT_ID", "client");
            std::env::remove_var("JWKS_URL");
        }
        let e = Expect::from_env().unwrap();
        assert_eq!(
            e.jwks_url,
            "https://cognito-idp.eu-west-1.amazonaws.com/pool/.well-known/jwks.json"
        );
    }
}
