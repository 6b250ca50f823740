//! What the tests share: a provider on a free port with its redirect URIs
//! registered, and the client's side of the flow over real HTTP (the
//! Basic credentials encoded here, apart from the crate's decoding).

#![allow(dead_code)] // each test uses a part

use crate::{Options, Provider};
use reqwest::header::HeaderMap;
use serde_json::Value;

pub const CLIENT: &str = "pool client+1";
/// Characters RFC 6749 §2.3.1 has the client form-encode in Basic.
pub const SECRET: &str = "s3cret:with/odd&chars=+%";
pub const REDIRECT: &str = "http://127.0.0.1:1/oauth2/idpresponse";
/// A second registered URI, with a query of its own.
pub const OTHER_REDIRECT: &str = "http://127.0.0.1:1/other?tenant=a";

pub async fn provider() -> Provider {
    let p = unregistered().await;
    p.set_redirect_uris(vec![REDIRECT.into(), OTHER_REDIRECT.into()]);
    p
}

/// A provider whose client has not registered its redirect URIs yet.
pub async fn unregistered() -> Provider {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = Options {
        client_id: CLIENT.into(),
        client_secret: SECRET.into(),
    };
    crate::start(listener, options).await.unwrap()
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn form<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// One value form-encoded, as Basic's id and secret are.
fn form_value(value: &str) -> String {
    form([("x", value)])["x=".len()..].to_owned()
}

/// The authorization request's parameters, for `redirect`.
pub fn request(redirect: &str) -> Vec<(&str, &str)> {
    vec![
        ("response_type", "code"),
        ("client_id", CLIENT),
        ("redirect_uri", redirect),
        ("scope", "openid email"),
        ("state", "st"),
        ("nonce", "n-1"),
    ]
}

pub async fn get_authorize(p: &Provider, pairs: &[(&str, &str)]) -> reqwest::Response {
    let url = format!("{}/authorize?{}", p.issuer(), form(pairs.iter().copied()));
    http().get(url).send().await.unwrap()
}

/// How a client authenticates at the token endpoint.
pub enum Auth<'a> {
    Basic(&'a str),
    Post(&'a str),
}

pub async fn post_form(
    url: String,
    pairs: &[(&str, &str)],
    auth: Option<Auth<'_>>,
) -> reqwest::Response {
    let mut pairs = pairs.to_vec();
    let mut request = http()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded");
    match auth {
        Some(Auth::Basic(secret)) => {
            request = request.basic_auth(form_value(CLIENT), Some(form_value(secret)));
        }
        Some(Auth::Post(secret)) => {
            pairs.extend([("client_id", CLIENT), ("client_secret", secret)])
        }
        None => {}
    }
    request.body(form(pairs)).send().await.unwrap()
}

/// The query a redirect carries back.
pub fn returned(answer: &reqwest::Response) -> Vec<(String, String)> {
    let location = answer.headers()["location"].to_str().unwrap();
    let query = location.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

pub fn value_of(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// The consent form submitted with `decision` (and `extra` fields).
pub async fn decide(
    p: &Provider,
    redirect: &str,
    decision: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut fields: Vec<(&str, &str)> = request(redirect)
        .into_iter()
        .filter(|(k, _)| *k != "response_type")
        .collect();
    fields.push(("decision", decision));
    fields.extend_from_slice(extra);
    post_form(format!("{}/authorize", p.issuer()), &fields, None).await
}

/// Consent given as `email`: the code the client gets back.
pub async fn code(p: &Provider, email: &str, redirect: &str) -> String {
    let answer = decide(p, redirect, "allow", &[("email", email), ("name", "Ada L")]).await;
    assert_eq!(answer.status(), 302);
    let back = returned(&answer);
    assert_eq!(value_of(&back, "state").as_deref(), Some("st"));
    value_of(&back, "code").expect("a code")
}

/// The token endpoint's answer to `code`.
pub struct Exchanged {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

pub async fn exchange(p: &Provider, code: &str, redirect: &str, auth: Auth<'_>) -> Exchanged {
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
    ];
    token(p, &pairs, Some(auth)).await
}

pub async fn token(p: &Provider, pairs: &[(&str, &str)], auth: Option<Auth<'_>>) -> Exchanged {
    let answer = post_form(format!("{}/token", p.issuer()), pairs, auth).await;
    Exchanged {
        status: answer.status().as_u16(),
        headers: answer.headers().clone(),
        body: answer.json().await.unwrap(),
    }
}

pub async fn get_json(url: String) -> Value {
    let answer = http().get(url).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    answer.json().await.unwrap()
}
