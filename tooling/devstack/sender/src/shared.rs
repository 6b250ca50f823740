//! What the routes, the campaigns' lifecycles and the webhook workers of
//! one sandbox share.

use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::signature::Signer;
use crate::store::Store;

/// The options that stay fixed while the sandbox runs.
pub struct Settings {
    pub step: Duration,
    pub duplicate_every: Option<u32>,
    pub retry_base: Duration,
    pub max_attempts: u32,
}

pub struct Shared {
    pub settings: Settings,
    pub signer: Signer,
    api_key: Mutex<String>,
    /// The webhook URL; workers wait on it while it is unset.
    pub webhook: watch::Sender<Option<String>>,
    store: Mutex<Store>,
    /// Every campaign's lifecycle and webhook worker, so a dropped sandbox
    /// stops calling webhooks.
    tasks: Mutex<JoinSet<()>>,
    pub http: reqwest::Client,
    /// Deliveries begun, for `duplicate_every`.
    pub delivered: AtomicU64,
}

/// How long one webhook attempt may take before it counts as failed.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind: still usable.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub fn new(
        settings: Settings,
        signer: Signer,
        api_key: String,
        webhook_url: Option<String>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            settings,
            signer,
            api_key: Mutex::new(api_key),
            webhook: watch::Sender::new(webhook_url),
            store: Mutex::new(Store::default()),
            tasks: Mutex::new(JoinSet::new()),
            http: reqwest::Client::builder()
                .timeout(ATTEMPT_TIMEOUT)
                .build()?,
            delivered: AtomicU64::new(0),
        })
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    pub fn api_key(&self) -> String {
        lock(&self.api_key).clone()
    }

    pub fn rotate_api_key(&self) -> String {
        let key = format!("sk_test_{}", uuid::Uuid::new_v4().simple());
        *lock(&self.api_key) = key.clone();
        tracing::info!(target: "trail", "sender: API key rotated; the old key is refused from now on");
        key
    }

    pub fn set_webhook_url(&self, url: String) {
        tracing::info!(target: "trail", url = %url, "sender: webhook URL set");
        self.webhook.send_replace(Some(url));
    }

    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut tasks = lock(&self.tasks);
        // Reap the finished ones, so a long run holds only live tasks.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(task);
    }

    pub fn stop(&self) {
        lock(&self.tasks).abort_all();
    }
}
