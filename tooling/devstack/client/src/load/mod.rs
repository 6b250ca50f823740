//! `devstack load`: many users at once against a running local cloud, then
//! an exact account of every action. At-least-once delivery, consumed
//! exactly once, nothing lost: each expected effect is looked up through
//! the APIs, counted, and the difference is the final line,
//! `lost: X, duplicated: Y`.
//!
//! What is expected, per action the cloud acknowledged:
//! - a user signed up and given a profile: exactly one welcome;
//! - a todo created: exactly one todo with its title (titles are unique per
//!   run, so a congratulation maps to exactly one todo);
//! - a todo completed: the todo completed, and exactly one congratulation;
//! - an attachment uploaded: the S3-triggered check marked it `ready`;
//! - a user deleted: none of their todos or notifications left (their
//!   token still works until it expires, so the APIs can be asked).
//!
//! An action the client could not confirm (a 5xx, a dropped connection) is
//! retried as a careful client would: a todo is looked up by its title
//! before it is created again, a completion is read back before it is
//! sent again. So a retry never hides, or causes, a duplicate.
//!
//! With chaos (`devstack_api::chaos`), faults are injected while the actions
//! run: a share of every function's AWS calls fail (500, throttled, or
//! applied and the answer dropped), processes are killed, and one consumer
//! fails every call for a window and then recovers. Afterwards every
//! effect must be applied exactly once or its event must sit in a DLQ
//! (checked before anything is replayed); the DLQs are then replayed with
//! the ops CLI, and every effect must be applied exactly once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use devstack_api::Endpoints;
use devstack_api::chaos::{Fault, Remote, Rng};

use self::accounting::Accounting;
use self::api::{Answer, Api};
use self::chaos::faults_before;
use self::dlq::{dlq_depths, problems, settle_and_replay};
use self::journey::{Planner, act, sign_up_all};

mod accounting;
mod api;
mod chaos;
mod dlq;
mod journey;
mod report;

pub use api::percentile;
pub use report::*;

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    pub users: usize,
    /// Todos in all, spread over the users; `None`: until `duration`.
    pub todos: Option<usize>,
    /// User journeys in flight at once.
    pub concurrency: usize,
    /// Bounds the action phase; with `todos`, whichever comes first.
    pub duration: Option<Duration>,
    /// Seeds the plan (who completes, attaches, is deleted) and the faults.
    pub seed: u64,
    /// The share of todos completed, and of todos given an attachment.
    pub complete_share: f64,
    pub attach_share: f64,
    /// The share of users deleted at the end (at least one of two or more).
    pub delete_share: f64,
    pub chaos: Option<Chaos>,
    /// How long asynchronous effects may take to show, after the actions
    /// and again after the replay.
    pub settle: Duration,
    /// The ops CLI (replay); by default beside the running executable.
    pub ops: Option<PathBuf>,
    /// The endpoints file the ops CLI reads; written to a temporary file
    /// when the cloud was started in-process.
    pub endpoints_file: Option<PathBuf>,
}

/// The faults of a chaos run.
#[derive(Debug, Clone)]
pub struct Chaos {
    /// The share of every function's AWS calls that fail.
    pub share: f64,
    pub kinds: Vec<Fault>,
    /// A random function is killed this often.
    pub kill_every: Duration,
    /// This function fails every call for `outage` (then recovers).
    pub outage_function: String,
    pub outage: Duration,
    /// How its calls fail: `denied` (the default) is not retried by the
    /// SDK, so each invocation fails at once and its event reaches the DLQ
    /// within the window.
    pub outage_kind: Fault,
}

impl Default for Chaos {
    fn default() -> Self {
        Self {
            share: 0.1,
            kinds: Fault::ALL.to_vec(),
            kill_every: Duration::from_millis(1500),
            outage_function: "notifications/ConsumerFunction".into(),
            outage: Duration::from_secs(4),
            outage_kind: Fault::Denied,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            users: 10,
            todos: Some(100),
            concurrency: 8,
            duration: None,
            seed: 1,
            complete_share: 0.6,
            attach_share: 0.25,
            delete_share: 0.2,
            chaos: None,
            settle: Duration::from_secs(60),
            ops: None,
            endpoints_file: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the endpoints: {0}")]
    Endpoints(String),
    #[error("setting up user {email}: {message}")]
    SignUp { email: String, message: String },
    #[error(transparent)]
    Control(#[from] devstack_api::chaos::RemoteError),
    #[error("this local cloud runs without fault proxies: start it with `devstack up --faults`")]
    ChaosOff,
    #[error("the ops CLI at {path}: {message}")]
    Ops { path: PathBuf, message: String },
    #[error("the DLQ of {service}: {message}")]
    Dlq { service: String, message: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

const MAX_ATTEMPTS: u32 = 8;

/// How long the effects must stay as they are before they are counted.
const QUIET: Duration = Duration::from_secs(2);

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100 * 2u64.pow(attempt.min(4)))
}

struct User {
    index: usize,
    email: String,
    token: String,
    /// The `sub`, from the profile the API answered.
    id: String,
    delete: bool,
}

/// One todo's plan and what the client was told.
#[derive(Debug, Clone, Default)]
struct Todo {
    user: usize,
    title: String,
    id: Option<String>,
    created: bool,
    complete: bool,
    completed: bool,
    attach: bool,
    /// The attachment whose object was uploaded.
    attachment: Option<String>,
}

/// What the actions were told, and what they were not.
#[derive(Default)]
struct Tally {
    actions: BTreeMap<String, u64>,
    gave_up: u64,
}

struct Ctx {
    api: Api,
    tally: Mutex<Tally>,
}

impl Ctx {
    fn done(&self, action: &str) {
        *self
            .tally
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .actions
            .entry(action.to_owned())
            .or_default() += 1;
    }

    fn gave_up(&self, what: &str, last: &Answer) {
        tracing::warn!(what, answer = %last.describe(), "load: gave up after retries");
        self.tally.lock().unwrap_or_else(|e| e.into_inner()).gave_up += 1;
    }
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

/// Runs the load against the local cloud whose endpoints file says
/// `endpoints`, and accounts for every action.
pub async fn run(endpoints: &Endpoints, config: &Config) -> Result<Report, LoadError> {
    let started = Instant::now();
    let started_ms = chrono::Utc::now().timestamp_millis();
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let ctx = Arc::new(Ctx::new(endpoints)?);
    let mut rng = Rng(config.seed);
    let users_n = config.users.max(1);
    let doomed = doomed(users_n, config.delete_share, &mut rng);

    let remote = config
        .chaos
        .as_ref()
        .map(|_| Remote::new(&endpoints.control_url));
    let faults_before = faults_before(remote.as_ref()).await?;
    let depth_baseline = dlq_depths(endpoints).await?;

    tracing::info!(run = %run_id, users = users_n, "load: signing users up");
    let semaphore = Arc::new(tokio::sync::Semaphore::new(config.concurrency.max(1)));
    let users = sign_up_all(&ctx, endpoints, &run_id, users_n, &doomed, &semaphore).await?;
    let users = Arc::new(users);
    let plan = Planner {
        config,
        rng,
        run_id: run_id.clone(),
        completions_of: vec![0; users_n],
    };
    let acted = act(
        &ctx,
        config,
        &users,
        plan,
        &semaphore,
        remote.as_ref(),
        faults_before.as_ref(),
    )
    .await?;

    let accounting = Accounting {
        ctx: &ctx,
        users: &users,
        todos: &acted.todos,
    };
    let settled =
        settle_and_replay(&accounting, config, endpoints, &run_id, &depth_baseline).await?;

    let tally = std::mem::take(&mut *ctx.tally.lock().unwrap_or_else(|e| e.into_inner()));
    let actions_total: u64 = tally.actions.values().sum();
    let problems = problems(&settled.observed, &settled.dlq_after);
    let report = Report {
        run_id,
        seed: config.seed,
        chaos: config.chaos.is_some(),
        users: users_n,
        concurrency: config.concurrency,
        actions_total,
        actions: tally.actions,
        gave_up: tally.gave_up,
        action_seconds: acted.seconds,
        throughput_per_s: actions_total as f64 / acted.seconds.max(1e-9),
        routes: ctx.api.figures(),
        rejected: ctx.api.rejected(),
        event_age: event_ages(Path::new(&endpoints.telemetry_dir), started_ms),
        faults: acted.faults,
        expected: accounting.expected(),
        dlq_before_replay: settled.dlq_before,
        letters_before_replay: settled.letters_before,
        unexplained_before_replay: settled.unexplained,
        replay: settled.replay,
        dlq_after: settled.dlq_after,
        settle_seconds: settled.seconds,
        total_seconds: started.elapsed().as_secs_f64(),
        problems,
        lost: settled.observed.missing.len() as u64,
        duplicated: settled.observed.extra.iter().map(|(_, n)| *n).sum(),
    };
    Ok(report)
}

impl Ctx {
    fn new(endpoints: &Endpoints) -> Result<Self, LoadError> {
        let api_base = endpoints.api_base_url.as_str();
        if api_base.is_empty() {
            return Err(LoadError::Endpoints("no api_base_url".into()));
        }
        Ok(Ctx {
            api: Api {
                http: reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .map_err(|e| LoadError::Endpoints(e.to_string()))?,
                base: api_base.to_owned(),
                samples: Mutex::new(BTreeMap::new()),
            },
            tally: Mutex::new(Tally::default()),
        })
    }
}

/// Who is deleted: a seeded choice, at least one user of two or more.
fn doomed(users_n: usize, delete_share: f64, rng: &mut Rng) -> BTreeSet<usize> {
    let deleted_n = if users_n >= 2 {
        ((users_n as f64 * delete_share).round() as usize).clamp(1, users_n - 1)
    } else {
        0
    };
    let mut order: Vec<usize> = (0..users_n).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    order.into_iter().take(deleted_n).collect()
}
