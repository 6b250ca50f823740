//! Cognito's managed login, played on the front's own address (its
//! domain): `/oauth2/authorize`, `/oauth2/idpresponse`, `/oauth2/token`,
//! `/oauth2/userInfo`, `/oauth2/revoke` and `/logout`, with the checks
//! Cognito makes (the app client, its callback and sign-out URLs, its
//! scopes and flows, PKCE with S256 only, single-use codes that live 5
//! minutes). The tokens carry the scopes granted and the request's
//! `nonce`; an ID token comes only with `openid`, and userInfo takes only
//! an access token with `openid`, as Cognito's.
//!
//! A sign-in goes to the outside provider (`identity_provider=`), comes
//! back to `/oauth2/idpresponse`, and the provider's user signs in to the
//! pool as Cognito does it: the user it is linked to, or its own
//! `<provider>_<sub>` user, made at its first sign-in with the triggers
//! Cognito runs for a federated user (PreSignUp_ExternalProvider, then
//! PostConfirmation_ConfirmSignUp; PostAuthentication at later sign-ins).
//! The tokens are the pool's own, as a password sign-in's.
//!
//! Not played: managed login's own password pages (the web app signs in
//! with a password through the API) and SAML providers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::event::cognito::CognitoEventUserPoolsPreSignupTriggerSource as Source;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use devstack_template::adapt::OAuthClient;
use serde_json::{Value, json};

use super::federated::{IdpError, Provider};
use super::triggers::Front;
use crate::protocol::escape;

mod tokens;
use tokens::{logout, revoke, token, user_info};

/// What the app client and the pool's provider allow.
#[derive(Debug, Clone)]
pub struct Login {
    pub user_pool_id: String,
    pub client_id: String,
    pub client: OAuthClient,
    pub provider: Option<Provider>,
    /// The front's own URL: the domain managed login answers on.
    pub domain_url: String,
}

/// An authorization code's life, as Cognito's.
const CODE_LIFE: Duration = Duration::from_secs(300);
/// How long a sign-in may stay at the provider.
const FLOW_LIFE: Duration = Duration::from_secs(600);

struct Hosted {
    login: Login,
    front: Arc<Front>,
    http: reqwest::Client,
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    /// Sign-ins at the provider, by the state sent to it.
    flows: HashMap<String, Flow>,
    codes: HashMap<String, Issued>,
}

struct Flow {
    redirect_uri: String,
    state: Option<String>,
    challenge: Option<String>,
    /// Ours, sent to the provider.
    nonce: String,
    /// What the app asked for: the scopes granted and its own nonce.
    scopes: Vec<String>,
    app_nonce: Option<String>,
    at: Instant,
}

struct Issued {
    redirect_uri: String,
    challenge: Option<String>,
    tokens: Value,
    at: Instant,
}

pub(super) fn routes(login: Login, front: Arc<Front>) -> Router {
    let hosted = Arc::new(Hosted {
        login,
        front,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client without TLS settings builds"),
        pending: Mutex::new(Pending::default()),
    });
    Router::new()
        .route("/oauth2/authorize", get(authorize))
        .route("/oauth2/idpresponse", get(idp_response))
        .route("/oauth2/token", post(token))
        .route("/oauth2/userInfo", get(user_info))
        .route("/oauth2/revoke", post(revoke))
        .route("/logout", get(logout))
        .with_state(hosted)
}

type Params = HashMap<String, String>;

fn random() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Managed login's error page: for a request whose client or redirect
/// cannot be trusted, which is never redirected.
fn page(error: &str, detail: &str) -> Response {
    let body = format!(
        "<!doctype html><title>Sign-in error</title><h1>{}</h1><p id=\"error\">{}</p>",
        escape(error),
        escape(detail)
    );
    (StatusCode::BAD_REQUEST, Html(body)).into_response()
}

/// A redirect to `uri` with `pairs` added to its query.
fn to(uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        query.append_pair(k, v);
    }
    let joint = if uri.contains('?') { '&' } else { '?' };
    found(format!("{uri}{joint}{}", query.finish()))
}

/// A redirect to `location`, as written.
fn found(location: String) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// An OAuth error sent back to the app's redirect URI.
fn back(redirect_uri: &str, state: Option<&str>, error: &str, description: &str) -> Response {
    let mut pairs = vec![("error", error)];
    if !description.is_empty() {
        pairs.push(("error_description", description));
    }
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    to(redirect_uri, &pairs)
}

async fn authorize(State(h): State<Arc<Hosted>>, Query(q): Query<Params>) -> Response {
    let param = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    let client = &h.login.client;
    if param("client_id") != h.login.client_id || client.flows.is_empty() {
        return page(
            "invalid_request",
            "client_id: no app client with managed login has this id",
        );
    }
    let redirect = param("redirect_uri");
    if !client.callback_urls.iter().any(|u| u == redirect) {
        return page(
            "redirect_mismatch",
            "redirect_uri is not one of the app client's CallbackURLs",
        );
    }
    let state = q.get("state").map(String::as_str);
    if let Err((error, why)) = checked(client, &q) {
        return back(redirect, state, error, why);
    }
    let provider = match param("identity_provider") {
        "" | "COGNITO" => return chooser(&h.login, &q),
        name => h
            .login
            .provider
            .as_ref()
            .filter(|p| p.name == name && client.identity_providers.iter().any(|n| n == name)),
    };
    let Some(provider) = provider else {
        return back(
            redirect,
            state,
            "invalid_request",
            "identity_provider is not enabled for this app client",
        );
    };
    let discovery = match provider.discover(&h.http).await {
        Ok(d) => d,
        Err(e) => return back(redirect, state, "server_error", &e.to_string()),
    };
    let (ours, nonce) = (random(), random());
    let idp_redirect = format!("{}/oauth2/idpresponse", h.login.domain_url);
    let url = provider.authorize_url(&discovery, &idp_redirect, &ours, &nonce);
    let flow = Flow {
        redirect_uri: redirect.to_owned(),
        state: state.map(str::to_owned),
        challenge: q.get("code_challenge").cloned(),
        nonce,
        scopes: granted(client, &q),
        app_nonce: q.get("nonce").cloned(),
        at: Instant::now(),
    };
    let mut pending = h.pending.lock().expect("not poisoned");
    pending.flows.retain(|_, f| f.at.elapsed() < FLOW_LIFE);
    pending.flows.insert(ours, flow);
    found(url)
}

/// The request's flow, scopes and PKCE, as the app client allows them.
fn checked(client: &OAuthClient, q: &Params) -> Result<(), (&'static str, &'static str)> {
    match q.get("response_type").map(String::as_str) {
        Some("code") if client.flows.iter().any(|f| f == "code") => {}
        Some("code" | "token") => {
            return Err((
                "unauthorized_client",
                "the app client does not allow this flow",
            ));
        }
        _ => return Err(("invalid_request", "response_type must be code or token")),
    }
    let method = q.get("code_challenge_method").map(String::as_str);
    let challenge = q.get("code_challenge").map(String::as_str);
    match (method, challenge) {
        (None, None) => {}
        (Some("S256"), Some(c)) if (43..=128).contains(&c.len()) => {}
        _ => {
            return Err((
                "invalid_request",
                "code_challenge_method must be S256, with a code_challenge",
            ));
        }
    }
    let scopes = q.get("scope").map(String::as_str).unwrap_or_default();
    if scopes
        .split_whitespace()
        .any(|s| !client.scopes.iter().any(|a| a == s))
    {
        return Err(("invalid_scope", "a scope the app client does not allow"));
    }
    Ok(())
}

/// The scopes a sign-in is granted: those it asked for (`checked` has
/// held them to the client's), or every scope the client allows when it
/// asked for none, as Cognito grants.
fn granted(client: &OAuthClient, q: &Params) -> Vec<String> {
    let asked: Vec<String> = (q.get("scope").into_iter())
        .flat_map(|s| s.split_whitespace())
        .map(str::to_owned)
        .collect();
    if asked.is_empty() {
        client.scopes.clone()
    } else {
        asked
    }
}

/// A JWT's claims, unverified: only for a token the pool has just issued
/// or checked.
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload);
    bytes
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Whether an access token was granted `scope`.
fn has_scope(access_token: &str, scope: &str) -> bool {
    claims(access_token)["scope"]
        .as_str()
        .is_some_and(|s| s.split_whitespace().any(|g| g == scope))
}

/// A token answer, as Cognito's token endpoint gives it: an ID token only
/// for a sign-in granted `openid`.
fn token_answer(t: &Value, refresh: bool) -> Value {
    let access = t["AccessToken"].as_str().unwrap_or_default();
    let mut answer = json!({
        "access_token": access, "token_type": "Bearer", "expires_in": t["ExpiresIn"],
    });
    if has_scope(access, "openid") {
        answer["id_token"] = t["IdToken"].clone();
    }
    if refresh {
        answer["refresh_token"] = t["RefreshToken"].clone();
    }
    answer
}

/// Managed login's first page: a button per provider the client allows.
fn chooser(login: &Login, q: &Params) -> Response {
    let links: String = (login.client.identity_providers.iter())
        .filter(|name| *name != "COGNITO")
        .map(|name| {
            let mut query = form_urlencoded::Serializer::new(String::new());
            query.extend_pairs(q.iter().filter(|(k, _)| *k != "identity_provider"));
            query.append_pair("identity_provider", name);
            format!(
                "<p><a id=\"provider-{0}\" href=\"/oauth2/authorize?{1}\">Sign in with {0}</a></p>",
                escape(name),
                escape(&query.finish())
            )
        })
        .collect();
    let body = format!(
        "<!doctype html><title>Sign in</title><h1>Sign in</h1>{links}\
         <p>A password sign-in is the app's own form.</p>"
    );
    Html(body).into_response()
}

async fn idp_response(State(h): State<Arc<Hosted>>, Query(q): Query<Params>) -> Response {
    let state = q.get("state").map(String::as_str).unwrap_or_default();
    let flow = h.pending.lock().expect("not poisoned").flows.remove(state);
    let Some(flow) = flow.filter(|f| f.at.elapsed() < FLOW_LIFE) else {
        return page(
            "invalid_request",
            "state: no sign-in is waiting for this answer",
        );
    };
    let their_state = flow.state.as_deref();
    if let Some(error) = q.get("error") {
        let why = q.get("error_description").map_or("", String::as_str);
        return back(&flow.redirect_uri, their_state, error, why);
    }
    let code = q.get("code").map_or("", String::as_str);
    let tokens = match h.sign_in(code, &flow).await {
        Ok(tokens) => tokens,
        Err(why) => return back(&flow.redirect_uri, their_state, "server_error", &why),
    };
    let ours = random();
    let mut pending = h.pending.lock().expect("not poisoned");
    pending.codes.retain(|_, c| c.at.elapsed() < CODE_LIFE);
    let issued = Issued {
        redirect_uri: flow.redirect_uri.clone(),
        challenge: flow.challenge,
        tokens,
        at: Instant::now(),
    };
    pending.codes.insert(ours.clone(), issued);
    let mut pairs = vec![("code", ours.as_str())];
    if let Some(state) = their_state {
        pairs.push(("state", state));
    }
    to(&flow.redirect_uri, &pairs)
}

impl Hosted {
    /// The provider's code exchanged and checked, and its user signed in
    /// to the pool: the pool's `AuthenticationResult`.
    async fn sign_in(&self, code: &str, flow: &Flow) -> Result<Value, String> {
        let provider = self.login.provider.as_ref().ok_or("no provider")?;
        let idp = |e: IdpError| e.to_string();
        let discovery = provider.discover(&self.http).await.map_err(idp)?;
        let redirect = format!("{}/oauth2/idpresponse", self.login.domain_url);
        let token = (provider
            .exchange(&self.http, &discovery, code, &redirect)
            .await)
            .map_err(idp)?;
        let verified = provider.verify(&self.http, &discovery, &token, &flow.nonce);
        let claims = verified.await.map_err(idp)?;
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .ok_or("no sub claim")?;
        let user = self
            .user_of(provider, subject, provider.attributes(&claims))
            .await?;
        let call = json!({
            "UserPoolId": self.login.user_pool_id, "ClientId": self.login.client_id, "Username": user,
            "Scopes": flow.scopes, "Nonce": flow.app_nonce,
        });
        let signed = self.front.api.call("DevstackSignIn", &call).await;
        let signed = signed.map_err(|e| format!("{}: {}", e.kind, e.message))?;
        Ok(signed["AuthenticationResult"].clone())
    }

    /// The pool's user for the provider's subject: the one it is linked
    /// to or its own, made at its first sign-in with Cognito's triggers.
    async fn user_of(
        &self,
        provider: &Provider,
        subject: &str,
        attributes: Vec<Value>,
    ) -> Result<String, String> {
        let username = format!("{}_{subject}", provider.name);
        let request = json!({
            "Username": username, "ClientId": self.login.client_id, "UserAttributes": attributes,
        });
        let find = |create: bool| {
            json!({
                "UserPoolId": self.login.user_pool_id, "ProviderName": provider.name,
                "Subject": subject, "Attributes": attributes, "Create": create,
            })
        };
        let api = &self.front.api;
        match api.call("DevstackFederatedUser", &find(false)).await {
            Ok(found) => {
                let user = found["Username"].as_str().unwrap_or_default().to_owned();
                if let Err(refused) = self.front.signed_in(&user, &request).await {
                    return Err(refusal(refused).await);
                }
                return Ok(user);
            }
            Err(e) if e.kind == "UserNotFoundException" => {}
            Err(e) => return Err(format!("{}: {}", e.kind, e.message)),
        }
        if let Err(refused) = self
            .front
            .pre_sign_up(Source::ExternalProvider, &request)
            .await
        {
            return Err(refusal(refused).await);
        }
        let made = api.call("DevstackFederatedUser", &find(true)).await;
        let made = made.map_err(|e| format!("{}: {}", e.kind, e.message))?;
        let user = made["Username"].as_str().unwrap_or_default().to_owned();
        if made["Created"] == true {
            let confirmed = self
                .front
                .post_confirmation(&user, &self.login.client_id, &request);
            if let Err(refused) = confirmed.await {
                return Err(refusal(refused).await);
            }
        }
        Ok(user)
    }
}

/// A trigger's refusal (Cognito's JSON error) as the text managed login
/// shows.
async fn refusal(answer: Response) -> String {
    let body = axum::body::to_bytes(answer.into_body(), 64 * 1024).await;
    let error: Value = body
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    error["message"]
        .as_str()
        .unwrap_or("a trigger refused the sign-in")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::tokens::s256;
    use super::*;

    #[test]
    fn s256_is_the_base64url_of_the_verifiers_sha256() {
        // Computed apart, with Python's hashlib and base64.
        assert_eq!(
            s256("dBjftJeZ4CVP-mJ0kFwxeMaMcvQjq1xgSBlFuXR7zX4"), // pragma: allowlist secret
            "gGVSrnOEA1EqabqG0O3ZJh-TJO-jrmv7hfgPkZp1-do"        // pragma: allowlist secret
        );
    }

    fn client() -> OAuthClient {
        OAuthClient {
            flows: vec!["code".into()],
            scopes: vec!["openid".into(), "email".into()],
            ..OAuthClient::default()
        }
    }

    fn q(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn pkce_takes_s256_only_and_scopes_the_client_allows() {
        let challenge = "gGVSrnOEA1EqabqG0O3ZJh-TJO-jrmv7hfgPkZp1-do"; // pragma: allowlist secret
        let ok = q(&[
            ("response_type", "code"),
            ("code_challenge_method", "S256"),
            ("code_challenge", challenge),
            ("scope", "openid email"),
        ]);
        assert_eq!(checked(&client(), &ok), Ok(()));
        let plain = q(&[
            ("response_type", "code"),
            ("code_challenge_method", "plain"),
            ("code_challenge", challenge),
        ]);
        assert_eq!(checked(&client(), &plain).unwrap_err().0, "invalid_request");
        let scope = q(&[("response_type", "code"), ("scope", "openid phone")]);
        assert_eq!(checked(&client(), &scope).unwrap_err().0, "invalid_scope");
        let implicit = q(&[("response_type", "token")]);
        assert_eq!(
            checked(&client(), &implicit).unwrap_err().0,
            "unauthorized_client"
        );
    }
}
