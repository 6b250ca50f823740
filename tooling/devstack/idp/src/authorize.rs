//! The authorization endpoint: the consent page (`GET /authorize`) and the
//! person's answer (`POST /authorize`), which goes back to the client's
//! redirect URI with a code or an error (RFC 6749 §4.1.1-4.1.2).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::{Grant, Person, Shared};
use crate::{pages, subject_of};

type Params = HashMap<String, String>;

/// The request's parameters the consent form sends back.
const CARRIED: [&str; 5] = ["client_id", "redirect_uri", "scope", "state", "nonce"];

fn param<'p>(p: &'p Params, key: &str) -> Option<&'p str> {
    p.get(key).map(String::as_str)
}

/// The field at fault and why, for the error page.
type Unregistered = (&'static str, &'static str);

/// The redirect URI to answer at. An unknown client or a URI it did not
/// register gets the 400 page instead: redirecting there would hand codes
/// or errors to whoever wrote the link (RFC 6749 §4.1.2.1).
fn registered<'p>(s: &Shared, p: &'p Params) -> Result<&'p str, Unregistered> {
    if param(p, "client_id") != Some(s.options.client_id.as_str()) {
        tracing::info!("idp: authorization refused, unknown client_id");
        return Err(("client_id", "no such client"));
    }
    match param(p, "redirect_uri") {
        Some(uri) if s.is_registered(uri) => Ok(uri),
        _ => {
            tracing::info!("idp: authorization refused, unregistered redirect_uri");
            Err(("redirect_uri", "not registered for this client"))
        }
    }
}

/// A 302 to the client's `uri` with `pairs` and the request's `state`
/// added to its query.
fn back(uri: &str, pairs: &[(&str, &str)], p: &Params) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(pairs);
    if let Some(state) = param(p, "state") {
        query.append_pair("state", state);
    }
    let joint = if uri.contains('?') { '&' } else { '?' };
    let location = format!("{uri}{joint}{}", query.finish());
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

fn asks_openid(p: &Params) -> bool {
    param(p, "scope").is_some_and(|s| s.split_whitespace().any(|s| s == "openid"))
}

pub async fn consent(State(s): State<Arc<Shared>>, Query(p): Query<Params>) -> Response {
    let redirect = match registered(&s, &p) {
        Ok(uri) => uri,
        Err((field, why)) => return pages::error(field, why),
    };
    if param(&p, "response_type") != Some("code") {
        return back(redirect, &[("error", "unsupported_response_type")], &p);
    }
    if !asks_openid(&p) {
        return back(redirect, &[("error", "invalid_scope")], &p);
    }
    let carried: Vec<(&str, &str)> = CARRIED
        .into_iter()
        .filter_map(|k| Some((k, param(&p, k)?)))
        .collect();
    pages::consent(&carried)
}

pub async fn decide(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let p: Params = form_urlencoded::parse(&body).into_owned().collect();
    let redirect = match registered(&s, &p) {
        Ok(uri) => uri,
        Err((field, why)) => return pages::error(field, why),
    };
    // Anything but an explicit allow is a refusal.
    if param(&p, "decision") != Some("allow") {
        tracing::info!("idp: the person denied the client");
        return back(redirect, &[("error", "access_denied")], &p);
    }
    // The form carries the scope back: still no code for a non-OIDC one.
    if !asks_openid(&p) {
        return back(redirect, &[("error", "invalid_scope")], &p);
    }
    let Some(person) = person_of(&p) else {
        return pages::error("email", "a valid email address is needed to sign in");
    };
    tracing::debug!(email = %person.email, "idp: consent given");
    let code = s.remember_code(grant_of(&s, &p, redirect, person));
    back(redirect, &[("code", &code)], &p)
}

/// What the code will stand for, consent given now.
fn grant_of(s: &Shared, p: &Params, redirect_uri: &str, person: Person) -> Grant {
    Grant {
        client_id: s.options.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scope: param(p, "scope").unwrap_or_default().to_owned(),
        nonce: non_empty(p, "nonce"),
        person,
        auth_time: chrono::Utc::now().timestamp(),
        issued: std::time::Instant::now(),
    }
}

fn non_empty(p: &Params, key: &str) -> Option<String> {
    param(p, key)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Who the form says the person is, if its email is plausible.
fn person_of(p: &Params) -> Option<Person> {
    let email = param(p, "email")?.trim();
    plausible_email(email).then(|| Person {
        sub: subject_of(email),
        email: email.to_owned(),
        email_verified: true,
        name: non_empty(p, "name"),
    })
}

/// One `@` between a non-empty local part and a dotted domain, no spaces:
/// enough to catch a slip, as the form's `type="email"` does.
fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let dotted = domain.contains('.') && domain.split('.').all(|label| !label.is_empty());
    email.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace)
        && dotted
}

#[cfg(test)]
mod tests {
    use super::plausible_email;

    #[test]
    fn an_email_needs_a_local_part_and_a_dotted_domain() {
        assert!(plausible_email("ada@example.com"));
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "a@b@c.d",
            "a b@c.d",
            "a@b..c",
        ] {
            assert!(!plausible_email(bad), "{bad}");
        }
    }
}
