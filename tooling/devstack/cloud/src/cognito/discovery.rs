//! The pool's OpenID Connect discovery document and keys, at its issuer
//! as Cognito serves them (`<issuer>/.well-known/openid-configuration`
//! and `<issuer>/.well-known/jwks.json`). Where the pool has a domain, the
//! document names managed login's endpoints on it, as Cognito's does, so
//! a relying-party library configured with the issuer alone finds the
//! authorization, token, userInfo, revocation and sign-out endpoints.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

/// What the document names.
#[derive(Debug, Clone)]
pub struct Discovery {
    pub user_pool_id: String,
    /// `<front>/<pool>`: the tokens' `iss`.
    pub issuer: String,
    /// Where the engine serves the pool's keys.
    pub engine_jwks_url: String,
    /// Managed login's domain, where the pool has one.
    pub domain_url: Option<String>,
    /// The same front over HTTPS ([`crate::tls`]), where its revocation
    /// endpoint is named: a client must revoke over TLS (RFC 7009).
    pub tls_url: Option<String>,
}

struct Served {
    discovery: Discovery,
    http: reqwest::Client,
}

pub(super) fn routes(discovery: Discovery) -> Router {
    let pool = discovery.user_pool_id.clone();
    let served = Arc::new(Served {
        discovery,
        http: reqwest::Client::new(),
    });
    Router::new()
        .route(
            &format!("/{pool}/.well-known/openid-configuration"),
            get(configuration),
        )
        .route(&format!("/{pool}/.well-known/jwks.json"), get(keys))
        .with_state(served)
}

/// Cognito's document: the issuer and its keys, and managed login's
/// endpoints on the domain.
pub fn document(d: &Discovery) -> Value {
    let mut doc = json!({
        "issuer": d.issuer,
        "jwks_uri": format!("{}/.well-known/jwks.json", d.issuer),
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "token"],
        "scopes_supported": ["openid", "email", "phone", "profile"],
        "subject_types_supported": ["public"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    });
    if let Some(domain) = &d.domain_url {
        for (field, path) in [
            ("authorization_endpoint", "/oauth2/authorize"),
            ("token_endpoint", "/oauth2/token"),
            ("userinfo_endpoint", "/oauth2/userInfo"),
            ("revocation_endpoint", "/oauth2/revoke"),
            ("end_session_endpoint", "/logout"),
        ] {
            doc[field] = Value::from(format!("{domain}{path}"));
        }
        if let Some(tls) = &d.tls_url {
            doc["revocation_endpoint"] = Value::from(format!("{tls}/oauth2/revoke"));
        }
    }
    doc
}

async fn configuration(State(s): State<Arc<Served>>) -> Response {
    let cors = [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")];
    (cors, Json(document(&s.discovery))).into_response()
}

/// The engine's keys, passed through: the pool signs with them.
async fn keys(State(s): State<Arc<Served>>) -> Response {
    let fetched = async {
        let answer = s.http.get(&s.discovery.engine_jwks_url).send().await?;
        answer.error_for_status()?.json::<Value>().await
    };
    match fetched.await {
        Ok(keys) => {
            let cors = [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")];
            (cors, Json(keys)).into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "the engine's keys could not be read");
            let body = json!({ "message": "the pool's keys are not available" });
            (StatusCode::BAD_GATEWAY, Json(body)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_names_managed_login_only_where_the_pool_has_a_domain() {
        let mut d = Discovery {
            user_pool_id: "us-east-1_P".into(),
            issuer: "http://127.0.0.1:9/us-east-1_P".into(),
            engine_jwks_url: "http://127.0.0.1:8/us-east-1_P/.well-known/jwks.json".into(),
            domain_url: None,
            tls_url: None,
        };
        let doc = document(&d);
        assert_eq!(doc["issuer"], "http://127.0.0.1:9/us-east-1_P");
        assert_eq!(
            doc["jwks_uri"],
            "http://127.0.0.1:9/us-east-1_P/.well-known/jwks.json"
        );
        assert_eq!(doc.get("authorization_endpoint"), None);
        d.domain_url = Some("http://127.0.0.1:9".into());
        let doc = document(&d);
        assert_eq!(
            doc["revocation_endpoint"],
            "http://127.0.0.1:9/oauth2/revoke"
        );
        assert_eq!(doc["end_session_endpoint"], "http://127.0.0.1:9/logout");
        d.tls_url = Some("https://127.0.0.1:7".into());
        assert_eq!(
            document(&d)["revocation_endpoint"],
            "https://127.0.0.1:7/oauth2/revoke"
        );
    }
}
