//! The third-party email-campaign sender (a SaaS like Postmark or
//! Mailchimp) played locally: its API, its sandbox's magic values and its
//! signed, retried, sometimes duplicated webhook. The campaigns service
//! is written against the real vendor's contract; this stand-in holds it
//! to that contract's hard parts (auth, idempotency, 5xx/429, events out
//! of order with the caller's own writes, redelivery) on cue.
//!
//! # API
//!
//! - `POST /v1/campaigns`, `Authorization: Bearer <api key>`, optional
//!   `Idempotency-Key`; body `{"subject" (1..=200 characters), "body"
//!   (1..=100000), "recipients" (1..=10000 non-empty strings),
//!   "reference" (the caller's id)}`. 202 `{"id": "cmp_<uuid simple>",
//!   "status": "pending", "reference", "recipients": N}`. A key seen
//!   before answers its campaign again (202, same id, as first answered,
//!   with `Idempotent-Replayed: true`) and starts nothing.
//! - `GET /v1/campaigns/{id}` → 200 `{"id", "status", "reference",
//!   "recipients", "reason"?}` or 404.
//! - Errors: `{"error", "message", "field"?}`. 401 `invalid_api_key`;
//!   400 `invalid_request` with `field` (a campaign field,
//!   `Idempotency-Key`, or `request` for a body that is not a JSON
//!   object); 404 `not_found`; 503 `unavailable`; 429 `rate_limited` with
//!   `Retry-After: 1`.
//!
//! A campaign moves `pending` → `sending` → `sent` (or `failed`), one
//! [`Options::step`] apart; each status, `pending` included, is one
//! webhook delivery.
//!
//! # Sandbox scenarios (markers in the subject; they combine)
//!
//! `[sandbox:fail]` ends `failed`, reason [`REJECTED`];
//! `[sandbox:silent]` is accepted and never moves nor calls;
//! `[sandbox:5xx=N]` / `[sandbox:429=N]`: the first N requests for the
//! Idempotency-Key (without a key: for the exact same body) answer 503 /
//! 429, then the request is accepted (both: the 503s first);
//! `[sandbox:duplicate]` sends every delivery twice; `[sandbox:fast]`
//! moves with no step, so every status is delivered right after the 202.
//!
//! # Control routes (no auth)
//!
//! `GET /_sandbox/campaigns` → [`Listing`]; `GET /_sandbox/stats` →
//! [`Stats`]; `POST /_sandbox/api-key/rotate` → `{"api_key"}`;
//! `PUT /_sandbox/webhook` `{"url"}` → 204.
//!
//! # The webhook
//!
//! `POST <webhook url>`, `Content-Type: application/json`, body
//! ([`Event`]):
//!
//! ```json
//! {"delivery_id": "<uuid v4>", "campaign_id": "cmp_…", "reference": "…",
//!  "status": "pending|sending|sent|failed", "reason": "… (only when failed)",
//!  "occurred_at": "2026-01-02T03:04:05.678Z"}
//! ```
//!
//! Headers:
//!
//! - `Sender-Timestamp: <unix seconds>`, when this attempt was signed;
//! - `Sender-Signature: v1=<hex>`, the lowercase hex of
//!   HMAC-SHA256(key = the signing secret's UTF-8 bytes, message =
//!   the timestamp's decimal digits, `.`, then the body's exact bytes).
//!
//! To verify: take the raw body before parsing it, recompute the HMAC
//! over `"{timestamp}.{body}"`, compare with the hex after `v1=` in
//! constant time, and refuse a timestamp too far from now (replays).
//! Every attempt is signed afresh with its own timestamp; the body, and so
//! `delivery_id`, is byte for byte the same across a delivery's attempts
//! and duplicates.
//!
//! Delivery: a 2xx ends it; any other answer or a connection error (or no
//! answer in 10 s) is retried after [`Options::retry_base`], doubling,
//! [`Options::max_attempts`] attempts in all, then given up (recorded in
//! the listing and counted). A campaign's deliveries go one at a time in
//! status order: each is retried to its end before the next is sent.
//! Without a webhook URL they wait, queued, until one is set. A delivery
//! picked for duplication (every [`Options::duplicate_every`]th, or all of
//! a `[sandbox:duplicate]` campaign) is sent once more after its 2xx, so a
//! receiver must deduplicate on `delivery_id`.

mod api;
pub mod campaign;
mod control;
mod lifecycle;
pub mod records;
pub mod request;
pub mod scenario;
mod shared;
pub mod signature;
mod store;
mod webhook;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use campaign::{ApiError, CampaignAnswer, Event, REJECTED, Status};
pub use control::{Rotated, Webhook};
pub use records::{Listing, Stats};
pub use scenario::Scenario;
pub use signature::{SIGNATURE_HEADER, Signer, TIMESTAMP_HEADER};

use shared::{Settings, Shared};

#[derive(Debug, Clone)]
pub struct Options {
    pub api_key: String,
    pub signing_secret: String,
    /// Often known only once the receiver runs: see
    /// [`Sandbox::set_webhook_url`].
    pub webhook_url: Option<String>,
    /// Between status changes.
    pub step: Duration,
    /// Every Nth delivery (counted over the whole sandbox) is sent twice.
    pub duplicate_every: Option<u32>,
    /// The first retry's delay; each next one doubles.
    pub retry_base: Duration,
    /// Webhook attempts per delivery, the first included.
    pub max_attempts: u32,
}

impl Options {
    /// The defaults: no webhook yet, 300 ms steps, no duplicates, retries
    /// from 200 ms, 6 attempts.
    pub fn new(api_key: impl Into<String>, signing_secret: impl Into<String>) -> Self {
        Self {
            api_key: api_key.into(),
            signing_secret: signing_secret.into(),
            webhook_url: None,
            step: Duration::from_millis(300),
            duplicate_every: None,
            retry_base: Duration::from_millis(200),
            max_attempts: 6,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OptionsError {
    #[error("max_attempts must be at least 1")]
    NoAttempts,
    #[error("duplicate_every must be at least 1 (None for never)")]
    DuplicateEveryZero,
    #[error("the API key must not be empty")]
    EmptyApiKey,
}

/// A running stand-in; it serves until dropped.
pub struct Sandbox {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Sandbox {
    /// Serves on `listener` in a task of its own.
    pub async fn start(
        listener: tokio::net::TcpListener,
        options: Options,
    ) -> anyhow::Result<Sandbox> {
        if options.max_attempts == 0 {
            return Err(OptionsError::NoAttempts.into());
        }
        if options.duplicate_every == Some(0) {
            return Err(OptionsError::DuplicateEveryZero.into());
        }
        if options.api_key.is_empty() {
            return Err(OptionsError::EmptyApiKey.into());
        }
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared::new(
            Settings {
                step: options.step,
                duplicate_every: options.duplicate_every,
                retry_base: options.retry_base,
                max_attempts: options.max_attempts,
            },
            Signer::new(&options.signing_secret)?,
            options.api_key,
            options.webhook_url,
        )?);
        let app = api::router(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "sender: the server stopped");
            }
        });
        tracing::info!(target: "trail", %address, "sender: the email sender's sandbox is up");
        Ok(Sandbox {
            address,
            shared,
            server,
        })
    }

    /// `http://127.0.0.1:<port>` (the listener's address; loopback when it
    /// listens on every interface).
    pub fn url(&self) -> String {
        let port = self.address.port();
        if self.address.ip().is_unspecified() {
            format!("http://127.0.0.1:{port}")
        } else {
            format!("http://{}", self.address)
        }
    }

    /// Queued deliveries start at once.
    pub fn set_webhook_url(&self, url: String) {
        self.shared.set_webhook_url(url);
    }

    pub fn api_key(&self) -> String {
        self.shared.api_key()
    }

    /// A new random key; the old one is refused from the next request on.
    pub fn rotate_api_key(&self) -> String {
        self.shared.rotate_api_key()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.server.abort();
        self.shared.stop();
    }
}
