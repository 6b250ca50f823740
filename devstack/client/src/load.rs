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
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};

use devstack_api::Endpoints;
use devstack_api::chaos::{Counts, Fault, OutageRequest, Remote, Rng, Settings};

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

/// Figures of one route.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RouteFigures {
    pub route: String,
    /// Every attempt, retries included.
    pub calls: u64,
    pub status_2xx: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
    /// No answer: connection refused, reset or timed out.
    pub transport_errors: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// `EventAge` at consumption (invocation start − `occurred_at`), from the consumers'
/// EMF documents.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AgeFigures {
    pub function: String,
    pub event_type: String,
    pub samples: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// What one replay of a service's DLQ did (`ops dlq replay --json`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Replayed {
    pub service: String,
    pub replayed: u64,
    pub failed_again: u64,
    pub skipped: u64,
    pub left: i64,
}

/// One DLQ's letters by what they carried (`<shape> <detail-type>`).
pub type Letters = BTreeMap<String, BTreeMap<String, u64>>;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Expected {
    pub users: usize,
    pub welcomes: usize,
    pub todos: usize,
    pub completions: usize,
    pub attachments: usize,
    pub deleted_users: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub run_id: String,
    pub seed: u64,
    pub chaos: bool,
    pub users: usize,
    pub concurrency: usize,
    /// Acknowledged actions by kind.
    pub actions: BTreeMap<String, u64>,
    pub actions_total: u64,
    /// Actions the client gave up on after its retries (then judged by
    /// what the APIs show).
    pub gave_up: u64,
    pub action_seconds: f64,
    pub throughput_per_s: f64,
    pub routes: Vec<RouteFigures>,
    /// 4xx answers to this run's (valid) requests, the first few per route.
    pub rejected: Vec<String>,
    pub event_age: Vec<AgeFigures>,
    /// What the fault proxy injected during the run (chaos only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faults: Option<Counts>,
    pub expected: Expected,
    /// DLQ depth per service once the effects settled, before any replay.
    pub dlq_before_replay: BTreeMap<String, i64>,
    pub letters_before_replay: Letters,
    /// Effects missing before the replay whose event was in no DLQ.
    pub unexplained_before_replay: usize,
    pub replay: Vec<Replayed>,
    pub dlq_after: BTreeMap<String, i64>,
    pub settle_seconds: f64,
    pub total_seconds: f64,
    /// Each effect missing or repeated, described (at most 50).
    pub problems: Vec<String>,
    pub lost: u64,
    pub duplicated: u64,
}

impl Report {
    /// The last line of every run.
    pub fn verdict(&self) -> String {
        format!("lost: {}, duplicated: {}", self.lost, self.duplicated)
    }
}

const MAX_ATTEMPTS: u32 = 8;

/// How long the effects must stay as they are before they are counted.
const QUIET: Duration = Duration::from_secs(2);

/// The HTTP side: every attempt timed per route.
struct Api {
    http: reqwest::Client,
    base: String,
    samples: Mutex<BTreeMap<&'static str, Samples>>,
}

#[derive(Default)]
struct Samples {
    /// The first few 4xx answers, whatever the client did next: valid
    /// input should never get one.
    rejected: Vec<String>,
    ms: Vec<f64>,
    s2xx: u64,
    s4xx: u64,
    s5xx: u64,
    transport: u64,
}

/// An answer, or none.
enum Answer {
    Status(u16, Value),
    NoAnswer(String),
}

impl Answer {
    fn status(&self) -> Option<u16> {
        match self {
            Answer::Status(s, _) => Some(*s),
            Answer::NoAnswer(_) => None,
        }
    }

    /// Worth trying again: no answer, a 5xx, a conflict or throttling.
    fn unsure(&self) -> bool {
        match self {
            Answer::Status(s, _) => *s >= 500 || *s == 409 || *s == 429,
            Answer::NoAnswer(_) => true,
        }
    }

    fn describe(&self) -> String {
        match self {
            Answer::Status(s, v) => format!("{s} {v}"),
            Answer::NoAnswer(e) => format!("no answer: {e}"),
        }
    }
}

impl Api {
    fn record(&self, route: &'static str, ms: f64, answer: &Answer) {
        let mut all = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let s = all.entry(route).or_default();
        s.ms.push(ms);
        match answer.status() {
            Some(200..=299) => s.s2xx += 1,
            Some(400..=499) => {
                s.s4xx += 1;
                if s.rejected.len() < 5 {
                    s.rejected.push(format!("{route}: {}", answer.describe()));
                }
            }
            Some(_) => s.s5xx += 1,
            None => s.transport += 1,
        }
    }

    async fn call(
        &self,
        route: &'static str,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            request = request
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        self.send(route, request).await
    }

    async fn send(&self, route: &'static str, request: reqwest::RequestBuilder) -> Answer {
        let started = Instant::now();
        let answer = match request.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                match r.text().await {
                    Ok(text) => {
                        Answer::Status(status, serde_json::from_str(&text).unwrap_or(Value::Null))
                    }
                    Err(e) => Answer::NoAnswer(e.to_string()),
                }
            }
            Err(e) => Answer::NoAnswer(e.to_string()),
        };
        self.record(route, started.elapsed().as_secs_f64() * 1000.0, &answer);
        answer
    }

    fn rejected(&self) -> Vec<String> {
        let all = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        all.values().flat_map(|s| s.rejected.clone()).collect()
    }

    fn figures(&self) -> Vec<RouteFigures> {
        let all = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        all.iter()
            .map(|(route, s)| {
                let mut ms = s.ms.clone();
                ms.sort_by(f64::total_cmp);
                RouteFigures {
                    route: (*route).to_owned(),
                    calls: ms.len() as u64,
                    status_2xx: s.s2xx,
                    status_4xx: s.s4xx,
                    status_5xx: s.s5xx,
                    transport_errors: s.transport,
                    p50_ms: percentile(&ms, 50.0),
                    p95_ms: percentile(&ms, 95.0),
                    p99_ms: percentile(&ms, 99.0),
                    max_ms: ms.last().copied().unwrap_or(0.0),
                }
            })
            .collect()
    }
}

/// Nearest rank on sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

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

/// What the fault proxies counted before the run; `None` without chaos.
async fn faults_before(remote: Option<&Remote>) -> Result<Option<Counts>, LoadError> {
    let Some(remote) = remote else {
        return Ok(None);
    };
    let status = remote.status().await?;
    // Before anyone signs up: a run that cannot inject its faults
    // proves nothing about them.
    if status.functions.is_empty() {
        return Err(LoadError::ChaosOff);
    }
    Ok(Some(status.counts))
}

/// Every user signed up and given a profile, in the order of their index.
async fn sign_up_all(
    ctx: &Arc<Ctx>,
    endpoints: &Endpoints,
    run_id: &str,
    users_n: usize,
    doomed: &BTreeSet<usize>,
    semaphore: &Arc<tokio::sync::Semaphore>,
) -> Result<Vec<User>, LoadError> {
    let mut signups = tokio::task::JoinSet::new();
    for index in 0..users_n {
        let ctx = ctx.clone();
        let endpoints = endpoints.clone();
        let email = format!("load-{run_id}-u{index}@example.com");
        let delete = doomed.contains(&index);
        let permit = semaphore.clone();
        signups.spawn(async move {
            let _permit = permit.acquire_owned().await;
            sign_up(&ctx, &endpoints, index, email, delete).await
        });
    }
    let mut users: Vec<User> = Vec::new();
    while let Some(joined) = signups.join_next().await {
        match joined {
            Ok(Ok(user)) => users.push(user),
            Ok(Err(e)) => return Err(e),
            Err(e) => {
                return Err(LoadError::SignUp {
                    email: "?".into(),
                    message: e.to_string(),
                });
            }
        }
    }
    users.sort_by_key(|u| u.index);
    Ok(users)
}

/// The plan, drawn before anything runs so the seed decides it alone.
/// A user's notifications are read in one page of 50: a welcome and at
/// most 45 congratulations each.
struct Planner<'a> {
    config: &'a Config,
    rng: Rng,
    run_id: String,
    /// Per user.
    completions_of: Vec<usize>,
}

impl Planner<'_> {
    fn todo(&mut self, i: usize) -> Todo {
        let user = i % self.completions_of.len();
        let mut complete = self.rng.unit() < self.config.complete_share;
        if complete && self.completions_of[user] >= 45 {
            complete = false;
        }
        if complete {
            self.completions_of[user] += 1;
        }
        Todo {
            user,
            title: format!("[load {} u{user} t{i:06}]", self.run_id),
            complete,
            attach: self.rng.unit() < self.config.attach_share,
            ..Todo::default()
        }
    }
}

/// What the actions did.
struct Acted {
    todos: Vec<Todo>,
    seconds: f64,
    /// What the fault proxies injected meanwhile (chaos only).
    faults: Option<Counts>,
}

/// The todos' journeys, then the deletions; with chaos, the faults are on
/// from before the first journey until the last deletion is done.
async fn act(
    ctx: &Arc<Ctx>,
    config: &Config,
    users: &Arc<Vec<User>>,
    plan: Planner<'_>,
    semaphore: &Arc<tokio::sync::Semaphore>,
    remote: Option<&Remote>,
    faults_before: Option<&Counts>,
) -> Result<Acted, LoadError> {
    let started = Instant::now();
    let deadline = config.duration.map(|d| started + d);
    let finished = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let chaos_task = start_chaos(config, remote, &finished, &stop).await?;

    tracing::info!(todos = ?config.todos, duration = ?config.duration, "load: actions");
    let limit = config.todos.unwrap_or(usize::MAX);
    let todos = run_journeys(ctx, users, plan, semaphore, limit, deadline, &finished).await;
    // Deletions last: their effects erase what the journeys made.
    delete_users(ctx, users).await;
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::SeqCst);
    if let Some(task) = chaos_task {
        let _ = task.await;
    }
    let faults = calm(remote, faults_before).await?;
    Ok(Acted {
        todos,
        seconds,
        faults,
    })
}

/// Faults on, and the kills and the outage driven beside the actions until
/// `stop`; `None` without chaos.
async fn start_chaos(
    config: &Config,
    remote: Option<&Remote>,
    finished: &Arc<AtomicUsize>,
    stop: &Arc<AtomicBool>,
) -> Result<Option<tokio::task::JoinHandle<()>>, LoadError> {
    let (Some(chaos), Some(remote)) = (&config.chaos, remote) else {
        return Ok(None);
    };
    let status = remote
        .configure(&Settings {
            enabled: true,
            share: chaos.share,
            kinds: chaos.kinds.clone(),
            functions: Vec::new(),
            seed: Some(config.seed),
        })
        .await?;
    tracing::warn!(share = chaos.share, kinds = ?chaos.kinds, "load: faults on");
    Ok(Some(tokio::spawn(drive_chaos(
        Remote::new(&remote.control_url),
        chaos.clone(),
        status.functions,
        config.seed ^ 0xC4A0_5EED,
        finished.clone(),
        config.todos,
        config.duration,
        stop.clone(),
    ))))
}

/// Faults off; what they injected since `before`.
async fn calm(
    remote: Option<&Remote>,
    before: Option<&Counts>,
) -> Result<Option<Counts>, LoadError> {
    let (Some(remote), Some(before)) = (remote, before) else {
        return Ok(None);
    };
    let status = remote.calm().await?;
    tracing::warn!("load: faults off");
    Ok(Some(status.counts.since(before)))
}

/// The planned todos' journeys, as many at once as the semaphore allows,
/// until `limit` todos or the deadline.
async fn run_journeys(
    ctx: &Arc<Ctx>,
    users: &Arc<Vec<User>>,
    mut plan: Planner<'_>,
    semaphore: &Arc<tokio::sync::Semaphore>,
    limit: usize,
    deadline: Option<Instant>,
    finished: &Arc<AtomicUsize>,
) -> Vec<Todo> {
    let mut journeys = tokio::task::JoinSet::new();
    let mut i = 0usize;
    while i < limit {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let permit = semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let mut todo = plan.todo(i);
        let ctx = ctx.clone();
        let users = users.clone();
        let finished = finished.clone();
        journeys.spawn(async move {
            let user = &users[todo.user];
            journey(&ctx, user, &mut todo).await;
            finished.fetch_add(1, Ordering::SeqCst);
            drop(permit);
            todo
        });
        i += 1;
    }
    let mut todos: Vec<Todo> = Vec::new();
    while let Some(joined) = journeys.join_next().await {
        if let Ok(todo) = joined {
            todos.push(todo);
        }
    }
    todos
}

/// Each user planned for deletion deleted, all at once.
async fn delete_users(ctx: &Arc<Ctx>, users: &Arc<Vec<User>>) {
    let mut deletions = tokio::task::JoinSet::new();
    for u in users.iter().filter(|u| u.delete) {
        let ctx = ctx.clone();
        let users = users.clone();
        let index = u.index;
        deletions.spawn(async move { delete_user(&ctx, &users[index]).await });
    }
    while deletions.join_next().await.is_some() {}
}

/// The ops CLI, and the endpoints file it reads.
struct Ops {
    cli: PathBuf,
    endpoints_file: PathBuf,
    _written: Option<TempFile>,
}

impl Ops {
    fn new(config: &Config, endpoints: &Endpoints, run_id: &str) -> Result<Self, LoadError> {
        let cli = config
            .ops
            .clone()
            .unwrap_or_else(|| repo::profile_dir().join("ops"));
        let (endpoints_file, written) = match &config.endpoints_file {
            Some(f) => (f.clone(), None),
            None => {
                let path = std::env::temp_dir().join(format!("devstack-load-{run_id}.json"));
                std::fs::write(
                    &path,
                    serde_json::to_string(endpoints).map_err(std::io::Error::other)?,
                )?;
                (path.clone(), Some(TempFile(path)))
            }
        };
        Ok(Ops {
            cli,
            endpoints_file,
            _written: written,
        })
    }
}

/// What the effects came to, before and after the replay.
struct Settled {
    observed: Observed,
    dlq_before: BTreeMap<String, i64>,
    letters_before: Letters,
    /// Effects missing before the replay whose event was in no DLQ.
    unexplained: usize,
    replay: Vec<Replayed>,
    dlq_after: BTreeMap<String, i64>,
    seconds: f64,
}

/// Settle: every effect applied, or (with faults) its event in a DLQ.
/// With faults, the DLQs are then replayed and the effects settle again.
async fn settle_and_replay(
    accounting: &Accounting<'_>,
    config: &Config,
    endpoints: &Endpoints,
    run_id: &str,
    depth_baseline: &BTreeMap<String, i64>,
) -> Result<Settled, LoadError> {
    let started = Instant::now();
    let ops = Ops::new(config, endpoints, run_id)?;
    let mut observed = settle(accounting, config, endpoints, &ops).await?;
    let dlq_before = dlq_depths(endpoints).await?;
    let mut letters = Vec::new();
    if config.chaos.is_some() || dlq_before.values().any(|d| *d > 0) {
        letters = peek_all(&ops.cli, &ops.endpoints_file, endpoints).await?;
    }
    let unexplained = observed.unexplained(&letters);
    for u in &unexplained {
        tracing::warn!(effect = %u, "load: missing before the replay, and in no DLQ");
    }

    // Replay what the faults sent to the DLQs, as on call would.
    let mut replay = Vec::new();
    if config.chaos.is_some() {
        replay = replay_dlqs(&ops, &dlq_before, depth_baseline).await?;
        if !replay.is_empty() {
            observed = settle_again(accounting, config.settle).await;
        }
    }
    let dlq_after = dlq_depths(endpoints).await?;
    Ok(Settled {
        observed,
        dlq_before,
        letters_before: tally_letters(&letters),
        unexplained: unexplained.len(),
        replay,
        dlq_after,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Observes until every effect is applied, or `config.settle` passed, or
/// (with faults) the missing ones are quiet.
async fn settle(
    accounting: &Accounting<'_>,
    config: &Config,
    endpoints: &Endpoints,
    ops: &Ops,
) -> Result<Observed, LoadError> {
    let mut observed = accounting.observe().await;
    let deadline = Instant::now() + config.settle;
    let mut stable = 0;
    let mut last_missing = usize::MAX;
    while !observed.settled() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(750)).await;
        observed = accounting.observe().await;
        if config.chaos.is_some() && !observed.missing.is_empty() {
            // Quiet once what is missing stopped changing and each missing
            // effect has its event in a DLQ.
            if observed.missing.len() == last_missing {
                let letters = peek_all(&ops.cli, &ops.endpoints_file, endpoints).await?;
                if observed.unexplained(&letters).is_empty() {
                    stable += 1;
                    if stable >= 3 {
                        break;
                    }
                }
            } else {
                stable = 0;
            }
            last_missing = observed.missing.len();
        }
    }
    if observed.settled() {
        observed = accounting.confirm(observed).await;
    }
    Ok(observed)
}

/// Each DLQ that holds letters, or held some before the run.
async fn replay_dlqs(
    ops: &Ops,
    dlq_before: &BTreeMap<String, i64>,
    depth_baseline: &BTreeMap<String, i64>,
) -> Result<Vec<Replayed>, LoadError> {
    let mut replay = Vec::new();
    for (service, depth) in dlq_before {
        let baseline = depth_baseline.get(service).copied().unwrap_or(0);
        if *depth > 0 || baseline > 0 {
            replay.push(replay_dlq(&ops.cli, &ops.endpoints_file, service).await?);
        }
    }
    Ok(replay)
}

/// After the replay: observes until every effect is applied, or `within`
/// passed.
async fn settle_again(accounting: &Accounting<'_>, within: Duration) -> Observed {
    let deadline = Instant::now() + within;
    let mut observed = accounting.observe().await;
    while !observed.settled() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(750)).await;
        observed = accounting.observe().await;
    }
    if observed.settled() {
        observed = accounting.confirm(observed).await;
    }
    observed
}

/// Each effect missing or repeated, then each DLQ still holding letters;
/// the first 50.
fn problems(observed: &Observed, dlq_after: &BTreeMap<String, i64>) -> Vec<String> {
    let mut problems: Vec<String> = observed
        .missing
        .iter()
        .map(|m| format!("lost: {m}"))
        .chain(
            observed
                .extra
                .iter()
                .map(|(d, n)| format!("duplicated ×{n}: {d}")),
        )
        .collect();
    for (service, depth) in dlq_after {
        if *depth > 0 {
            problems.push(format!("{service}'s DLQ still holds {depth} letter(s)"));
        }
    }
    problems.truncate(50);
    problems
}

/// Removed when the run ends.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn sign_up(
    ctx: &Ctx,
    endpoints: &Endpoints,
    index: usize,
    email: String,
    delete: bool,
) -> Result<User, LoadError> {
    let mut last = String::new();
    let mut token = None;
    for attempt in 0..MAX_ATTEMPTS {
        let t0 = Instant::now();
        match crate::walkthrough::token_for(endpoints, &email).await {
            Ok(t) => {
                ctx.api.record(
                    "Cognito sign-up + sign-in",
                    t0.elapsed().as_secs_f64() * 1000.0,
                    &Answer::Status(200, Value::Null),
                );
                token = Some(t);
                break;
            }
            Err(e) => {
                last = format!("{e:#}");
                ctx.api.record(
                    "Cognito sign-up + sign-in",
                    t0.elapsed().as_secs_f64() * 1000.0,
                    &Answer::NoAnswer(last.clone()),
                );
                tokio::time::sleep(backoff(attempt)).await;
            }
        }
    }
    let Some(token) = token else {
        return Err(LoadError::SignUp {
            email,
            message: last,
        });
    };
    ctx.done("sign_up");
    let body = json!({"display_name": format!("Load user {index}")});
    let mut answer = Answer::NoAnswer("not sent".into());
    for attempt in 0..MAX_ATTEMPTS {
        answer = ctx
            .api
            .call(
                "PUT /users/me",
                &token,
                Method::PUT,
                "/users/me",
                Some(body.clone()),
            )
            .await;
        if !answer.unsure() {
            break;
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
    match answer {
        Answer::Status(200 | 201, me) if !s(&me, "id").is_empty() => {
            ctx.done("put_profile");
            Ok(User {
                index,
                email,
                token,
                id: s(&me, "id").to_owned(),
                delete,
            })
        }
        other => Err(LoadError::SignUp {
            email,
            message: format!("PUT /users/me: {}", other.describe()),
        }),
    }
}

/// A todo's life: created, perhaps given an attachment, perhaps completed.
async fn journey(ctx: &Ctx, user: &User, todo: &mut Todo) {
    if !create(ctx, user, todo).await {
        return;
    }
    if todo.attach {
        attach(ctx, user, todo).await;
    }
    if todo.complete {
        complete(ctx, user, todo).await;
    }
}

/// Every todo of a user (all pages), or `None` when the API would not say.
async fn list_todos(ctx: &Ctx, user: &User) -> Option<Vec<Value>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/todos?limit=100&cursor={c}"),
            None => "/todos?limit=100".to_owned(),
        };
        let mut answer = Answer::NoAnswer("not sent".into());
        for attempt in 0..MAX_ATTEMPTS {
            answer = ctx
                .api
                .call("GET /todos", &user.token, Method::GET, &path, None)
                .await;
            if !answer.unsure() {
                break;
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
        let Answer::Status(200, page) = answer else {
            return None;
        };
        out.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return Some(out),
        }
    }
}

async fn find_by_title(ctx: &Ctx, user: &User, title: &str) -> Option<Value> {
    list_todos(ctx, user)
        .await?
        .into_iter()
        .find(|t| t["title"] == title)
}

async fn create(ctx: &Ctx, user: &User, todo: &mut Todo) -> bool {
    let mut answer = Answer::NoAnswer("not sent".into());
    for attempt in 0..MAX_ATTEMPTS {
        if attempt > 0 {
            // The last try may have created it: look before trying again.
            tokio::time::sleep(backoff(attempt)).await;
            if let Some(found) = find_by_title(ctx, user, &todo.title).await {
                todo.id = Some(s(&found, "id").to_owned());
                todo.created = true;
                ctx.done("create_todo");
                return true;
            }
        }
        answer = ctx
            .api
            .call(
                "POST /todos",
                &user.token,
                Method::POST,
                "/todos",
                Some(json!({"title": todo.title})),
            )
            .await;
        if let Answer::Status(201, created) = &answer {
            todo.id = Some(s(created, "id").to_owned());
            todo.created = true;
            ctx.done("create_todo");
            return true;
        }
        if !answer.unsure() {
            break;
        }
    }
    ctx.gave_up(&format!("POST /todos {}", todo.title), &answer);
    false
}

async fn attach(ctx: &Ctx, user: &User, todo: &mut Todo) {
    let id = todo.id.clone().unwrap_or_default();
    let content = format!("attachment of {}", todo.title).into_bytes();
    let request =
        json!({"file_name": "notes.txt", "content_type": "text/plain", "size": content.len()});
    let mut answer = Answer::NoAnswer("not sent".into());
    for attempt in 0..MAX_ATTEMPTS {
        answer = ctx
            .api
            .call(
                "POST /todos/{id}/attachments",
                &user.token,
                Method::POST,
                &format!("/todos/{id}/attachments"),
                Some(request.clone()),
            )
            .await;
        if !answer.unsure() {
            break;
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
    let Answer::Status(201, grant) = &answer else {
        ctx.gave_up(&format!("attachment of {}", todo.title), &answer);
        return;
    };
    ctx.done("attach");
    let url = s(grant, "upload_url").to_owned();
    let attachment_id = s(grant, "attachment_id").to_owned();
    for attempt in 0..MAX_ATTEMPTS {
        let put = ctx
            .api
            .http
            .put(&url)
            .header("content-type", "text/plain")
            .body(content.clone());
        answer = ctx.api.send("PUT presigned upload (S3)", put).await;
        if matches!(answer, Answer::Status(200..=299, _)) {
            todo.attachment = Some(attachment_id);
            ctx.done("upload");
            return;
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
    ctx.gave_up(&format!("upload of {}", todo.title), &answer);
}

async fn complete(ctx: &Ctx, user: &User, todo: &mut Todo) {
    let id = todo.id.clone().unwrap_or_default();
    let mut answer = Answer::NoAnswer("not sent".into());
    for attempt in 0..MAX_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(backoff(attempt)).await;
            let read = ctx
                .api
                .call(
                    "GET /todos/{id}",
                    &user.token,
                    Method::GET,
                    &format!("/todos/{id}"),
                    None,
                )
                .await;
            if let Answer::Status(200, t) = read
                && t["completed"] == true
            {
                todo.completed = true;
                ctx.done("complete_todo");
                return;
            }
        }
        answer = ctx
            .api
            .call(
                "PATCH /todos/{id}",
                &user.token,
                Method::PATCH,
                &format!("/todos/{id}"),
                Some(json!({"completed": true})),
            )
            .await;
        if let Answer::Status(200, _) = answer {
            todo.completed = true;
            ctx.done("complete_todo");
            return;
        }
        if !answer.unsure() {
            break;
        }
    }
    ctx.gave_up(&format!("completing {}", todo.title), &answer);
}

async fn delete_user(ctx: &Ctx, user: &User) {
    let mut answer = Answer::NoAnswer("not sent".into());
    for attempt in 0..MAX_ATTEMPTS {
        answer = ctx
            .api
            .call(
                "DELETE /users/me",
                &user.token,
                Method::DELETE,
                "/users/me",
                None,
            )
            .await;
        match &answer {
            Answer::Status(204, _) => {
                ctx.done("delete_user");
                return;
            }
            // An earlier try went through; only its answer was lost.
            Answer::Status(404, _) if attempt > 0 => {
                ctx.done("delete_user");
                return;
            }
            a if a.unsure() => tokio::time::sleep(backoff(attempt)).await,
            _ => break,
        }
    }
    ctx.gave_up(&format!("deleting {}", user.email), &answer);
}

/// Faults while the actions run: random kills, and one outage once half
/// the journeys are done (or half the duration passed).
#[allow(clippy::too_many_arguments)]
async fn drive_chaos(
    remote: Remote,
    chaos: Chaos,
    functions: Vec<String>,
    seed: u64,
    finished: Arc<AtomicUsize>,
    todos: Option<usize>,
    duration: Option<Duration>,
    stop: Arc<AtomicBool>,
) {
    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut outage_until: Option<Instant> = None;
    let mut next_kill = Instant::now() + chaos.kill_every;
    let halfway = |finished: usize| match (todos, duration) {
        (Some(t), _) if finished * 2 >= t => true,
        (_, Some(d)) => started.elapsed() * 2 >= d,
        _ => false,
    };
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        if outage_until.is_none() && (stopping || halfway(finished.load(Ordering::SeqCst))) {
            match remote
                .outage(&OutageRequest {
                    function: chaos.outage_function.clone(),
                    seconds: chaos.outage.as_secs_f64(),
                    kind: chaos.outage_kind,
                })
                .await
            {
                Ok(_) => {
                    tracing::warn!(function = %chaos.outage_function, "load: outage begins");
                }
                Err(e) => tracing::error!(error = %e, "load: no outage"),
            }
            outage_until = Some(Instant::now() + chaos.outage);
        }
        if stopping {
            break;
        }
        if Instant::now() >= next_kill && !functions.is_empty() {
            let victim = &functions[(rng.next_u64() % functions.len() as u64) as usize];
            if let Err(e) = remote.kill(victim).await {
                tracing::error!(error = %e, "load: kill refused");
            }
            next_kill = Instant::now() + chaos.kill_every;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The consumer recovers when its window ends, not when the actions do.
    if let Some(until) = outage_until {
        tokio::time::sleep_until(until.into()).await;
    }
}

/// What the APIs show, against what the actions were told.
struct Accounting<'a> {
    ctx: &'a Ctx,
    users: &'a [User],
    todos: &'a [Todo],
}

/// Something that should have happened, for the report and for matching
/// a DLQ letter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Effect {
    Welcome {
        user: String,
    },
    Todo {
        title: String,
    },
    Completed {
        title: String,
    },
    Congratulation {
        title: String,
        todo: String,
    },
    Attachment {
        title: String,
        todo: String,
    },
    Erased {
        service: &'static str,
        user: String,
        what: String,
    },
    /// The API itself would not answer: nothing could be checked.
    Unreadable {
        user: String,
        what: &'static str,
    },
}

impl std::fmt::Display for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Effect::Welcome { user } => write!(f, "the welcome of user {user}"),
            Effect::Todo { title } => write!(f, "the todo {title}"),
            Effect::Completed { title } => write!(f, "the completion of {title}"),
            Effect::Congratulation { title, .. } => write!(f, "the congratulation for {title}"),
            Effect::Attachment { title, .. } => {
                write!(f, "the attachment of {title} marked ready")
            }
            Effect::Erased {
                service,
                user,
                what,
            } => write!(
                f,
                "the erasure by {service} of deleted user {user}'s {what}"
            ),
            Effect::Unreadable { user, what } => write!(f, "{what} of user {user} (unreadable)"),
        }
    }
}

#[derive(Debug, Default)]
struct Observed {
    missing: Vec<Effect>,
    /// A description and how many copies too many.
    extra: Vec<(String, u64)>,
}

impl Observed {
    fn settled(&self) -> bool {
        self.missing.is_empty()
    }

    /// Missing effects whose event is in no DLQ.
    fn unexplained(&self, letters: &[Letter]) -> Vec<Effect> {
        self.missing
            .iter()
            .filter(|m| !letters.iter().any(|l| l.explains(m)))
            .cloned()
            .collect()
    }

    /// A deleted user: anything of theirs still there is an erasure missing.
    fn erasures(&mut self, user: &User, todos: &[Value], notifications: &[Value]) {
        for t in todos {
            self.missing.push(Effect::Erased {
                service: "todos",
                user: user.id.clone(),
                what: format!("todo {}", s(t, "title")),
            });
        }
        for n in notifications {
            self.missing.push(Effect::Erased {
                service: "notifications",
                user: user.id.clone(),
                what: format!("{} notification {}", s(n, "kind"), s(n, "id")),
            });
        }
    }

    fn welcomes(&mut self, user: &User, notifications: &[Value]) {
        let welcomes = notifications
            .iter()
            .filter(|n| n["kind"] == "welcome")
            .count();
        match welcomes {
            0 => self.missing.push(Effect::Welcome {
                user: user.id.clone(),
            }),
            1 => {}
            n => self
                .extra
                .push((format!("the welcome of user {}", user.id), n as u64 - 1)),
        }
    }

    /// One planned todo against the user's todos and congratulations; the
    /// answer is how many congratulations name it.
    fn todo(&mut self, t: &Todo, todos: &[Value], congratulations: &[&Value]) -> usize {
        let found: Vec<&Value> = todos.iter().filter(|v| v["title"] == t.title).collect();
        let copies = congratulations
            .iter()
            .filter(|n| s(n, "message").contains(&t.title))
            .count();
        match found.len() {
            0 if t.created => self.missing.push(Effect::Todo {
                title: t.title.clone(),
            }),
            0 | 1 => {}
            n => self
                .extra
                .push((format!("the todo {}", t.title), n as u64 - 1)),
        }
        let completed_now = found.iter().any(|v| v["completed"] == true);
        if t.completed && !completed_now && !found.is_empty() {
            self.missing.push(Effect::Completed {
                title: t.title.clone(),
            });
        }
        // A completion the client could not confirm counts by what
        // the todo shows.
        let congratulate = t.completed || completed_now;
        let todo_id = found
            .first()
            .map(|v| s(v, "id").to_owned())
            .or_else(|| t.id.clone())
            .unwrap_or_default();
        match (congratulate, copies) {
            (true, 0) => self.missing.push(Effect::Congratulation {
                title: t.title.clone(),
                todo: todo_id.clone(),
            }),
            (true, 1) | (false, 0) => {}
            (true, n) => self
                .extra
                .push((format!("the congratulation for {}", t.title), n as u64 - 1)),
            (false, n) => self.extra.push((
                format!("a congratulation for {}, never completed", t.title),
                n as u64,
            )),
        }
        if let Some(attachment) = &t.attachment {
            let status = found
                .iter()
                .flat_map(|v| v["attachments"].as_array().cloned().unwrap_or_default())
                .find(|a| a["id"] == attachment.as_str())
                .map(|a| s(&a, "status").to_owned());
            if status.as_deref() != Some("ready") {
                self.missing.push(Effect::Attachment {
                    title: t.title.clone(),
                    todo: todo_id,
                });
            }
        }
        copies
    }
}

impl Accounting<'_> {
    /// Everything is there: look once more after a quiet moment, so a copy
    /// that arrives late (a redelivery) is counted too.
    async fn confirm(&self, settled: Observed) -> Observed {
        tokio::time::sleep(QUIET).await;
        let again = self.observe().await;
        if again.missing.is_empty() && again.extra.len() >= settled.extra.len() {
            again
        } else {
            settled
        }
    }

    fn expected(&self) -> Expected {
        let live = self.users.iter().filter(|u| !u.delete).count();
        let mine = |t: &&Todo| !self.users[t.user].delete;
        Expected {
            users: self.users.len(),
            welcomes: live,
            todos: self.todos.iter().filter(mine).filter(|t| t.created).count(),
            completions: self
                .todos
                .iter()
                .filter(mine)
                .filter(|t| t.completed)
                .count(),
            attachments: self
                .todos
                .iter()
                .filter(mine)
                .filter(|t| t.attachment.is_some())
                .count(),
            deleted_users: self.users.len() - live,
        }
    }

    async fn observe(&self) -> Observed {
        let mut out = Observed::default();
        type View = (usize, Option<Vec<Value>>, Option<Vec<Value>>);
        let views: Vec<View> =
            futures_util::future::join_all(self.users.iter().map(|u| async move {
                let todos = list_todos(self.ctx, u).await;
                let notifications = self.notifications(u).await;
                (u.index, todos, notifications)
            }))
            .await;
        for (index, todos, notifications) in views {
            let user = &self.users[index];
            let (Some(todos), Some(notifications)) = (todos, notifications) else {
                out.missing.push(Effect::Unreadable {
                    user: user.id.clone(),
                    what: "the todos and notifications",
                });
                continue;
            };
            if user.delete {
                out.erasures(user, &todos, &notifications);
                continue;
            }
            out.welcomes(user, &notifications);
            let congratulations: Vec<&Value> = notifications
                .iter()
                .filter(|n| n["kind"] == "todo_completed")
                .collect();
            let mut matched = 0usize;
            for t in self.todos.iter().filter(|t| t.user == index) {
                matched += out.todo(t, &todos, &congratulations);
            }
            // A congratulation for no todo of this run's: an event applied
            // twice under another title cannot happen; still, count it.
            let unmatched = congratulations.len().saturating_sub(matched);
            if unmatched > 0 {
                out.extra.push((
                    format!(
                        "congratulation(s) of user {} for no todo of this run",
                        user.id
                    ),
                    unmatched as u64,
                ));
            }
        }
        out.missing.sort();
        out
    }

    async fn notifications(&self, user: &User) -> Option<Vec<Value>> {
        let mut answer = Answer::NoAnswer("not sent".into());
        for attempt in 0..MAX_ATTEMPTS {
            answer = self
                .ctx
                .api
                .call(
                    "GET /notifications",
                    &user.token,
                    Method::GET,
                    "/notifications",
                    None,
                )
                .await;
            if !answer.unsure() {
                break;
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
        match answer {
            Answer::Status(200, page) => {
                Some(page["items"].as_array().cloned().unwrap_or_default())
            }
            _ => None,
        }
    }
}

/// A dead letter, as `ops dlq peek --json` decodes it.
#[derive(Debug, Clone)]
struct Letter {
    service: String,
    shape: String,
    detail_type: Option<String>,
    /// The user the event is about (`detail.data.user_id`).
    user: Option<String>,
    /// The todo it is about: `detail.data.todo_id`, or the object key of
    /// an upload.
    todo: Option<String>,
}

impl Letter {
    fn of(service: &str, item: &Value) -> Self {
        let decoded = &item["decoded"];
        let event = &decoded["event"];
        let data = &event["detail"]["data"];
        let key = event["Records"][0]["s3"]["object"]["key"]
            .as_str()
            .unwrap_or_default();
        // users/<sub>/todos/<todo id>/<attachment id>
        let from_key = key.split('/').nth(3).map(str::to_owned);
        Letter {
            service: service.to_owned(),
            shape: s(decoded, "shape").to_owned(),
            detail_type: event["detail-type"].as_str().map(str::to_owned),
            user: data["user_id"].as_str().map(str::to_owned),
            todo: data["todo_id"].as_str().map(str::to_owned).or(from_key),
        }
    }

    fn label(&self) -> String {
        match &self.detail_type {
            Some(t) => format!("{} {t}", self.shape),
            None if self.todo.is_some() => format!("{} S3 upload", self.shape),
            None => self.shape.clone(),
        }
    }

    /// Whether this letter holds the event a missing effect waits for. A
    /// stream batch's letter holds no event, only its range: it stands
    /// for anything its service's stream would have published.
    fn explains(&self, effect: &Effect) -> bool {
        let stream_of = |service: &str| self.shape == "stream_failure" && self.service == service;
        let about = |kind: &str, user: Option<&str>, todo: Option<&str>| {
            self.shape == "async_failure"
                && self.detail_type.as_deref() == Some(kind)
                && (user.is_none() || self.user.as_deref() == user)
                && (todo.is_none() || self.todo.as_deref() == todo)
        };
        match effect {
            Effect::Welcome { user } => {
                about("UserRegistered", Some(user), None) || stream_of("users")
            }
            Effect::Congratulation { todo, .. } => {
                about("TodoCompleted", None, Some(todo)) || stream_of("todos")
            }
            Effect::Erased { service, user, .. } => {
                (self.service == *service && about("UserDeleted", Some(user), None))
                    || stream_of("users")
            }
            Effect::Attachment { todo, .. } => {
                self.service == "todos"
                    && self.shape == "async_failure"
                    && self.detail_type.is_none()
                    && self.todo.as_deref() == Some(todo.as_str())
            }
            Effect::Todo { .. } | Effect::Completed { .. } | Effect::Unreadable { .. } => false,
        }
    }
}

fn tally_letters(letters: &[Letter]) -> Letters {
    let mut out = Letters::new();
    for l in letters {
        *out.entry(l.service.clone())
            .or_default()
            .entry(l.label())
            .or_default() += 1;
    }
    out
}

fn services(endpoints: &Endpoints) -> Vec<(String, String)> {
    endpoints
        .services
        .iter()
        .map(|(name, s)| (name.clone(), s.dlq_queue_url.clone()))
        .collect()
}

/// Each DLQ's depth: visible and in flight.
async fn dlq_depths(endpoints: &Endpoints) -> Result<BTreeMap<String, i64>, LoadError> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let conf = kit::emulator::Emulator {
        url: endpoints.emulator_url.clone(),
    }
    .sdk_config()
    .await;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let mut out = BTreeMap::new();
    for (service, url) in services(endpoints) {
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| LoadError::Dlq {
                service: service.clone(),
                message: aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
            })?;
        let get = |name: A| -> i64 {
            attrs
                .attributes()
                .and_then(|a| a.get(&name))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        out.insert(
            service,
            get(A::ApproximateNumberOfMessages) + get(A::ApproximateNumberOfMessagesNotVisible),
        );
    }
    Ok(out)
}

async fn ops_json(ops: &Path, args: &[&str]) -> Result<Value, LoadError> {
    let out = tokio::process::Command::new(ops)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| LoadError::Ops {
            path: ops.to_owned(),
            message: format!("{e} (build it: cargo build -p ops)"),
        })?;
    // Exit 1 is a partial replay: its report still says what happened.
    if !matches!(out.status.code(), Some(0 | 1)) {
        return Err(LoadError::Ops {
            path: ops.to_owned(),
            message: format!(
                "{} {}: {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    serde_json::from_slice(&out.stdout).map_err(|e| LoadError::Ops {
        path: ops.to_owned(),
        message: format!("{}: unreadable output: {e}", args.join(" ")),
    })
}

async fn peek_all(
    ops: &Path,
    endpoints_file: &Path,
    endpoints: &Endpoints,
) -> Result<Vec<Letter>, LoadError> {
    let file = endpoints_file.to_string_lossy();
    let mut letters = Vec::new();
    for (service, _) in services(endpoints) {
        let items = ops_json(
            ops,
            &[
                "--endpoints-file",
                &file,
                "--json",
                "dlq",
                "peek",
                &service,
                "--max",
                "10000",
            ],
        )
        .await?;
        letters.extend(
            items
                .as_array()
                .into_iter()
                .flatten()
                .map(|item| Letter::of(&service, item)),
        );
    }
    Ok(letters)
}

async fn replay_dlq(
    ops: &Path,
    endpoints_file: &Path,
    service: &str,
) -> Result<Replayed, LoadError> {
    let file = endpoints_file.to_string_lossy();
    tracing::warn!(service, "load: ops dlq replay");
    let report = ops_json(
        ops,
        &[
            "--endpoints-file",
            &file,
            "--json",
            "dlq",
            "replay",
            service,
        ],
    )
    .await?;
    let n = |k: &str| report[k].as_u64().unwrap_or(0);
    Ok(Replayed {
        service: service.to_owned(),
        replayed: n("replayed"),
        failed_again: n("failed_again"),
        skipped: n("skipped"),
        left: report["left"].as_i64().unwrap_or(0),
    })
}

/// `EventAge` per consumer and event type, from the EMF documents the
/// local cloud recorded since `since_ms`.
pub fn event_ages(telemetry_dir: &Path, since_ms: i64) -> Vec<AgeFigures> {
    event_age_values(telemetry_dir, since_ms)
        .into_iter()
        .map(|((function, event_type), mut v)| {
            v.sort_by(f64::total_cmp);
            AgeFigures {
                function,
                event_type,
                samples: v.len(),
                p50_ms: percentile(&v, 50.0),
                p95_ms: percentile(&v, 95.0),
                p99_ms: percentile(&v, 99.0),
                max_ms: v.last().copied().unwrap_or(0.0),
            }
        })
        .collect()
}

/// Every `EventAge` value recorded since `since_ms`, by (consumer,
/// detail-type).
pub fn event_age_values(
    telemetry_dir: &Path,
    since_ms: i64,
) -> BTreeMap<(String, String), Vec<f64>> {
    let text = std::fs::read_to_string(telemetry_dir.join("metrics.jsonl")).unwrap_or_default();
    let mut ages: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for line in text.lines() {
        if !line.contains("\"EventAge\"") {
            continue;
        }
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let doc = &entry["emf"];
        if doc["_aws"]["Timestamp"].as_i64().unwrap_or(0) < since_ms {
            continue;
        }
        let values: Vec<f64> = match &doc["EventAge"] {
            Value::Array(a) => a.iter().filter_map(Value::as_f64).collect(),
            v => v.as_f64().into_iter().collect(),
        };
        ages.entry((
            s(&entry, "function").to_owned(),
            doc["event_type"].as_str().unwrap_or("?").to_owned(),
        ))
        .or_default()
        .extend(values);
    }
    ages
}

/// The report as tables; the last line is the verdict.
pub fn render(r: &Report) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    render_head(&mut out, r);
    render_routes(&mut out, r);
    render_event_age(&mut out, r);
    if let Some(f) = &r.faults {
        render_faults(&mut out, f);
    }
    render_effects(&mut out, r);
    for p in &r.problems {
        let _ = writeln!(out, "  {p}");
    }
    let _ = write!(out, "{}", r.verdict());
    out
}

fn render_head(out: &mut String, r: &Report) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "devstack load {}: {} users, concurrency {}, seed {}, chaos {}",
        r.run_id,
        r.users,
        r.concurrency,
        r.seed,
        if r.chaos { "on" } else { "off" }
    );
    let actions: Vec<String> = r.actions.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(
        out,
        "actions: {} in {:.1} s = {:.1}/s ({}); gave up: {}",
        r.actions_total,
        r.action_seconds,
        r.throughput_per_s,
        actions.join(", "),
        r.gave_up
    );
}

fn render_routes(out: &mut String, r: &Report) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "\n| route | calls | 2xx | 4xx | 5xx | no answer | p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for f in &r.routes {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            f.route,
            f.calls,
            f.status_2xx,
            f.status_4xx,
            f.status_5xx,
            f.transport_errors,
            f.p50_ms,
            f.p95_ms,
            f.p99_ms,
            f.max_ms
        );
    }
    for r in &r.rejected {
        let _ = writeln!(out, "  4xx: {r}");
    }
}

fn render_event_age(out: &mut String, r: &Report) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "\nevent age at consumption (EMF EventAge)\n| function | event | samples | p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|"
    );
    for a in &r.event_age {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.0} |",
            a.function, a.event_type, a.samples, a.p50_ms, a.p95_ms, a.p99_ms, a.max_ms
        );
    }
}

fn render_faults(out: &mut String, f: &Counts) {
    use std::fmt::Write;
    let kinds: Vec<String> = f
        .faults
        .iter()
        .map(|(k, v)| format!("{k:?} {v}").to_lowercase())
        .collect();
    let outage: Vec<String> = f
        .outage
        .iter()
        .map(|(k, v)| format!("{k} {v} calls"))
        .collect();
    let kills: Vec<String> = f.kills.iter().map(|(k, v)| format!("{k} ×{v}")).collect();
    let _ = writeln!(
        out,
        "\nfaults: {} of {} proxied calls ({}); outage: {}; kills: {} ({})",
        f.faults_total(),
        f.calls,
        kinds.join(", "),
        if outage.is_empty() {
            "none".into()
        } else {
            outage.join(", ")
        },
        f.kills_total(),
        kills.join(", ")
    );
}

/// What was expected, the DLQs before and after the replay, and how long
/// the effects took to settle.
fn render_effects(out: &mut String, r: &Report) {
    use std::fmt::Write;
    let e = &r.expected;
    let _ = writeln!(
        out,
        "\nexpected: {} welcomes, {} todos, {} completions → {} congratulations, {} attachments ready, {} users erased",
        e.welcomes, e.todos, e.completions, e.completions, e.attachments, e.deleted_users
    );
    let _ = writeln!(out, "DLQ before replay: {}", depths(&r.dlq_before_replay));
    for (service, kinds) in &r.letters_before_replay {
        let kinds: Vec<String> = kinds.iter().map(|(k, v)| format!("{k} ×{v}")).collect();
        let _ = writeln!(out, "  {service}: {}", kinds.join(", "));
    }
    let _ = writeln!(
        out,
        "missing before replay and in no DLQ: {}",
        r.unexplained_before_replay
    );
    for p in &r.replay {
        let _ = writeln!(
            out,
            "ops dlq replay {}: replayed {}, failed again {}, skipped {}, left {}",
            p.service, p.replayed, p.failed_again, p.skipped, p.left
        );
    }
    let _ = writeln!(out, "DLQ after: {}", depths(&r.dlq_after));
    let _ = writeln!(
        out,
        "settled in {:.1} s; whole run {:.1} s",
        r.settle_seconds, r.total_seconds
    );
}

fn depths(d: &BTreeMap<String, i64>) -> String {
    d.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn a_letter_explains_only_the_effect_its_event_causes() {
        let letter = Letter::of(
            "notifications",
            &json!({"decoded": {"shape": "async_failure", "event": {
                "detail-type": "TodoCompleted",
                "detail": {"data": {"user_id": "u1", "todo_id": "t1"}}}}}),
        );
        let congratulation = |todo: &str| Effect::Congratulation {
            title: "x".into(),
            todo: todo.into(),
        };
        assert!(letter.explains(&congratulation("t1")));
        assert!(!letter.explains(&congratulation("t2")));
        assert!(!letter.explains(&Effect::Welcome { user: "u1".into() }));
        let upload = Letter::of(
            "todos",
            &json!({"decoded": {"shape": "async_failure", "event": {"Records": [{"s3": {"object": {"key": "users/u1/todos/t9/a1"}}}]}}}),
        );
        assert!(upload.explains(&Effect::Attachment {
            title: "x".into(),
            todo: "t9".into()
        }));
        let stream = Letter::of(
            "users",
            &json!({"decoded": {"shape": "stream_failure", "record": {}}}),
        );
        assert!(stream.explains(&Effect::Welcome { user: "u7".into() }));
        assert!(!stream.explains(&congratulation("t1")));
        assert_eq!(
            tally_letters(&[letter, upload])["todos"]["async_failure S3 upload"],
            1
        );
    }

    #[test]
    fn the_verdict_is_the_last_line() {
        let r = Report {
            lost: 2,
            duplicated: 1,
            ..Report::default()
        };
        let text = render(&r);
        assert_eq!(text.lines().last(), Some("lost: 2, duplicated: 1"));
    }
}
