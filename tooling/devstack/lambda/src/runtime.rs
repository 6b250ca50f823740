//! Lambda's side of the Runtime API for one function, scaled as Lambda
//! scales it: each execution environment ([`sandbox`]) is a real process
//! of the binary running one invocation at a time, and while invocations
//! wait and none is free, another environment starts (a cold start, in the
//! trail), up to the function's reserved concurrency or the local cap
//! (`Spec::max_environments`). Reserved concurrency 0 throttles every
//! invocation. A wait for an environment is the queue's, and never counts
//! against the timeout: a run's clock starts when its environment takes
//! the event, and only a run past it is killed, with its environment.

mod code;
mod metrics;
mod outcome;
mod sandbox;
mod versions;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use std::sync::Mutex;

use tokio::sync::{RwLock, Semaphore};

pub use crate::recorder::Arrival;
pub use crate::spec::Spec;
use code::Code;
pub use metrics::Metrics;
pub use outcome::{InvokeError, Outcome};
use sandbox::Sandbox;
pub use sandbox::{SwapError, Swapped};
use versions::{Counts, Routing};
pub use versions::{Qualifier, VersionFigures, Weights};

/// A running function: its alias's versions, each with its execution
/// environments. Every event source invokes the alias, so during a gradual
/// deployment each invocation goes to one of two versions by weight
/// ([`Routing`]), as Lambda routes with `AdditionalVersionWeights`.
#[derive(Clone)]
pub struct Function {
    pub spec: Arc<Spec>,
    routing: Arc<std::sync::RwLock<Routing>>,
    /// The last version published; a rolled-back one keeps its number.
    published: Arc<AtomicU32>,
    /// Each version's own copy of its code.
    code: Arc<Code>,
}

struct Pool {
    /// The version these environments run (`1` at start).
    version: u32,
    counts: Counts,
    /// At most this many run at once; `0` throttles.
    limit: u32,
    slots: Semaphore,
    /// Free places in environments, one per invocation an environment can
    /// still take (more than one under Lambda Managed Instances); the last
    /// one used is taken first (it is warm).
    idle: Mutex<Vec<Sandbox>>,
    /// Every environment started, for a swap, a kill and the metrics.
    all: Mutex<Vec<Sandbox>>,
    /// What a new environment starts from (the version's copy of its
    /// code); a swap replaces it. A swap holds it for writing, so no
    /// environment starts from the old one meanwhile.
    launch: RwLock<(PathBuf, Vec<(String, String)>)>,
    /// The binary the version was built as, which its copy was made from.
    built: std::sync::RwLock<PathBuf>,
    /// The version's own timeout: a version keeps the configuration it
    /// was published with, as on Lambda.
    timeout: Duration,
    busy: AtomicU32,
    peak: AtomicU32,
}

impl Pool {
    /// A version's first environment, started from `launch`; more start as
    /// invocations need them.
    async fn start(
        spec: &Spec,
        (version, built): (u32, PathBuf),
        launch: (PathBuf, Vec<(String, String)>),
    ) -> anyhow::Result<Pool> {
        let per = spec.per_environment();
        let most = spec.max_environments.max(1) * per;
        let limit = match spec.configuration.reserved_concurrency {
            Some(reserved) => reserved.min(most),
            None => most,
        };
        let first_spec = Spec {
            binary: launch.0.clone(),
            env: launch.1.clone(),
            ..spec.clone()
        };
        // A function that may not run gets no environment, as on AWS.
        let first = match limit {
            0 => Vec::new(),
            _ => vec![Sandbox::start(first_spec).await?],
        };
        // An environment is free once per invocation it can still take.
        let idle = first
            .iter()
            .flat_map(|s| std::iter::repeat_n(s.clone(), per as usize))
            .collect();
        Ok(Pool {
            version,
            counts: Counts::default(),
            limit,
            slots: Semaphore::new(limit as usize),
            idle: Mutex::new(idle),
            all: Mutex::new(first),
            launch: RwLock::new(launch),
            built: std::sync::RwLock::new(built),
            timeout: spec.timeout,
            busy: AtomicU32::new(0),
            peak: AtomicU32::new(0),
        })
    }

    /// Ends the version: what it is running finishes first (or times
    /// out), and its processes are not restarted.
    async fn stop(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout + Duration::from_secs(5);
        while self.busy.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for sandbox in self.environments() {
            sandbox.stop();
        }
    }

    /// Every environment started so far, as they are now.
    fn environments(&self) -> Vec<Sandbox> {
        self.all.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Function {
    /// Starts the function's first environment (as the local cloud starts,
    /// so its init is measured there); more start as invocations need them.
    pub async fn start(spec: Spec) -> anyhow::Result<Function> {
        let code = Code::beside(&spec.binary)?;
        let launch = (code.publish(1, &spec.binary)?, spec.env.clone());
        let pool = Pool::start(&spec, (1, spec.binary.clone()), launch).await?;
        Ok(Function {
            spec: Arc::new(spec),
            routing: Arc::new(std::sync::RwLock::new(Routing::new(Arc::new(pool)))),
            published: Arc::new(AtomicU32::new(1)),
            code: Arc::new(code),
        })
    }

    /// The version taking this invocation, and its environments.
    fn pool(&self) -> Arc<Pool> {
        let routing = self.routing.read().unwrap_or_else(|e| e.into_inner());
        routing.pick(|| getrandom::u64().unwrap_or_default())
    }

    /// The version taking every invocation not shifted to another.
    fn primary(&self) -> Arc<Pool> {
        let routing = self.routing.read().unwrap_or_else(|e| e.into_inner());
        routing.primary.clone()
    }

    /// A synchronous invocation (RequestResponse).
    pub async fn invoke(&self, payload: Value) -> Outcome {
        let request_id = uuid::Uuid::new_v4().to_string();
        self.invoke_with_id(request_id, payload).await
    }

    pub async fn invoke_with_id(&self, request_id: String, payload: Value) -> Outcome {
        self.invoke_traced(request_id, payload, Arrival::new("invoke", ""))
            .await
    }

    /// An invocation as a hop of a trace: the caller's, or a new one.
    pub async fn invoke_traced(
        &self,
        request_id: String,
        payload: Value,
        arrival: Arrival,
    ) -> Outcome {
        self.invoke_on(self.pool(), request_id, payload, arrival)
            .await
    }

    /// An invocation of the version `qualifier` names, with that version's
    /// number; `None` when no such version runs here (a version rolled
    /// back or replaced has stopped).
    pub async fn invoke_qualified(
        &self,
        qualifier: &Qualifier,
        request_id: String,
        payload: Value,
        arrival: Arrival,
    ) -> Option<(Outcome, u32)> {
        let pool = {
            let routing = self.routing.read().unwrap_or_else(|e| e.into_inner());
            routing.named(qualifier, || getrandom::u64().unwrap_or_default())?
        };
        let version = pool.version;
        Some((
            self.invoke_on(pool, request_id, payload, arrival).await,
            version,
        ))
    }

    async fn invoke_on(
        &self,
        pool: Arc<Pool>,
        request_id: String,
        payload: Value,
        arrival: Arrival,
    ) -> Outcome {
        use devstack_api::telemetry as t;
        let (trace_id, parent) = match arrival.trace.as_deref() {
            Some(h) => (
                kit::telemetry::root_of(h).unwrap_or_default().to_owned(),
                t::parent_of(h).map(str::to_owned),
            ),
            None => (t::new_trace_id(), None),
        };
        let segment = t::new_segment_id();
        let start_ms = t::now_ms();
        let started = Instant::now();
        let result = self
            .invoke_with_header(pool, request_id, payload, t::header(&trace_id, &segment))
            .await;
        if let Some(recorder) = &self.spec.recorder {
            recorder.hop(&t::Hop {
                trace_id,
                id: segment,
                parent,
                kind: arrival.kind.to_owned(),
                function: self.spec.name.clone(),
                detail: arrival.detail,
                start_ms,
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                outcome: match &result {
                    Ok(_) => "ok".to_owned(),
                    Err(e) => e.error_type().to_owned(),
                },
                correlation_ids: arrival.correlation_ids,
                links: arrival.links,
            });
        }
        result
    }

    async fn invoke_with_header(
        &self,
        pool: Arc<Pool>,
        request_id: String,
        payload: Value,
        trace_header: String,
    ) -> Outcome {
        let running = pool.counts.begin();
        let outcome = self
            .invoke_version(&pool, request_id, payload, trace_header)
            .await;
        pool.counts.record(&outcome);
        drop(running);
        outcome
    }

    async fn invoke_version(
        &self,
        pool: &Pool,
        request_id: String,
        payload: Value,
        trace_header: String,
    ) -> Outcome {
        if pool.limit == 0 {
            return Err(InvokeError::Throttled);
        }
        let Ok(_slot) = pool.slots.acquire().await else {
            return Err(InvokeError::Stopped);
        };
        let sandbox = match self.environment(pool).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(target: "trail", function = %self.spec.name, version = pool.version, error = %e, "no execution environment");
                return Err(InvokeError::Crashed(e.to_string()));
            }
        };
        let busy = pool.busy.fetch_add(1, Ordering::SeqCst) + 1;
        pool.peak.fetch_max(busy, Ordering::SeqCst);
        let outcome = sandbox
            .invoke_with_header(request_id, payload, trace_header)
            .await;
        pool.busy.fetch_sub(1, Ordering::SeqCst);
        pool.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(sandbox);
        outcome
    }

    /// A free environment of `pool`'s version, or a new one when none is.
    async fn environment(&self, pool: &Pool) -> anyhow::Result<Sandbox> {
        let warm = pool.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        if let Some(warm) = warm {
            return Ok(warm);
        }
        let launch = pool.launch.read().await;
        let spec = Spec {
            binary: launch.0.clone(),
            env: launch.1.clone(),
            timeout: pool.timeout,
            ..(*self.spec).clone()
        };
        let sandbox = Sandbox::start(spec).await?;
        // This invocation takes one of its places; the others are free.
        let others = self.spec.per_environment() as usize - 1;
        pool.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(std::iter::repeat_n(sandbox.clone(), others));
        let environments = {
            let mut all = pool.all.lock().unwrap_or_else(|e| e.into_inner());
            all.push(sandbox.clone());
            all.len()
        };
        tracing::info!(target: "trail", function = %self.spec.name, version = pool.version, environments, "cold start: a new execution environment");
        if let Some(recorder) = &self.spec.recorder {
            recorder.environment(&devstack_api::telemetry::EnvironmentStarted {
                function: self.spec.name.clone(),
                environments: environments as u32,
                at_ms: devstack_api::telemetry::now_ms(),
            });
        }
        Ok(sandbox)
    }

    /// Replaces every environment's process with one of `binary` and
    /// `env`, losing no invocation (each as [`Sandbox::swap`] does); an
    /// environment started later starts from them too.
    pub async fn swap(
        &self,
        binary: PathBuf,
        env: Vec<(String, String)>,
    ) -> Result<Swapped, SwapError> {
        let started = Instant::now();
        let pool = self.primary();
        let mut launch = pool.launch.write().await;
        let code = (self.code.publish(pool.version, &binary))
            .map_err(|e| SwapError::NotPublished(self.spec.name.clone(), e.to_string()))?;
        *launch = (code.clone(), env.clone());
        *pool.built.write().unwrap_or_else(|e| e.into_inner()) = binary.clone();
        let all = pool.environments();
        let mut swapped = Swapped {
            function: self.spec.name.clone(),
            binary: binary.clone(),
            drained_ms: 0,
            total_ms: 0,
            waiting: 0,
        };
        for sandbox in all {
            let one = sandbox.swap(code.clone(), env.clone()).await?;
            swapped.drained_ms = swapped.drained_ms.max(one.drained_ms);
            swapped.waiting += one.waiting;
        }
        swapped.total_ms = started.elapsed().as_millis() as u64;
        Ok(swapped)
    }

    /// A gradual deployment's first step: the next version, started from
    /// `binary` and `env` with its own `timeout` beside the running one,
    /// taking no traffic yet.
    pub async fn stage(
        &self,
        binary: PathBuf,
        env: Vec<(String, String)>,
        timeout: Duration,
    ) -> anyhow::Result<u32> {
        if let Some(&(staged, _)) = self.weights().0.get(1) {
            anyhow::bail!(versions::Deploying(staged));
        }
        let version = self.published.fetch_add(1, Ordering::SeqCst) + 1;
        let mut env = env;
        env.push(("AWS_LAMBDA_FUNCTION_VERSION".into(), version.to_string()));
        let code = self.code.publish(version, &binary)?;
        let spec = Spec {
            timeout,
            ..(*self.spec).clone()
        };
        let pool = Pool::start(&spec, (version, binary), (code, env)).await?;
        self.routing
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .stage(Arc::new(pool))?;
        tracing::info!(target: "trail", function = %self.spec.name, version, "version published beside the running one");
        Ok(version)
    }

    /// The share of invocations (0 to 1) the staged version takes.
    pub fn shift(&self, weight: f64) {
        self.routing
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .shift(weight);
    }

    /// The staged version takes everything; the old one's processes end
    /// once what they run is done. Each version's figures then, the old
    /// one's final.
    pub async fn promote(&self) -> Vec<VersionFigures> {
        let old = self
            .routing
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .promote();
        self.leave(old).await
    }

    /// The running version takes everything again; the staged one's
    /// processes end once what they run is done. Each version's figures
    /// then, the staged one's final.
    pub async fn roll_back(&self) -> Vec<VersionFigures> {
        let staged = self
            .routing
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .roll_back();
        self.leave(staged).await
    }

    /// Stops a version that left the alias: the figures of it and of
    /// those that stay.
    async fn leave(&self, left: Option<Arc<Pool>>) -> Vec<VersionFigures> {
        let mut figures = Vec::new();
        if let Some(left) = left {
            left.stop(left.timeout).await;
            self.code.retire(left.version);
            figures.push(left.counts.figures(left.version, 0));
        }
        figures.extend(self.figures());
        figures
    }

    /// Where invocations go now, with each version's weight.
    pub fn weights(&self) -> Weights {
        self.routing
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .weights()
    }

    /// Waits, at most the version's timeout, until `version` has ended as many
    /// invocations as it had begun when called: those it runs now, or as
    /// many that began later (so steady traffic cannot hold it). Each is
    /// in its figures once it ends.
    pub async fn outlast_running(&self, version: u32) {
        let pool = self.pools().into_iter().find(|p| p.version == version);
        let Some(pool) = pool else { return };
        let (begun, _) = pool.counts.begun_and_ended();
        // No invocation outlives its version's timeout.
        let deadline = Instant::now() + pool.timeout;
        while pool.counts.begun_and_ended().1 < begun && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The timeout of the version the alias runs now (not a staged one).
    pub fn timeout(&self) -> Duration {
        (self.pools().first()).map_or(self.spec.timeout, |p| p.timeout)
    }

    fn pools(&self) -> Vec<Arc<Pool>> {
        self.routing
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .pools()
    }

    /// Each running version's invocations, errors and throttles so far.
    pub fn figures(&self) -> Vec<VersionFigures> {
        self.pools()
            .iter()
            .map(|p| p.counts.figures(p.version, p.environments().len() as u32))
            .collect()
    }

    /// The binary the running (or next) processes are started from.
    pub async fn binary(&self) -> PathBuf {
        let primary = self.primary();
        let built = primary.built.read().unwrap_or_else(|e| e.into_inner());
        built.clone()
    }

    /// The environments' figures, summed: each start's init in the order
    /// the environments started.
    pub async fn metrics(&self) -> Metrics {
        let pools = self.pools();
        let all: Vec<Sandbox> = pools.iter().flat_map(|p| p.environments()).collect();
        let mut total = Metrics {
            environments: all.len() as u32,
            peak_concurrency: (pools.iter().map(|p| p.peak.load(Ordering::SeqCst)))
                .max()
                .unwrap_or_default(),
            ..Metrics::default()
        };
        for sandbox in all {
            let m = sandbox.metrics().await;
            let offset = total.init.len();
            total.init.extend(m.init);
            total
                .first_invocation
                .extend(m.first_invocation.into_iter().map(|(i, d)| (i + offset, d)));
            total.pid = total.pid.or(m.pid);
            total.restarts += m.restarts;
            total.invocations += m.invocations;
            total.completed += m.completed;
            total.errors += m.errors;
            total.recent_paths.extend(m.recent_paths);
        }
        total
    }

    /// Ends every environment's process as a crash would; each restarts.
    pub fn kill(&self) {
        let pools = self.pools();
        for sandbox in pools.iter().flat_map(|p| p.environments()) {
            sandbox.kill();
        }
    }
}
