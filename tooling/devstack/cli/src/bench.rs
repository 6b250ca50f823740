//! `devstack bench`: how fast the local cloud starts and answers, and where
//! the time of the end-to-end path goes, hop by hop. Targets live here as
//! figures to compare, never as assertions in tests.
//!
//! One round is one fresh local cloud, measured in a process of its own
//! (`bench --one-round`): function processes and the emulator end with the
//! process that started them, so rounds cannot leak into each other. A
//! shared machine is noisy, so a figure is the median of the rounds, shown
//! with its spread and the machine's load.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::stat::{Stat, median};
use devstack_api::telemetry::Hop;
use devstack_client::walkthrough::{Client, token_for};
use devstack_cloud::{self as cloud, Options};

/// What `devstack bench` was asked for.
#[derive(Debug, Clone)]
pub struct Plan {
    pub rounds: usize,
    /// Measured end-to-end runs per round.
    pub runs: usize,
    /// End-to-end runs per round before the measured ones, thrown away:
    /// the first calls pay each function's SDK set-up and JWKS fetch.
    pub warmup_runs: usize,
    pub bin_dir: Option<PathBuf>,
    pub out: PathBuf,
    pub compare: Option<PathBuf>,
    pub iam: devstack_cloud::IamMode,
}

/// One round's raw figures, as its process reports them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Round {
    /// `cloud::start`: command → API ready, binaries built.
    pub cold_start_ms: f64,
    /// Its steps, each as the time since the start.
    #[serde(default)]
    pub phases: Vec<(String, f64)>,
    /// Spawn → first `next` of each function, all started together.
    pub init_at_start_ms: BTreeMap<String, f64>,
    /// The same, each restarted alone on an otherwise idle cloud.
    pub init_alone_ms: BTreeMap<String, f64>,
    /// Create → complete → the congratulation visible through the API.
    pub e2e_ms: Vec<f64>,
    /// Each hop of the path, one value per measured run.
    pub hops: BTreeMap<String, Vec<f64>>,
    /// Runs whose hops could not all be found in the trace record.
    pub runs_without_hops: usize,
    pub emulator_url: String,
    /// Each function's cold first response, warm own time and peak memory.
    #[serde(default)]
    pub functions: BTreeMap<String, crate::cost::FunctionRound>,
    /// Each function binary's size (bytes), by file name.
    #[serde(default)]
    pub artifact_bytes: BTreeMap<String, u64>,
    /// `EventAge` at consumption (now − `occurred_at`) per detail-type,
    /// every consumer's every delivery in the round.
    #[serde(default)]
    pub event_age_ms: BTreeMap<String, Vec<f64>>,
    /// The 1, 5 and 15 minute load averages before and after the round.
    #[serde(default)]
    pub load_before: Option<[f64; 3]>,
    #[serde(default)]
    pub load_after: Option<[f64; 3]>,
}

/// The bench's result, written as JSON so that runs can be compared.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub version: u32,
    pub commit: String,
    pub started_at: String,
    pub cores: usize,
    pub rounds: usize,
    pub runs: usize,
    pub warmup_runs: usize,
    /// The warm-up round's cold start: page cache, `.pyc` files and the
    /// template cache still cold. Not in the measures.
    pub warmup_cold_start_ms: Option<f64>,
    /// Each measure: one value per round, then the median across rounds.
    pub measures: BTreeMap<String, Stat>,
    /// Each hop of the end-to-end path: the round's median, across rounds.
    pub hops: BTreeMap<String, Stat>,
    /// Each function's figures: the round's value, across rounds.
    #[serde(default)]
    pub functions: BTreeMap<String, crate::cost::FunctionStats>,
    pub per_round: Vec<Round>,
}

/// The hops of the end-to-end path, in order. Together they cover the
/// PATCH's start to the end of the read that first sees the notification,
/// with no gap and no overlap.
pub const HOPS: &[(&str, &str)] = &[
    (
        "api_write",
        "API write: PATCH start → the todo's write applied",
    ),
    (
        "stream_wait",
        "wait for the stream poll: write → publisher invoked",
    ),
    ("publisher", "publisher: invoked → PutEvents sent"),
    ("put_events", "PutEvents (bus proxy → emulator → tap queue)"),
    (
        "tap_wait",
        "wait for the tap queue: PutEvents answered → consumer invoked",
    ),
    (
        "consumer",
        "consumer: invoked → the notification's write sent",
    ),
    ("notification_write", "the notification's write"),
    ("until_read", "write applied → the read that sees it starts"),
    (
        "api_read",
        "API read that first sees it (GET /notifications)",
    ),
];

/// The rows of the table: (key, label, budget).
const MEASURES: &[(&str, &str, &str)] = &[
    (
        "cold_start_ms",
        "local cloud cold start (command → API ready)",
        "≤ 3000 ms",
    ),
    (
        "function_init_alone_p50_ms",
        "function init p50, one at a time (spawn → first `next`)",
        "≤ 10 ms",
    ),
    (
        "function_init_alone_max_ms",
        "function init max, one at a time",
        "",
    ),
    (
        "function_init_at_start_p50_ms",
        "function init p50, all at start",
        "≤ 5 ms every round",
    ),
    (
        "e2e_p50_ms",
        "create → complete → notification visible, p50",
        "≤ 100 ms",
    ),
    ("e2e_p95_ms", "same, p95", "≤ 150 ms"),
    (
        "age_user_registered_p50_ms",
        "UserRegistered's age at its consumers, p50",
        "≤ 500 ms",
    ),
    (
        "age_user_deleted_p50_ms",
        "UserDeleted's age at its consumers, p50",
        "≤ 500 ms",
    ),
    (
        "age_todo_completed_p50_ms",
        "TodoCompleted's age at its consumers, p50",
        "≤ 500 ms",
    ),
    (
        "e2e_outside_hops_p50_ms",
        "of which outside the hops and the POST (HTTP client, gateway, token check), p50",
        "",
    ),
];

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// The 1, 5 and 15 minute load averages (Linux).
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = text.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// One round's scalars: what the rounds' medians are taken of.
pub fn scalars(round: &Round) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    out.insert("cold_start_ms".into(), round.cold_start_ms);
    let alone = sorted(&round.init_alone_ms.values().copied().collect::<Vec<_>>());
    let at_start = sorted(&round.init_at_start_ms.values().copied().collect::<Vec<_>>());
    let e2e = sorted(&round.e2e_ms);
    let p = devstack_client::load::percentile;
    if !alone.is_empty() {
        out.insert("function_init_alone_p50_ms".into(), p(&alone, 50.0));
        out.insert("function_init_alone_max_ms".into(), p(&alone, 100.0));
    }
    if !at_start.is_empty() {
        out.insert("function_init_at_start_p50_ms".into(), p(&at_start, 50.0));
    }
    if !e2e.is_empty() {
        out.insert("e2e_p50_ms".into(), p(&e2e, 50.0));
        out.insert("e2e_p95_ms".into(), p(&e2e, 95.0));
    }
    if let Some(outside) = round.hops.get("outside") {
        out.insert("e2e_outside_hops_p50_ms".into(), p(&sorted(outside), 50.0));
    }
    for (event, key) in AGES {
        if let Some(ages) = round.event_age_ms.get(*event).filter(|a| !a.is_empty()) {
            out.insert((*key).into(), p(&sorted(ages), 50.0));
        }
    }
    out
}

/// The event ages the table shows: (detail-type, measure key).
const AGES: &[(&str, &str)] = &[
    ("UserRegistered", "age_user_registered_p50_ms"),
    ("UserDeleted", "age_user_deleted_p50_ms"),
    ("TodoCompleted", "age_todo_completed_p50_ms"),
];

pub fn summarize(
    rounds: Vec<Round>,
    plan: &Plan,
    commit: String,
    warmup_cold_start_ms: Option<f64>,
) -> Report {
    let mut measures: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut hops: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for round in &rounds {
        for (k, v) in scalars(round) {
            measures.entry(k).or_default().push(v);
        }
        for (k, values) in &round.hops {
            if let Some(m) = median(&sorted(values)) {
                hops.entry(k.clone()).or_default().push(m);
            }
        }
    }
    let functions = crate::cost::across(rounds.iter().map(|r| &r.functions));
    Report {
        version: 1,
        commit,
        started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        rounds: rounds.len(),
        runs: plan.runs,
        warmup_runs: plan.warmup_runs,
        warmup_cold_start_ms,
        measures: measures
            .into_iter()
            .filter_map(|(k, v)| Some((k, Stat::of(v)?)))
            .collect(),
        hops: hops
            .into_iter()
            .filter_map(|(k, v)| Some((k, Stat::of(v)?)))
            .collect(),
        functions,
        per_round: rounds,
    }
}

fn spread(s: &Stat) -> String {
    format!("{:.1}–{:.1}", s.min, s.max)
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    render_head(&mut out, report);
    render_measures(&mut out, report);
    if !report.hops.is_empty() {
        render_hops(&mut out, report);
    }
    if let Some(first) = report.per_round.first()
        && !first.phases.is_empty()
    {
        render_phases(&mut out, report, first);
    }
    if let Some(first) = report.per_round.first() {
        render_functions(&mut out, report, first);
    }
    if !report.functions.is_empty() {
        out.push('\n');
        out.push_str(&crate::cost::render(&report.functions));
    }
    if let Some(last) = report.per_round.last()
        && !last.artifact_bytes.is_empty()
    {
        out.push('\n');
        out.push_str(&crate::cost::render_artifacts(&last.artifact_bytes));
    }
    out
}

/// The conditions: rounds, runs, cores, the machine's load, the commit.
fn render_head(out: &mut String, report: &Report) {
    use std::fmt::Write;
    let loads: Vec<String> = report
        .per_round
        .iter()
        .filter_map(|r| r.load_before.map(|l| format!("{:.2}", l[0])))
        .collect();
    let _ = writeln!(
        out,
        "{} rounds, each a fresh local cloud; {} measured end-to-end runs per round after {} warm-up runs; {} cores; 1-minute load before each round: {}; commit {}",
        report.rounds,
        report.runs,
        report.warmup_runs,
        report.cores,
        if loads.is_empty() {
            "unknown".to_owned()
        } else {
            loads.join(", ")
        },
        report.commit,
    );
    if let Some(ms) = report.warmup_cold_start_ms {
        let _ = writeln!(
            out,
            "warm-up round (not counted, caches cold): cold start {ms:.0} ms"
        );
    }
}

fn render_measures(out: &mut String, report: &Report) {
    use std::fmt::Write;
    let _ = writeln!(out);
    let _ = writeln!(out, "| measure | median of rounds | min–max | budget |");
    let _ = writeln!(out, "|---|---|---|---|");
    for (key, label, budget) in MEASURES {
        if let Some(s) = report.measures.get(*key) {
            let _ = writeln!(
                out,
                "| {label} | {:.1} ms | {} ms | {budget} |",
                s.median,
                spread(s)
            );
        }
    }
}

fn render_hops(out: &mut String, report: &Report) {
    use std::fmt::Write;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Where the time goes, PATCH → the read that sees the notification (each hop: its median per round, then across rounds):"
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| hop | median | min–max |");
    let _ = writeln!(out, "|---|---|---|");
    let mut total = 0.0;
    for (key, label) in HOPS {
        if let Some(s) = report.hops.get(*key) {
            total += s.median;
            let _ = writeln!(out, "| {label} | {:.1} ms | {} ms |", s.median, spread(s));
        }
    }
    let _ = writeln!(out, "| sum of the hops' medians | {total:.1} ms | |");
    if let Some(s) = report.hops.get("iam_judgement") {
        let _ = writeln!(
            out,
            "| (inside them: the judgement of one AWS call at the gate, each call) | {:.3} ms | {} ms |",
            s.median,
            spread(s)
        );
    }
    if let Some(s) = report.hops.get("api_create") {
        let _ = writeln!(
            out,
            "| (before them: POST /todos, in the function) | {:.1} ms | {} ms |",
            s.median,
            spread(s)
        );
    }
}

/// The cold start's steps, named as the first round names them.
fn render_phases(out: &mut String, report: &Report, first: &Round) {
    use std::fmt::Write;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Cold start, step by step (time since the start, median of rounds):"
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| step | at | min–max |");
    let _ = writeln!(out, "|---|---|---|");
    for (name, _) in &first.phases {
        let values: Vec<f64> = report
            .per_round
            .iter()
            .filter_map(|r| r.phases.iter().find(|(n, _)| n == name).map(|(_, v)| *v))
            .collect();
        if let Some(s) = Stat::of(values) {
            let _ = writeln!(
                out,
                "| {name} | {:.0} ms | {:.0}–{:.0} ms |",
                s.median, s.min, s.max
            );
        }
    }
}

/// Each function's init, named as the first round names them.
fn render_functions(out: &mut String, report: &Report, first: &Round) {
    use std::fmt::Write;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| function | init alone, median of rounds | init at start, median of rounds |"
    );
    let _ = writeln!(out, "|---|---|---|");
    for name in first.init_alone_ms.keys() {
        let of = |pick: fn(&Round) -> &BTreeMap<String, f64>| {
            let values: Vec<f64> = report
                .per_round
                .iter()
                .filter_map(|r| pick(r).get(name).copied())
                .collect();
            median(&sorted(&values)).map_or("–".to_owned(), |m| format!("{m:.1} ms"))
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {} |",
            of(|r| &r.init_alone_ms),
            of(|r| &r.init_at_start_ms)
        );
    }
}

/// Each median of `new` next to the same one of `old`.
pub fn compare(old: &Report, new: &Report) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Compared with {} ({}, {} rounds, {} cores):",
        old.commit, old.started_at, old.rounds, old.cores
    );
    if old.cores != new.cores {
        let _ = writeln!(
            out,
            "(the core counts differ: {} then, {} now)",
            old.cores, new.cores
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "| median | before | now | change |");
    let _ = writeln!(out, "|---|---|---|---|");
    let rows = MEASURES
        .iter()
        .map(|(k, label, _)| (*k, *label, &old.measures, &new.measures))
        .chain(
            HOPS.iter()
                .chain(&[("api_create", "POST /todos, in the function")])
                .map(|(k, label)| (*k, *label, &old.hops, &new.hops)),
        );
    for (key, label, before, now) in rows {
        match (before.get(key), now.get(key)) {
            (Some(b), Some(n)) => {
                let delta = n.median - b.median;
                let pct = if b.median.abs() > f64::EPSILON {
                    format!(" ({:+.0}%)", 100.0 * delta / b.median)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "| {label} | {:.1} ms | {:.1} ms | {delta:+.1} ms{pct} |",
                    b.median, n.median
                );
            }
            (None, Some(n)) => {
                let _ = writeln!(out, "| {label} | – | {:.1} ms | new |", n.median);
            }
            _ => {}
        }
    }
    out
}

/// `devstack bench`: a warm-up round, then the measured rounds, each in a
/// process of its own.
pub async fn run(plan: Plan, json_out: bool) -> Result<()> {
    let exe = std::env::current_exe().context("finding the devstack binary")?;
    let work = plan
        .out
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let warmup = one_round_process(&exe, &plan, &work, "warmup").await?;
    eprintln!(
        "warm-up round: cold start {:.0} ms (not counted)",
        warmup.cold_start_ms
    );
    let mut rounds = Vec::new();
    for r in 1..=plan.rounds {
        let round = one_round_process(&exe, &plan, &work, &format!("round-{r}")).await?;
        eprintln!(
            "round {r}/{}: cold start {:.0} ms, e2e p50 {:.1} ms",
            plan.rounds,
            round.cold_start_ms,
            devstack_client::load::percentile(&sorted(&round.e2e_ms), 50.0)
        );
        rounds.push(round);
    }
    let commit = repo::git::commit_of(&repo::root());
    let report = summarize(rounds, &plan, commit, Some(warmup.cold_start_ms));
    let text = serde_json::to_string_pretty(&report)?;
    std::fs::write(&plan.out, &text).with_context(|| format!("writing {}", plan.out.display()))?;
    let _ = std::fs::copy(&plan.out, work.join("latest.json"));
    if json_out {
        println!("{text}");
    } else {
        print!("{}", render(&report));
        println!();
        println!("written to {}", plan.out.display());
    }
    if let Some(old) = &plan.compare {
        let old: Report = serde_json::from_str(
            &std::fs::read_to_string(old).with_context(|| format!("reading {}", old.display()))?,
        )
        .with_context(|| format!("{} is not a bench report", old.display()))?;
        println!();
        print!("{}", compare(&old, &report));
    }
    Ok(())
}

async fn one_round_process(exe: &Path, plan: &Plan, work: &Path, name: &str) -> Result<Round> {
    let result = work.join(format!("{name}.json"));
    let log = work.join(format!("{name}.log"));
    let _ = std::fs::remove_file(&result);
    let load_before = load_average();
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("bench")
        .arg("--one-round")
        .arg(&result)
        .arg("--runs")
        .arg(plan.runs.to_string())
        .arg("--warmup")
        .arg(plan.warmup_runs.to_string())
        .arg("--iam")
        .arg(plan.iam.to_string());
    if let Some(dir) = &plan.bin_dir {
        cmd.arg("--bin-dir").arg(dir);
    }
    let out = std::fs::File::create(&log)?;
    cmd.stdout(out.try_clone()?)
        .stderr(out)
        .stdin(std::process::Stdio::null())
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    let status = cmd.status().await.context("starting a bench round")?;
    if !status.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        bail!(
            "bench {name} failed ({status}); the end of {}:\n{}",
            log.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    let mut round: Round = serde_json::from_str(
        &std::fs::read_to_string(&result)
            .with_context(|| format!("reading {}", result.display()))?,
    )?;
    round.load_before = load_before;
    round.load_after = load_average();
    // The round's emulator ends half a second after its process (a
    // watchdog): wait, so its teardown does not overlap the next start.
    let addr = round.emulator_url.trim_start_matches("http://").to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && tokio::net::TcpStream::connect(&addr).await.is_ok() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(round)
}

/// One round, in this process: a fresh local cloud, measured, then stopped.
pub async fn one_round(
    mut options: Options,
    runs: usize,
    warmup: usize,
    result: &Path,
) -> Result<()> {
    // Beside the result, replaced by the next bench, for `devstack trace`.
    let telemetry = result.with_extension("telemetry");
    let _ = std::fs::remove_dir_all(&telemetry);
    options.telemetry_dir = Some(telemetry.clone());
    let started = Instant::now();
    let running = cloud::start(options).await?;
    let mut round = Round {
        cold_start_ms: started.elapsed().as_secs_f64() * 1000.0,
        phases: running
            .phases
            .iter()
            .map(|(name, at)| (name.clone(), at.as_secs_f64() * 1000.0))
            .collect(),
        emulator_url: running.endpoints.emulator_url.clone(),
        ..Round::default()
    };
    let endpoints = running.endpoints.clone();

    // Every process has started once by the time its first `next` arrives.
    let deadline = Instant::now() + Duration::from_secs(10);
    round.init_at_start_ms = init_at_start(&running, deadline).await?;
    round.init_alone_ms = init_alone(&running, deadline).await?;

    let api = bench_user(&endpoints).await?;
    let seen_by = e2e_runs(&api, &telemetry, warmup, runs, &mut round).await?;
    crate::cost::tour(&endpoints, "bench-admin@example.com").await?;
    quiet(&telemetry).await;
    round.functions = crate::cost::figures(&running, &telemetry).await;
    round.artifact_bytes = crate::cost::artifacts(&running);
    round.event_age_ms = crate::cost::event_ages(&telemetry);
    // Every call the gate judged in the round, warm-up runs and tour too.
    round
        .hops
        .insert("iam_judgement".into(), running.judge.times_ms());
    let hops = devstack_api::telemetry::read_hops(&telemetry)?;
    for (i, read, elapsed) in seen_by {
        match path_hops(&hops, i, &read) {
            Some(path) => {
                let covered: f64 = path.iter().map(|(_, v)| v).sum::<f64>();
                for (k, v) in path {
                    round.hops.entry(k.to_owned()).or_default().push(v);
                }
                round
                    .hops
                    .entry("outside".into())
                    .or_default()
                    .push(elapsed.as_secs_f64() * 1000.0 - covered);
            }
            None => round.runs_without_hops += 1,
        }
    }
    std::fs::write(result, serde_json::to_string(&round)?)
        .with_context(|| format!("writing {}", result.display()))?;
    Ok(())
}

/// Each function's spawn → first `next`, all started together.
async fn init_at_start(
    running: &cloud::Running,
    deadline: Instant,
) -> Result<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    for (name, f) in &running.functions {
        let init = loop {
            if let Some(d) = f.metrics().await.init.first().copied() {
                break d;
            }
            if Instant::now() > deadline {
                bail!("{name} never asked for its first event");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        out.insert(name.clone(), init.as_secs_f64() * 1000.0);
    }
    Ok(out)
}

/// Each function's init alone: it is killed, and its restart timed with the
/// machine otherwise idle, as each function has its own sandbox on AWS.
async fn init_alone(running: &cloud::Running, deadline: Instant) -> Result<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    for (name, f) in &running.functions {
        let before = f.metrics().await.init.len();
        f.kill();
        let init = loop {
            let m = f.metrics().await;
            if m.init.len() > before {
                break m.init[m.init.len() - 1];
            }
            if Instant::now() > deadline + Duration::from_secs(30) {
                bail!("{name} did not come back");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        out.insert(name.clone(), init.as_secs_f64() * 1000.0);
    }
    Ok(out)
}

/// The user the end-to-end runs act as, signed up and given a profile.
async fn bench_user(endpoints: &devstack_api::Endpoints) -> Result<Client> {
    let api = Client {
        http: reqwest::Client::new(),
        base: endpoints.api_base_url.clone(),
        token: token_for(endpoints, "bench@example.com").await?,
    };
    let (status, _) = api
        .call(
            Method::PUT,
            "/users/me",
            Some(json!({"display_name": "Bench"})),
        )
        .await?;
    if status != 201 && status != 200 {
        bail!("PUT /users/me answered {status}");
    }
    Ok(api)
}

/// The warm-up runs, then the measured ones, each timed into `round`; the
/// answer is each measured run's index, the read that saw its result, and
/// its time, for cutting its path into hops.
async fn e2e_runs(
    api: &Client,
    telemetry: &Path,
    warmup: usize,
    runs: usize,
    round: &mut Round,
) -> Result<Vec<(usize, String, Duration)>> {
    let mut seen_by = Vec::new();
    for i in 0..warmup + runs {
        quiet(telemetry).await;
        let (elapsed, read) = e2e(api, telemetry, i).await?;
        if i >= warmup {
            round.e2e_ms.push(elapsed.as_secs_f64() * 1000.0);
            seen_by.push((i, read, elapsed));
        }
    }
    Ok(seen_by)
}

/// Until the previous run's last effects (the notification's push, its
/// NotificationSent) are done: no hop recorded for a while. Each run then
/// measures its own path, not the tail of the one before it, which shares
/// the emulator.
async fn quiet(telemetry: &Path) {
    let file = telemetry.join("hops.jsonl");
    let size = || std::fs::metadata(&file).map_or(0, |m| m.len());
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut seen = size();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let now = size();
        if now == seen {
            return;
        }
        seen = now;
    }
}

/// One end-to-end run: create, complete, then read until the congratulation
/// shows. The answer is the time and the correlation id of the read that
/// saw it.
async fn e2e(api: &Client, telemetry: &Path, i: usize) -> Result<(Duration, String)> {
    let mut hops = HopTail::new(telemetry);
    let title = format!("bench todo {i} {}", uuid::Uuid::new_v4().simple());
    let t0 = Instant::now();
    let (status, todo) = api
        .call_correlated(
            Method::POST,
            "/todos",
            Some(json!({"title": title})),
            Some(&format!("bench-{i}-create")),
        )
        .await?;
    if status != 201 {
        bail!("POST /todos answered {status}: {todo}");
    }
    let id = todo["id"].as_str().unwrap_or_default().to_owned();
    let (status, answer) = api
        .call_correlated(
            Method::PATCH,
            &format!("/todos/{id}"),
            Some(json!({"completed": true})),
            Some(&format!("bench-{i}")),
        )
        .await?;
    if status != 200 {
        bail!("PATCH /todos/{id} answered {status}: {answer}");
    }
    // Read when the local cloud has seen the consumer succeed, then again
    // every few milliseconds until the notification shows: a blind loop of
    // reads would load the emulator whose latency it measures.
    let deadline = t0 + Duration::from_secs(30);
    let consumed = |h: &Hop| {
        h.kind == "rule"
            && h.outcome == "ok"
            && h.detail.contains("TodoCompleted")
            && h.correlation_ids.iter().any(|c| c == &format!("bench-{i}"))
    };
    while !hops.next_batch().iter().any(consumed) {
        if Instant::now() > deadline {
            bail!("the congratulation for {title} was never consumed within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    for k in 0.. {
        let read = format!("bench-{i}-read-{k}");
        let (_, list) = api
            .call_correlated(Method::GET, "/notifications", None, Some(&read))
            .await?;
        let seen = list["items"].as_array().is_some_and(|items| {
            items
                .iter()
                .any(|n| n["message"].as_str().is_some_and(|m| m.contains(&title)))
        });
        if seen {
            return Ok((t0.elapsed(), read));
        }
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    bail!("the congratulation for {title} did not show within 30 s")
}

/// The hops recorded since the last look, read from the end of `hops.jsonl`.
struct HopTail {
    path: PathBuf,
    offset: u64,
    partial: String,
}

impl HopTail {
    fn new(dir: &Path) -> Self {
        let path = dir.join("hops.jsonl");
        let offset = std::fs::metadata(&path).map_or(0, |m| m.len());
        Self {
            path,
            offset,
            partial: String::new(),
        }
    }

    fn next_batch(&mut self) -> Vec<Hop> {
        use std::io::{Read, Seek, SeekFrom};
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return Vec::new();
        }
        let mut text = String::new();
        let Ok(n) = f.read_to_string(&mut text) else {
            return Vec::new();
        };
        self.offset += n as u64;
        self.partial.push_str(&text);
        // A line still being written stays for the next look.
        let complete = self.partial.rfind('\n').map_or(0, |i| i + 1);
        let lines: String = self.partial.drain(..complete).collect();
        lines
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

fn end(h: &Hop) -> f64 {
    h.start_ms + h.duration_ms
}

/// Run `i`'s path, cut into [`HOPS`] from the trace record: the PATCH's
/// http hop, its table write, the todos publisher's stream batch, the
/// TodoCompleted PutEvents entry, the notifications consumer's delivery and
/// its table write, then the read that saw the result (`read`). `None` when
/// a hop is missing (a retried or replayed delivery, an older local cloud
/// that does not record table writes).
pub fn path_hops(hops: &[Hop], i: usize, read: &str) -> Option<Vec<(&'static str, f64)>> {
    let corr = format!("bench-{i}");
    let with = |h: &&Hop, c: &str| h.correlation_ids.iter().any(|x| x == c);
    let ok = |h: &&Hop| h.outcome == "ok";
    let create = hops
        .iter()
        .find(|h| h.kind == "http" && with(h, &format!("{corr}-create")))?;
    let patch = hops
        .iter()
        .find(|h| h.kind == "http" && with(h, &corr) && h.detail.contains("PATCH"))?;
    let write = hops
        .iter()
        .filter(|h| {
            h.kind == "dynamodb"
                && h.trace_id == patch.trace_id
                && h.start_ms >= patch.start_ms
                && end(h) <= end(patch) + 1.0
        })
        .max_by(|a, b| end(a).total_cmp(&end(b)))?;
    let stream = hops.iter().find(|h| {
        h.kind == "stream" && h.function.starts_with("todos/") && with(h, &corr) && ok(h)
    })?;
    let bus = hops.iter().find(|h| {
        h.kind == "bus" && h.detail == "PutEvents TodoCompleted" && with(h, &corr) && ok(h)
    })?;
    let rule = hops.iter().find(|h| {
        h.kind == "rule"
            && h.function.starts_with("notifications/")
            && h.detail.contains("TodoCompleted")
            && with(h, &corr)
            && ok(h)
    })?;
    let stored = hops
        .iter()
        .filter(|h| {
            h.kind == "dynamodb"
                && h.trace_id == rule.trace_id
                && h.start_ms >= rule.start_ms
                && end(h) <= end(rule) + 1.0
        })
        .max_by(|a, b| end(a).total_cmp(&end(b)))?;
    let get = hops.iter().find(|h| h.kind == "http" && with(h, read))?;
    Some(vec![
        ("api_create", create.duration_ms),
        ("api_write", end(write) - patch.start_ms),
        ("stream_wait", stream.start_ms - end(write)),
        ("publisher", bus.start_ms - stream.start_ms),
        ("put_events", bus.duration_ms),
        ("tap_wait", rule.start_ms - end(bus)),
        ("consumer", stored.start_ms - rule.start_ms),
        ("notification_write", stored.duration_ms),
        ("until_read", get.start_ms - end(stored)),
        ("api_read", get.duration_ms),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(
        kind: &str,
        function: &str,
        detail: &str,
        trace: &str,
        corr: &str,
        start: f64,
        dur: f64,
    ) -> Hop {
        Hop {
            trace_id: trace.into(),
            id: devstack_api::telemetry::new_segment_id(),
            parent: None,
            kind: kind.into(),
            function: function.into(),
            detail: detail.into(),
            start_ms: start,
            duration_ms: dur,
            outcome: "ok".into(),
            correlation_ids: if corr.is_empty() {
                vec![]
            } else {
                vec![corr.into()]
            },
            links: vec![],
        }
    }

    #[test]
    fn the_path_is_cut_into_hops_that_cover_patch_to_read() {
        let hops = vec![
            hop(
                "http",
                "todos/ApiFunction",
                "POST /todos",
                "T0",
                "bench-3-create",
                0.0,
                4.0,
            ),
            hop(
                "http",
                "todos/ApiFunction",
                "PATCH /todos/{id}",
                "T1",
                "bench-3",
                10.0,
                6.0,
            ),
            hop(
                "dynamodb",
                "todos-Table",
                "PutItem",
                "T1",
                "bench-3",
                12.0,
                2.0,
            ),
            hop(
                "stream",
                "todos/PublisherFunction",
                "1 record(s)",
                "T2",
                "bench-3",
                20.0,
                9.0,
            ),
            hop(
                "bus",
                "EventBridge",
                "PutEvents TodoUpdated",
                "T1",
                "bench-3",
                22.0,
                3.0,
            ),
            hop(
                "bus",
                "EventBridge",
                "PutEvents TodoCompleted",
                "T1",
                "bench-3",
                22.0,
                3.0,
            ),
            hop(
                "rule",
                "notifications/ConsumerFunction",
                "TodoCompleted",
                "T1",
                "bench-3",
                27.0,
                8.0,
            ),
            hop(
                "dynamodb",
                "notifications-Table",
                "TransactWriteItems",
                "T1",
                "",
                30.0,
                3.0,
            ),
            hop(
                "http",
                "notifications/ApiFunction",
                "GET /notifications",
                "T3",
                "bench-3-read-0",
                36.0,
                2.0,
            ),
            hop(
                "http",
                "notifications/ApiFunction",
                "GET /notifications",
                "T4",
                "bench-3-read-1",
                40.0,
                2.0,
            ),
        ];
        let path: BTreeMap<_, _> = path_hops(&hops, 3, "bench-3-read-1")
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(path["api_write"], 4.0);
        assert_eq!(path["stream_wait"], 6.0);
        assert_eq!(path["publisher"], 2.0);
        assert_eq!(path["tap_wait"], 2.0);
        assert_eq!(path["consumer"], 3.0);
        assert_eq!(path["notification_write"], 3.0);
        assert_eq!(path["until_read"], 7.0);
        // The hops after the POST tile PATCH start → the read's end.
        let tiled: f64 = HOPS.iter().map(|(k, _)| path[k]).sum();
        assert_eq!(tiled, 42.0 - 10.0);
        // Without the table write the path cannot be cut.
        let no_write: Vec<Hop> = hops
            .iter()
            .filter(|h| h.detail != "PutItem")
            .cloned()
            .collect();
        assert!(path_hops(&no_write, 3, "bench-3-read-1").is_none());
    }

    #[test]
    fn rounds_are_summarised_by_their_median_and_spread() {
        let round = |cold: f64, e2e: Vec<f64>| Round {
            cold_start_ms: cold,
            e2e_ms: e2e,
            ..Round::default()
        };
        let plan = Plan {
            rounds: 3,
            runs: 3,
            warmup_runs: 0,
            bin_dir: None,
            out: PathBuf::from("x.json"),
            compare: None,
            iam: devstack_cloud::IamMode::Strict,
        };
        let report = summarize(
            vec![
                round(3000.0, vec![50.0, 60.0, 70.0]),
                round(2000.0, vec![80.0, 90.0, 100.0]),
                round(2500.0, vec![10.0, 20.0, 30.0]),
            ],
            &plan,
            "abc".into(),
            None,
        );
        let cold = &report.measures["cold_start_ms"];
        assert_eq!((cold.median, cold.min, cold.max), (2500.0, 2000.0, 3000.0));
        assert_eq!(report.measures["e2e_p50_ms"].median, 60.0);
        let text = render(&report);
        assert!(
            text.contains("| 2500.0 ms | 2000.0–3000.0 ms | ≤ 3000 ms |"),
            "{text}"
        );
        let mut faster = report.clone();
        faster.measures.get_mut("cold_start_ms").unwrap().median = 1250.0;
        assert!(
            compare(&report, &faster).contains("| 2500.0 ms | 1250.0 ms | -1250.0 ms (-50%) |")
        );
    }

    #[test]
    fn an_even_number_of_rounds_takes_the_middle_pair() {
        assert_eq!(median(&[1.0, 2.0, 4.0, 10.0]), Some(3.0));
        assert_eq!(median(&[]), None);
    }
}
