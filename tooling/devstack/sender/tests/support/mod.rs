//! What the tests share: a webhook receiver that checks every signature
//! itself (apart from the crate's `Signer`, as the campaigns service
//! will), a sandbox on a free port, and waiting with a deadline.

#![allow(dead_code)] // each test binary uses a part

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use devstack_sender::{Options, Sandbox};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

pub const API_KEY: &str = "sk_test_initial";
pub const SECRET: &str = "whsec_test_secret";

/// One POST the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub body: Value,
    pub raw: Vec<u8>,
    pub timestamp: i64,
    /// The HMAC checked out for this attempt's own timestamp.
    pub signed: bool,
    /// When it arrived, in unix seconds.
    pub arrived: i64,
    pub answered: u16,
}

impl Received {
    pub fn delivery_id(&self) -> &str {
        self.body["delivery_id"].as_str().unwrap_or_default()
    }

    pub fn status(&self) -> &str {
        self.body["status"].as_str().unwrap_or_default()
    }
}

struct Inbox {
    secret: String,
    /// Answers to give, in order; 200 once they run out.
    plan: Mutex<VecDeque<u16>>,
    got: Mutex<Vec<Received>>,
}

pub struct Receiver {
    pub url: String,
    inbox: Arc<Inbox>,
}

impl Receiver {
    pub async fn start(plan: &[u16]) -> Receiver {
        let inbox = Arc::new(Inbox {
            secret: SECRET.to_owned(),
            plan: Mutex::new(plan.iter().copied().collect()),
            got: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, inbox }
    }

    pub fn received(&self) -> Vec<Received> {
        self.inbox.got.lock().unwrap().clone()
    }

    /// The POSTs of one campaign, in arrival order.
    pub fn of(&self, campaign_id: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.body["campaign_id"] == campaign_id)
            .collect()
    }

    /// Waits until `campaign_id` has at least `n` POSTs.
    pub async fn wait_for(&self, campaign_id: &str, n: usize) -> Vec<Received> {
        eventually(&format!("{n} webhook POSTs for {campaign_id}"), || async {
            let got = self.of(campaign_id);
            (got.len() >= n).then_some(got)
        })
        .await
    }
}

async fn receive(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, raw: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let timestamp: i64 = header("sender-timestamp").parse().unwrap_or(-1);
    let arrived = chrono::Utc::now().timestamp();
    let signed = header("content-type") == "application/json"
        && verify(
            &inbox.secret,
            &header("sender-timestamp"),
            &header("sender-signature"),
            &raw,
        )
        && (arrived - timestamp).abs() <= 5;
    let answered = inbox.plan.lock().unwrap().pop_front().unwrap_or(200);
    inbox.got.lock().unwrap().push(Received {
        body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
        raw: raw.to_vec(),
        timestamp,
        signed,
        arrived,
        answered,
    });
    StatusCode::from_u16(answered).unwrap()
}

/// The scheme, as a receiver implements it: HMAC-SHA256 over
/// "<timestamp>.<raw body>", hex after `v1=`, compared in constant time.
fn verify(secret: &str, timestamp: &str, signature: &str, raw: &[u8]) -> bool {
    let Some(given) = signature
        .strip_prefix("v1=")
        .and_then(|h| hex::decode(h).ok())
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(raw);
    mac.verify_slice(&given).is_ok()
}

/// Test timings: 20 ms steps and retries.
pub fn options(webhook_url: Option<String>) -> Options {
    Options {
        webhook_url,
        step: Duration::from_millis(20),
        retry_base: Duration::from_millis(20),
        ..Options::new(API_KEY, SECRET)
    }
}

pub async fn sandbox(options: Options) -> Sandbox {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sandbox::start(listener, options).await.unwrap()
}

/// Polls `check` until it gives a value; fails after 10 s.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A client of the vendor's API.
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn of(sandbox: &Sandbox) -> Api {
        Api {
            base: sandbox.url(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn create(
        &self,
        key: &str,
        idempotency_key: Option<&str>,
        body: &Value,
    ) -> (u16, HeaderMap, Value) {
        let mut request = self
            .http
            .post(format!("{}/v1/campaigns", self.base))
            .bearer_auth(key)
            .json(body);
        if let Some(k) = idempotency_key {
            request = request.header("Idempotency-Key", k);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (
            status,
            headers,
            response.json().await.unwrap_or(Value::Null),
        )
    }

    pub async fn get(&self, key: &str, id: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}/v1/campaigns/{id}", self.base))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    pub async fn control(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}/_sandbox/{path}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "GET /_sandbox/{path}");
        response.json().await.unwrap()
    }

    /// The campaign's record in the sandbox listing.
    pub async fn record(&self, id: &str) -> Value {
        let listing = self.control("campaigns").await;
        listing["campaigns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} not in {listing}"))
    }
}

pub fn campaign(subject: &str, reference: &str) -> Value {
    json!({
        "subject": subject,
        "body": "Hello",
        "recipients": ["a@example.com", "b@example.com"],
        "reference": reference,
    })
}
