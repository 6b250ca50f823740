//! A browser's redirects, followed by hand: where each answer sends it,
//! and the outside provider's consent, as managed login's sign-in goes
//! through the provider's stand-in.

use std::collections::HashMap;

use reqwest::redirect::Policy;

/// `base` with `pairs` as its query (the workspace's reqwest has no
/// `query` or `form` feature).
pub fn with_query<'a>(base: &str, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{base}?{query}")
}

/// A form body of `pairs`, URL-encoded.
pub fn form<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> reqwest::Body {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
        .into()
}

/// A query's or form's fields as pairs.
pub fn pairs(map: &HashMap<String, String>) -> impl Iterator<Item = (&str, &str)> {
    map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

/// A client that follows no redirect: each is read and followed by hand.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Where a redirect sends the browser: the address without its query,
/// and the query (read with the URL parser reqwest uses).
pub struct Target {
    pub base: String,
    pub query: HashMap<String, String>,
}

impl Target {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }
}

/// Where `answer` (a redirect) sends the browser.
pub fn location(answer: &reqwest::Response) -> Target {
    let to = answer.headers().get("location").expect("a redirect");
    let mut url = reqwest::Url::parse(to.to_str().unwrap()).unwrap();
    let query = url.query_pairs().into_owned().collect();
    url.set_query(None);
    Target {
        base: url.into(),
        query,
    }
}

/// The person consents at the provider as `email`: where managed login
/// sends the browser back to the app.
pub async fn consent(at_provider: Target, email: &str) -> Target {
    let page = http()
        .get(with_query(&at_provider.base, pairs(&at_provider.query)))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "the provider's consent page");
    let mut fields = at_provider.query.clone();
    fields.insert("email".into(), email.into());
    fields.insert("name".into(), "Fed".into());
    fields.insert("decision".into(), "allow".into());
    let allowed = (http().post(&at_provider.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(pairs(&fields)))
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 302, "{}", allowed.text().await.unwrap());
    let to_cognito = location(&allowed);
    assert!(
        to_cognito.base.ends_with("/oauth2/idpresponse"),
        "{}",
        to_cognito.base
    );
    let back = http()
        .get(with_query(&to_cognito.base, pairs(&to_cognito.query)))
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), 302, "{}", back.text().await.unwrap());
    location(&back)
}
