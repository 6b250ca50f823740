//! Faults on purpose, to prove the delivery guarantees hold when the cloud
//! misbehaves. Every function reaches the emulator through a proxy port of
//! its own (`AWS_ENDPOINT_URL`), which hands its calls on to the gate
//! ([`crate::call_gate`]), so a fault can be aimed at one function and counted
//! against it. Switched off, the proxy only forwards.
//!
//! Faults, each answered in the shape the caller's protocol uses so the SDK
//! treats it as it would AWS's:
//! - `error`: a 500 before the call reaches the emulator (nothing applied);
//! - `throttle`: before the call too: DynamoDB and EventBridge (JSON) a 400
//!   `ThrottlingException` with `x-amzn-errortype`; SNS (query) a 429
//!   `ThrottledException`; S3 (REST-XML) a 503 `SlowDown`;
//! - `drop`: the call *is* applied, then the connection closes without an
//!   answer: the caller cannot know, and its retry repeats a write that
//!   happened. The one that tests idempotency;
//! - `denied`: access denied (400 `AccessDeniedException`, S3 403
//!   `AccessDenied`, SNS 403 `AuthorizationError`), which the SDK does not
//!   retry: the function fails at once.
//!
//! An outage fails every call of one function for a window (a consumer
//! made to fail for a while, then recover). Kills end a function's process
//! as a crash would ([`Function::kill`]); the supervisor restarts it. All of
//! it is driven through the control API ([`router`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, Response, StatusCode};
use devstack_api::chaos::{Counts, Fault, OutageRequest, Rng, Settings, Status};
use devstack_lambda::runtime::Function;

use crate::protocol::{Protocol, plain};

#[derive(Debug, Clone)]
struct Outage {
    function: String,
    kind: Fault,
    until: Instant,
}

/// The fault proxy of a running local cloud.
pub struct Chaos {
    /// Where calls go on: the gate.
    gate: String,
    client: reqwest::Client,
    /// Off: the request path takes no lock at all.
    armed: AtomicBool,
    calls: AtomicU64,
    state: Mutex<State>,
}

struct State {
    settings: Settings,
    outages: Vec<Outage>,
    counts: Counts,
    rng: Rng,
    /// `<service>/<LogicalId>` → its proxy URL.
    ports: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    #[error("no function {0} runs here")]
    UnknownFunction(String),
    #[error("{0}")]
    Invalid(String),
    #[error("this local cloud runs without fault proxies: start it with `devstack up --faults`")]
    Off,
}

impl Chaos {
    /// `gate`: where calls go on, to be judged and reach the emulator.
    pub fn new(gate: &str) -> Arc<Self> {
        Arc::new(Self {
            gate: gate.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            armed: AtomicBool::new(false),
            calls: AtomicU64::new(0),
            state: Mutex::new(State {
                settings: Settings::default(),
                outages: Vec::new(),
                counts: Counts::default(),
                rng: Rng(0x5EED),
                ports: BTreeMap::new(),
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A proxy port for one function: its URL, and the task serving it.
    pub async fn listen(
        self: &Arc<Self>,
        function: &str,
    ) -> std::io::Result<(String, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        self.lock().ports.insert(function.to_owned(), url.clone());
        let chaos = self.clone();
        let function: Arc<str> = function.into();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let chaos = chaos.clone();
                let function = function.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let chaos = chaos.clone();
                        let function = function.clone();
                        async move { chaos.handle(&function, request).await }
                    });
                    // An error from the service closes the connection
                    // without an answer: that is how a drop is made.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok((url, task))
    }

    pub fn status(&self) -> Status {
        let now = Instant::now();
        let mut state = self.lock();
        state.counts.calls = self.calls.load(Ordering::Relaxed);
        state.outages.retain(|o| o.until > now);
        Status {
            settings: state.settings.clone(),
            outages: state
                .outages
                .iter()
                .map(|o| (o.function.clone(), (o.until - now).as_millis() as u64))
                .collect(),
            counts: state.counts.clone(),
            functions: state.ports.keys().cloned().collect(),
        }
    }

    pub fn configure(&self, settings: Settings) -> Result<(), ChaosError> {
        if !(0.0..=1.0).contains(&settings.share) {
            return Err(ChaosError::Invalid(format!(
                "share must be between 0 and 1 (got {})",
                settings.share
            )));
        }
        if settings.enabled && settings.kinds.is_empty() {
            return Err(ChaosError::Invalid(
                "kinds must name at least one fault".into(),
            ));
        }
        let mut state = self.lock();
        if settings.enabled && state.ports.is_empty() {
            return Err(ChaosError::Off);
        }
        if let Some(f) = settings
            .functions
            .iter()
            .find(|f| !state.ports.contains_key(*f))
        {
            return Err(ChaosError::UnknownFunction(f.clone()));
        }
        if let Some(seed) = settings.seed {
            state.rng = Rng(seed);
        }
        state.settings = settings;
        self.rearm(&state);
        Ok(())
    }

    /// Random faults off and every outage ended; the counts stay.
    pub fn calm(&self) {
        let mut state = self.lock();
        state.settings.enabled = false;
        state.outages.clear();
        self.rearm(&state);
    }

    pub fn outage(&self, request: &OutageRequest) -> Result<(), ChaosError> {
        if !(request.seconds.is_finite() && request.seconds > 0.0) {
            return Err(ChaosError::Invalid("seconds must be positive".into()));
        }
        let mut state = self.lock();
        if state.ports.is_empty() {
            return Err(ChaosError::Off);
        }
        if !state.ports.contains_key(&request.function) {
            return Err(ChaosError::UnknownFunction(request.function.clone()));
        }
        let until = Instant::now() + Duration::from_secs_f64(request.seconds);
        state.outages.retain(|o| o.function != request.function);
        state.outages.push(Outage {
            function: request.function.clone(),
            kind: request.kind,
            until,
        });
        tracing::warn!(target: "trail", function = %request.function, seconds = request.seconds, kind = ?request.kind, "chaos: outage");
        self.rearm(&state);
        Ok(())
    }

    pub fn killed(&self, function: &str) {
        *self
            .lock()
            .counts
            .kills
            .entry(function.to_owned())
            .or_default() += 1;
    }

    fn rearm(&self, state: &State) {
        let armed =
            (state.settings.enabled && state.settings.share > 0.0) || !state.outages.is_empty();
        self.armed.store(armed, Ordering::SeqCst);
    }

    /// Whether this call of `function` fails, and how.
    fn pick(&self, function: &str) -> Option<Fault> {
        if !self.armed.load(Ordering::Relaxed) {
            return None;
        }
        let now = Instant::now();
        let mut state = self.lock();
        let before = state.outages.len();
        state.outages.retain(|o| o.until > now);
        if state.outages.len() != before {
            self.rearm(&state);
        }
        if let Some(kind) = state
            .outages
            .iter()
            .find(|o| o.function == function)
            .map(|o| o.kind)
        {
            *state.counts.outage.entry(function.to_owned()).or_default() += 1;
            return Some(kind);
        }
        let s = &state.settings;
        if !s.enabled
            || s.kinds.is_empty()
            || !(s.functions.is_empty() || s.functions.iter().any(|f| f == function))
        {
            return None;
        }
        let share = s.share;
        let kinds = s.kinds.clone();
        if state.rng.unit() >= share {
            return None;
        }
        let kind = kinds[(state.rng.next_u64() % kinds.len() as u64) as usize];
        *state.counts.faults.entry(kind).or_default() += 1;
        *state
            .counts
            .by_function
            .entry(function.to_owned())
            .or_default() += 1;
        Some(kind)
    }

    async fn handle(
        &self,
        function: &str,
        request: Request<hyper::body::Incoming>,
    ) -> Result<Response<Body>, ProxyDrop> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let fault = self.pick(function);
        let (parts, body) = request.into_parts();
        let protocol = Protocol::of(&parts.headers);
        match fault {
            Some(Fault::Error) => {
                tracing::debug!(target: "trail", function, "chaos: 500");
                return Ok(protocol.error(false));
            }
            Some(Fault::Throttle) => {
                tracing::debug!(target: "trail", function, "chaos: throttle");
                return Ok(protocol.error(true));
            }
            Some(Fault::Denied) => {
                tracing::debug!(target: "trail", function, "chaos: denied");
                return Ok(protocol.denied("not authorized to perform this action (chaos outage)"));
            }
            _ => {}
        }
        let body = match axum::body::to_bytes(Body::new(body), usize::MAX).await {
            Ok(b) => b,
            Err(_) => return Err(ProxyDrop),
        };
        let answer = self
            .forward(parts.method, &parts.uri, &parts.headers, body)
            .await;
        if fault == Some(Fault::Drop) {
            tracing::debug!(target: "trail", function, "chaos: answer dropped");
            return Err(ProxyDrop);
        }
        Ok(answer)
    }

    async fn forward(
        &self,
        method: Method,
        uri: &axum::http::Uri,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Response<Body> {
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        // A HEAD answer's length is the object's (S3's HeadObject): it
        // must pass as it is, not be recomputed from the empty body.
        let head = method == Method::HEAD;
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.gate))
            .body(body);
        // The host stays the one the function signed for: the gate checks
        // the signature.
        for (name, value) in headers {
            if name != "content-length" {
                request = request.header(name, value);
            }
        }
        let answer = match request.send().await {
            Ok(a) => a,
            Err(e) => {
                return plain(StatusCode::BAD_GATEWAY, format!("fault proxy: {e}"));
            }
        };
        let status = answer.status();
        let answer_headers = answer.headers().clone();
        let bytes = answer.bytes().await.unwrap_or_default();
        let mut response = Response::new(Body::from(bytes));
        *response.status_mut() = status;
        for (name, value) in &answer_headers {
            if (head || name != "content-length") && name != "transfer-encoding" {
                response.headers_mut().append(name, value.clone());
            }
        }
        response
    }
}

/// Returned by the proxy's service to close the connection unanswered.
#[derive(Debug)]
struct ProxyDrop;

impl std::fmt::Display for ProxyDrop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for ProxyDrop {}

/// The chaos part of the control API:
/// - `GET /chaos`: settings, outages, counts, the functions;
/// - `PUT /chaos`: [`Settings`] (random faults: share, kinds, functions, seed);
/// - `DELETE /chaos`: every fault off (the counts stay);
/// - `POST /chaos/outage`: [`OutageRequest`], one function fails for a while;
/// - `POST /chaos/kill/{service}/{logical_id}`: a crash of its process.
pub fn router(chaos: Arc<Chaos>, functions: BTreeMap<String, Function>) -> axum::Router {
    use axum::Json;
    use axum::extract::{Path, State};
    use axum::response::IntoResponse;
    use axum::routing::{get, post};
    type St = State<(Arc<Chaos>, Arc<BTreeMap<String, Function>>)>;

    fn refused(e: ChaosError) -> axum::response::Response {
        let status = match e {
            ChaosError::UnknownFunction(_) => StatusCode::NOT_FOUND,
            ChaosError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ChaosError::Off => StatusCode::CONFLICT,
        };
        (status, Json(serde_json::json!({"error": e.to_string()}))).into_response()
    }
    async fn status(State((chaos, _)): St) -> Json<Status> {
        Json(chaos.status())
    }
    async fn configure(State((chaos, _)): St, Json(s): Json<Settings>) -> axum::response::Response {
        match chaos.configure(s) {
            Ok(()) => Json(chaos.status()).into_response(),
            Err(e) => refused(e),
        }
    }
    async fn calm(State((chaos, _)): St) -> Json<Status> {
        chaos.calm();
        Json(chaos.status())
    }
    async fn outage(
        State((chaos, _)): St,
        Json(o): Json<OutageRequest>,
    ) -> axum::response::Response {
        match chaos.outage(&o) {
            Ok(()) => Json(chaos.status()).into_response(),
            Err(e) => refused(e),
        }
    }
    async fn kill(
        State((chaos, functions)): St,
        Path((service, logical)): Path<(String, String)>,
    ) -> axum::response::Response {
        let name = format!("{service}/{logical}");
        let Some(f) = functions.get(&name) else {
            return refused(ChaosError::UnknownFunction(name));
        };
        tracing::warn!(target: "trail", function = %name, "chaos: kill");
        f.kill();
        chaos.killed(&name);
        Json(chaos.status()).into_response()
    }
    axum::Router::new()
        .route("/chaos", get(status).put(configure).delete(calm))
        .route("/chaos/outage", post(outage))
        .route("/chaos/kill/{service}/{logical}", post(kill))
        .with_state((chaos, Arc::new(functions)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upstream that counts what reaches it and answers HEAD with an
    /// object's length, as S3 does.
    async fn upstream() -> (String, Arc<AtomicU64>) {
        let hits = Arc::new(AtomicU64::new(0));
        let counted = hits.clone();
        let app = axum::Router::new().fallback(move |method: Method| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                let mut r = Response::new(Body::from(if method == Method::HEAD {
                    ""
                } else {
                    "forty bytes of object, give or take some"
                }));
                r.headers_mut()
                    .insert("content-length", axum::http::HeaderValue::from_static("40"));
                r
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, hits)
    }

    #[tokio::test]
    async fn the_proxy_passes_calls_through_and_a_head_keeps_its_length() {
        let (url, hits) = upstream().await;
        let chaos = Chaos::new(&url);
        let (proxy, _task) = chaos.listen("todos/F").await.unwrap();
        let http = reqwest::Client::new();
        let head = http
            .head(format!("{proxy}/bucket/key"))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers()["content-length"], "40");
        let get = http
            .get(format!("{proxy}/bucket/key"))
            .send()
            .await
            .unwrap();
        assert_eq!(get.text().await.unwrap().len(), 40);
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        assert_eq!(chaos.status().counts.calls, 2);
    }

    #[tokio::test]
    async fn a_drop_applies_the_call_and_closes_the_connection_unanswered() {
        let (url, hits) = upstream().await;
        let chaos = Chaos::new(&url);
        let (proxy, _task) = chaos.listen("todos/F").await.unwrap();
        chaos
            .configure(Settings {
                enabled: true,
                share: 1.0,
                kinds: vec![Fault::Drop],
                ..Settings::default()
            })
            .unwrap();
        let answer = reqwest::Client::new()
            .post(format!("{proxy}/"))
            .header("x-amz-target", "DynamoDB_20120810.PutItem")
            .body("{}")
            .send()
            .await;
        assert!(answer.is_err(), "{answer:?}");
        assert_eq!(hits.load(Ordering::SeqCst), 1, "the call was applied");
        chaos
            .configure(Settings {
                enabled: true,
                share: 1.0,
                kinds: vec![Fault::Throttle],
                ..Settings::default()
            })
            .unwrap();
        let throttled = reqwest::Client::new()
            .post(format!("{proxy}/"))
            .header("x-amz-target", "DynamoDB_20120810.PutItem")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(throttled.status(), 400);
        assert_eq!(hits.load(Ordering::SeqCst), 1, "a throttled call is not");
        let counts = chaos.status().counts;
        assert_eq!(counts.faults[&Fault::Drop], 1);
        assert_eq!(counts.faults[&Fault::Throttle], 1);
        assert_eq!(counts.by_function["todos/F"], 2);
    }

    #[test]
    fn the_share_of_faults_follows_the_settings_and_an_outage_fails_everything() {
        let chaos = Chaos::new("http://127.0.0.1:1");
        chaos.lock().ports.insert("a/F".into(), String::new());
        chaos.lock().ports.insert("b/G".into(), String::new());
        assert_eq!(chaos.pick("a/F"), None, "off by default");
        chaos
            .configure(Settings {
                enabled: true,
                share: 0.25,
                kinds: vec![Fault::Throttle, Fault::Drop],
                functions: vec!["a/F".into()],
                seed: Some(7),
            })
            .unwrap();
        let picked: Vec<Option<Fault>> = (0..4000).map(|_| chaos.pick("a/F")).collect();
        let faults = picked.iter().flatten().count();
        assert!((800..1200).contains(&faults), "{faults} of 4000");
        assert!(!picked.contains(&Some(Fault::Error)));
        assert_eq!(chaos.pick("b/G"), None, "only the functions named");
        chaos
            .outage(&OutageRequest {
                function: "b/G".into(),
                seconds: 60.0,
                kind: Fault::Error,
            })
            .unwrap();
        assert!((0..50).all(|_| chaos.pick("b/G") == Some(Fault::Error)));
        let counts = chaos.status().counts;
        assert_eq!(counts.outage["b/G"], 50);
        assert_eq!(counts.faults_total() as usize, faults);
        chaos.calm();
        assert_eq!(chaos.pick("b/G"), None);
        assert_eq!(chaos.pick("a/F"), None);
        assert!(matches!(
            chaos.configure(Settings {
                share: 1.5,
                ..Settings::default()
            }),
            Err(ChaosError::Invalid(_))
        ));
        assert!(matches!(
            chaos.outage(&OutageRequest {
                function: "nope/X".into(),
                seconds: 1.0,
                kind: Fault::Error
            }),
            Err(ChaosError::UnknownFunction(_))
        ));
    }
}
