//! CloudFront, played locally for one distribution: a request is matched
//! to its cache behavior (the first path pattern that matches, else the
//! default), `/` to the default root object, and answered from the
//! behavior's cache or its origin; an origin's error with a custom error
//! response serves that response's page with its code (a one-page app's
//! deep link); the managed SecurityHeadersPolicy adds its headers. Only
//! GET and HEAD are let through (CloudFront's default allowed methods).
//!
//! The origins are the caller's ([`Origins`]): the local cloud reads the
//! bucket as CloudFront's origin access would, judged by the bucket's
//! policy. What is not played: HTTPS (a `redirect-to-https` behavior is
//! served over plain HTTP locally), edge locations, compression, signed
//! URLs, query strings, cookies and headers in the cache key (the managed
//! policies played keep none of them).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One distribution, as the local CDN plays it.
#[derive(Debug, Clone)]
pub struct Spec {
    pub id: String,
    pub default_root_object: Option<String>,
    /// `CacheBehaviors` in order, then the default (no pattern).
    pub behaviors: Vec<Behavior>,
    pub error_responses: Vec<ErrorResponse>,
}

#[derive(Debug, Clone)]
pub struct Behavior {
    pub path_pattern: Option<String>,
    pub origin: String,
    /// CachingOptimized (kept a day) or CachingDisabled.
    pub cached: bool,
    pub security_headers: bool,
}

#[derive(Debug, Clone)]
pub struct ErrorResponse {
    pub error_code: u16,
    pub response_code: Option<u16>,
    pub response_page_path: Option<String>,
}

/// What an origin answered for a key.
#[derive(Debug, Clone)]
pub struct Object {
    pub status: u16,
    pub content_type: Option<String>,
    /// The origin's other headers (a page's `cache-control`, its content
    /// security policy), passed on as CloudFront passes them.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Object {
    /// An answer with its content type and no other header.
    pub fn new(status: u16, content_type: Option<&str>, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            content_type: content_type.map(str::to_owned),
            headers: Vec::new(),
            body: body.into(),
        }
    }
}

pub type Fetch<'a> = Pin<Box<dyn Future<Output = Object> + Send + 'a>>;

/// The origins by id: reads `key` (the path without its leading `/`).
pub trait Origins: Send + Sync {
    fn get<'a>(&'a self, origin: &'a str, key: &'a str) -> Fetch<'a>;
}

/// CachingOptimized's default TTL.
const CACHED_FOR: Duration = Duration::from_secs(86_400);

/// The managed SecurityHeadersPolicy's headers.
const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("strict-transport-security", "max-age=31536000"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "SAMEORIGIN"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("x-xss-protection", "1; mode=block"),
];

pub struct Cdn {
    spec: Spec,
    origins: Arc<dyn Origins>,
    cache: Mutex<HashMap<String, (Instant, Object)>>,
}

impl Cdn {
    pub fn new(spec: Spec, origins: Arc<dyn Origins>) -> Arc<Self> {
        Arc::new(Self {
            spec,
            origins,
            cache: Mutex::new(HashMap::new()),
        })
    }

    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// CreateInvalidation's paths (`/index.html`, `/campaigns/*`): what
    /// they name is read from the origin again.
    pub fn invalidate(&self, paths: &[String]) -> usize {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let before = cache.len();
        cache.retain(|path, _| !paths.iter().any(|p| matches(p, path)));
        before - cache.len()
    }

    fn behavior(&self, path: &str) -> &Behavior {
        let key = path.trim_start_matches('/');
        (self.spec.behaviors.iter())
            .find(|b| b.path_pattern.as_deref().is_some_and(|p| matches(p, key)))
            .or_else(|| self.spec.behaviors.last())
            .expect("a distribution has its default behavior")
    }

    /// The object for `path` through its behavior: from the cache, or the
    /// origin (kept when the behavior caches and the answer is a 200).
    async fn object(&self, path: &str) -> (Object, &'static str) {
        let behavior = self.behavior(path);
        if behavior.cached {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, object)) = cache.get(path)
                && at.elapsed() < CACHED_FOR
            {
                return (object.clone(), "Hit from cloudfront");
            }
        }
        let key = path.trim_start_matches('/');
        let object = self.origins.get(&behavior.origin, key).await;
        if behavior.cached && object.status == 200 {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.insert(path.to_owned(), (Instant::now(), object.clone()));
        }
        (object, "Miss from cloudfront")
    }

    async fn serve(&self, method: &Method, uri: &Uri) -> Response {
        if method != Method::GET && method != Method::HEAD {
            let refused = Object::new(
                403,
                None,
                Bytes::from_static(b"This distribution is not configured to allow the HTTP request method that was used for this request."),
            );
            return self.finish(
                StatusCode::FORBIDDEN,
                &refused,
                "Error from cloudfront",
                self.behavior(uri.path()),
            );
        }
        let path = match (uri.path(), &self.spec.default_root_object) {
            ("/", Some(root)) => format!("/{root}"),
            (p, _) => p.to_owned(),
        };
        let behavior = self.behavior(&path);
        let (object, cache) = self.object(&path).await;
        if object.status >= 400
            && let Some(error) = self
                .spec
                .error_responses
                .iter()
                .find(|e| e.error_code == object.status)
        {
            return self.error_page(error, &object, behavior).await;
        }
        let status = StatusCode::from_u16(object.status).unwrap_or(StatusCode::BAD_GATEWAY);
        self.finish(status, &object, cache, behavior)
    }

    /// A custom error response: its page (read through its own behavior)
    /// with its code.
    async fn error_page(
        &self,
        error: &ErrorResponse,
        failed: &Object,
        behavior: &Behavior,
    ) -> Response {
        let code = error.response_code.unwrap_or(error.error_code);
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
        let page = match &error.response_page_path {
            Some(page) => self.object(page).await.0,
            None => failed.clone(),
        };
        self.finish(status, &page, "Error from cloudfront", behavior)
    }

    fn finish(
        &self,
        status: StatusCode,
        object: &Object,
        cache: &'static str,
        behavior: &Behavior,
    ) -> Response {
        let mut headers = HeaderMap::new();
        for (name, value) in &object.headers {
            if let (Ok(n), Ok(v)) = (
                axum::http::HeaderName::try_from(name.as_str()),
                HeaderValue::from_str(value),
            ) {
                headers.insert(n, v);
            }
        }
        let mut put = |name: &'static str, value: &str| {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(name, v);
            }
        };
        if let Some(t) = &object.content_type {
            put("content-type", t);
        }
        put("x-cache", cache);
        put(
            "via",
            &format!(
                "1.1 {}.cloudfront.net (CloudFront)",
                self.spec.id.to_lowercase()
            ),
        );
        put("x-amz-cf-pop", "LOCAL");
        put("x-amz-cf-id", &uuid::Uuid::new_v4().simple().to_string());
        if behavior.security_headers {
            for (name, value) in SECURITY_HEADERS {
                put(name, value);
            }
        }
        (status, headers, object.body.clone()).into_response()
    }
}

/// A CloudFront path pattern: `*` any characters (slashes too), `?` one;
/// the leading `/` is optional on both sides.
pub fn matches(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], s) || (!s.is_empty() && go(p, &s[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &s[1..]),
            _ => false,
        }
    }
    go(
        pattern.trim_start_matches('/').as_bytes(),
        path.trim_start_matches('/').as_bytes(),
    )
}

pub fn router(cdn: Arc<Cdn>) -> Router {
    Router::new().fallback(handle).with_state(cdn)
}

async fn handle(State(cdn): State<Arc<Cdn>>, method: Method, uri: Uri) -> Response {
    let response = cdn.serve(&method, &uri).await;
    tracing::debug!(distribution = %cdn.spec.id, %uri, status = %response.status(), "cdn");
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_patterns_match_as_cloudfronts_do() {
        assert!(matches("config.json", "/config.json"));
        assert!(matches("/campaigns/*", "campaigns/a/b"));
        assert!(matches("*.js", "js/main.js"));
        assert!(matches("img/?.png", "img/a.png"));
        assert!(!matches("img/?.png", "img/ab.png"));
        assert!(!matches("config.json", "config.json.bak"));
    }

    struct Counting(Mutex<usize>);

    impl Origins for Counting {
        fn get<'a>(&'a self, _: &'a str, key: &'a str) -> Fetch<'a> {
            *self.0.lock().unwrap() += 1;
            let object = match key {
                "index.html" => Object::new(200, Some("text/html"), &b"<html>app</html>"[..]),
                "config.json" => Object::new(200, Some("application/json"), &b"{}"[..]),
                _ => Object::new(
                    403,
                    Some("application/xml"),
                    &b"<Error>AccessDenied</Error>"[..],
                ),
            };
            Box::pin(async move { object })
        }
    }

    fn cdn() -> (Arc<Cdn>, Arc<Counting>) {
        let origins = Arc::new(Counting(Mutex::new(0)));
        let behavior = |pattern: Option<&str>, cached| Behavior {
            path_pattern: pattern.map(str::to_owned),
            origin: "site".into(),
            cached,
            security_headers: true,
        };
        let spec = Spec {
            id: "ELOCALTESTDIST".into(),
            default_root_object: Some("index.html".into()),
            behaviors: vec![behavior(Some("config.json"), false), behavior(None, true)],
            error_responses: vec![ErrorResponse {
                error_code: 403,
                response_code: Some(200),
                response_page_path: Some("/index.html".into()),
            }],
        };
        (Cdn::new(spec, origins.clone()), origins)
    }

    async fn get(cdn: &Cdn, path: &str) -> Response {
        cdn.serve(&Method::GET, &path.parse().unwrap()).await
    }

    #[tokio::test]
    async fn the_root_a_deep_link_and_the_cache_as_cloudfront_serves_them() {
        let (cdn, origins) = cdn();
        let root = get(&cdn, "/").await;
        assert_eq!(root.status(), 200);
        assert_eq!(root.headers()["x-cache"], "Miss from cloudfront");
        assert_eq!(root.headers()["x-frame-options"], "SAMEORIGIN");
        assert_eq!(
            get(&cdn, "/index.html").await.headers()["x-cache"],
            "Hit from cloudfront"
        );
        let deep = get(&cdn, "/todos/42").await;
        assert_eq!(deep.status(), 200, "the SPA error response");
        assert_eq!(deep.headers()["content-type"], "text/html");
        let reads = *origins.0.lock().unwrap();
        for _ in 0..3 {
            get(&cdn, "/config.json").await;
        }
        assert_eq!(
            *origins.0.lock().unwrap(),
            reads + 3,
            "CachingDisabled reads each time"
        );
        assert_eq!(cdn.invalidate(&["/index*".into()]), 1);
        assert_eq!(
            get(&cdn, "/").await.headers()["x-cache"],
            "Miss from cloudfront"
        );
        let post = cdn.serve(&Method::POST, &"/".parse().unwrap()).await;
        assert_eq!(post.status(), 403);
    }
}
