//! `devstack burst`: many events put on the bus at once for one consumer
//! path, then how the local cloud took them: the time until the last
//! effect, each event's age when its consumer ran it, what was lost or
//! duplicated, and how many execution environments each function ran.
//!
//! The path: `UserRegistered` (each for a new user id) to the campaigns
//! consumer, whose effect is the user in the campaign audience. A user
//! missing from the audience when the wait ends is lost; an event the
//! consumer ran to success more than once is duplicated (its processed-
//! event record keeps the effect single, so this counts deliveries).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use devstack_api::Endpoints;
use devstack_api::telemetry::{
    now_ms, peak_rss_mb, read_hops, read_peak_environments, read_processes,
};
use kit::signed::json_protocol::{EVENTS, JsonApi};
use serde::Serialize;
use serde_json::{Value, json};

use crate::load::{event_age_values, percentile};

/// The consumer whose effects are counted.
const CONSUMER: &str = "campaigns/ConsumerFunction";

#[derive(Debug, Clone)]
pub struct Config {
    pub events: usize,
    /// How long to wait for the last effect.
    pub within: Duration,
}

/// An event age's spread, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Ages {
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub events: usize,
    /// From the first put to the last put's answer.
    pub put_seconds: f64,
    /// From the first put to the end of the consumer's last successful
    /// run of the burst's events (the whole wait when one never ran).
    pub last_effect_seconds: f64,
    /// The consumer's own `EventAge` (its invocation's start − the event's
    /// `occurred_at`, set when it is put), over every run of the burst's
    /// events.
    pub age_ms: Ages,
    pub lost: usize,
    pub duplicated: usize,
    /// Per stream reader, the batches that failed or ran past the
    /// function's timeout since the first put: each is handed over again
    /// whole, so every record in it that was already delivered is
    /// delivered twice.
    pub stream_batches_again: BTreeMap<String, usize>,
    /// Each function's most execution environments over the cloud's life.
    pub peak_environments: BTreeMap<String, u32>,
    /// Each function's processes and their peak memory, summed: what the
    /// machine gave it.
    pub processes: BTreeMap<String, Processes>,
}

/// A function's processes over the cloud's life.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Processes {
    /// Started: one per environment, and one per restart after a kill.
    pub started: usize,
    /// The peak memory (`VmHWM`) of those still running, summed, in
    /// 10^6 bytes.
    pub peak_memory_mb: f64,
}

impl Report {
    pub fn render(&self) -> String {
        let mut out = format!(
            "{} UserRegistered events put in {:.2} s; the last effect {:.2} s after the first put\n\
             event age at the consumer: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms\n\
             peak execution environments:\n",
            self.events,
            self.put_seconds,
            self.last_effect_seconds,
            self.age_ms.p50,
            self.age_ms.p95,
            self.age_ms.max,
        );
        for (function, n) in &self.peak_environments {
            let p = self.processes.get(function).cloned().unwrap_or_default();
            out.push_str(&format!(
                "  {function}: {n} ({} processes, {:.1} MB peak memory)\n",
                p.started, p.peak_memory_mb
            ));
        }
        let again: usize = self.stream_batches_again.values().sum();
        out.push_str(&format!("stream batches handed over again: {again}\n"));
        for (function, n) in self.stream_batches_again.iter().filter(|(_, n)| **n > 0) {
            out.push_str(&format!("  {function}: {n}\n"));
        }
        out.push_str(&format!(
            "lost: {}, duplicated: {}",
            self.lost, self.duplicated
        ));
        out
    }
}

/// One event put: its user and correlation id.
pub struct Put {
    pub user: String,
    pub correlation: String,
}

/// The committed example of `UserRegistered` (v1), which every burst
/// event is made from.
pub fn registration_example() -> Result<Value> {
    let dir = repo::paths::examples_dir("app.users/UserRegistered/v1")
        .context("the users service's examples")?;
    let path = repo::root().join(dir).join("example.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

/// `example` for a new user, with an event id, a correlation id
/// (`<prefix>-…`) and an `occurred_at` of its own: the detail, and who
/// and what it is for.
pub fn registration(example: &Value, prefix: &str) -> (Put, Value) {
    let user = uuid::Uuid::new_v4().to_string();
    let correlation = format!("{prefix}-{}", uuid::Uuid::new_v4().simple());
    let mut detail = example.clone();
    detail["metadata"]["event_id"] = json!(uuid::Uuid::now_v7().to_string());
    detail["metadata"]["correlation_id"] = json!(correlation);
    detail["metadata"]["occurred_at"] =
        json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    detail["data"]["user_id"] = json!(user);
    detail["data"]["email"] = json!(format!("{user}@example.com"));
    (Put { user, correlation }, detail)
}

pub async fn run(endpoints: &Endpoints, config: &Config) -> Result<Report> {
    let conf = kit::config::endpoint(&endpoints.emulator_url).await;
    let events = JsonApi::new(&conf, EVENTS);
    let example = registration_example()?;
    let started = Instant::now();
    let started_ms = now_ms() as i64;
    let batches = (0..config.events).collect::<Vec<_>>();
    let puts = futures_util::future::try_join_all(
        batches
            .chunks(10)
            .map(|batch| put_batch(&events, &endpoints.bus_name, &example, batch.len())),
    )
    .await?;
    let puts: Vec<Put> = puts.into_iter().flatten().collect();
    let put_seconds = started.elapsed().as_secs_f64();
    let table = &endpoints
        .services
        .get("campaigns")
        .context("no campaigns service in the endpoints")?
        .table;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let wanted: BTreeSet<String> = puts.iter().map(|p| format!("USER#{}", p.user)).collect();
    let telemetry = PathBuf::from(&endpoints.telemetry_dir);
    // The consumer's runs are watched in the trace records, not in its
    // table: a poll of the whole audience every 250 ms cost the emulator,
    // which is the burst's wall, half its time (py-spy). The table is read
    // once, at the end, for what was lost.
    let mut last_effect_ms = None;
    while started.elapsed() < config.within {
        last_effect_ms = last_success_ms(&telemetry, &puts)?;
        if last_effect_ms.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let seen = crate::campaigns::audience(&ddb, table).await?;
    let lost = wanted.iter().filter(|w| !seen.contains(*w)).count();
    let last_effect_seconds = match last_effect_ms {
        Some(ms) => (ms - started_ms as f64) / 1000.0,
        None => started.elapsed().as_secs_f64(),
    };
    let duplicated = duplicates(&telemetry, &puts)?;
    let mut ages = event_age_values(&telemetry, started_ms)
        .remove(&(CONSUMER.to_owned(), "UserRegistered".to_owned()))
        .unwrap_or_default();
    ages.sort_by(f64::total_cmp);
    Ok(Report {
        events: puts.len(),
        put_seconds,
        last_effect_seconds,
        age_ms: Ages {
            p50: percentile(&ages, 50.0),
            p95: percentile(&ages, 95.0),
            max: ages.last().copied().unwrap_or(0.0),
        },
        lost,
        duplicated,
        stream_batches_again: stream_batches_again(&telemetry, started_ms as f64)?,
        peak_environments: read_peak_environments(&telemetry),
        processes: processes(&telemetry),
    })
}

/// Each function's processes, with the peak memory of those running now.
fn processes(telemetry: &std::path::Path) -> BTreeMap<String, Processes> {
    let mut out: BTreeMap<String, Processes> = BTreeMap::new();
    for p in read_processes(telemetry) {
        let f = out.entry(p.function).or_default();
        f.started += 1;
        f.peak_memory_mb += peak_rss_mb(p.pid).unwrap_or(0.0);
    }
    out
}

/// `n` new users' UserRegistered in one PutEvents call.
async fn put_batch(events: &JsonApi, bus: &str, example: &Value, n: usize) -> Result<Vec<Put>> {
    let mut puts = Vec::new();
    let mut entries = Vec::new();
    for _ in 0..n {
        let (put, detail) = registration(example, "burst");
        entries.push(json!({
            "EventBusName": bus,
            "Source": "app.users",
            "DetailType": "UserRegistered",
            "Detail": detail.to_string(),
        }));
        puts.push(put);
    }
    let answer = events
        .call("PutEvents", &json!({ "Entries": entries }))
        .await
        .map_err(|e| anyhow::anyhow!("PutEvents: {e}"))?;
    anyhow::ensure!(
        answer["FailedEntryCount"].as_u64().unwrap_or(0) == 0,
        "PutEvents refused entries: {answer}"
    );
    Ok(puts)
}

/// When the consumer's last run of the burst's events ended (Unix
/// milliseconds), once it has run each of them to success.
fn last_success_ms(telemetry: &std::path::Path, puts: &[Put]) -> Result<Option<f64>> {
    let mut ended: BTreeMap<&str, f64> = BTreeMap::new();
    let hops = read_hops(telemetry)?;
    for h in hops
        .iter()
        .filter(|h| h.function == CONSUMER && h.kind == "rule" && h.outcome == "ok")
    {
        for c in &h.correlation_ids {
            let end = ended.entry(c.as_str()).or_insert(0.0);
            *end = end.max(h.start_ms + h.duration_ms);
        }
    }
    let mut last: f64 = 0.0;
    for p in puts {
        match ended.get(p.correlation.as_str()) {
            Some(end) => last = last.max(*end),
            None => return Ok(None),
        }
    }
    Ok(Some(last))
}

/// Per function, the stream batches that began at or after `since_ms` and
/// did not end `ok` (an error, or killed at the timeout).
fn stream_batches_again(
    telemetry: &std::path::Path,
    since_ms: f64,
) -> Result<BTreeMap<String, usize>> {
    let mut out: BTreeMap<String, usize> = BTreeMap::new();
    for h in read_hops(telemetry)?
        .iter()
        .filter(|h| h.kind == "stream" && h.start_ms >= since_ms)
    {
        *out.entry(h.function.clone()).or_default() += usize::from(h.outcome != "ok");
    }
    Ok(out)
}

/// How many of the burst's events the consumer ran to success more than
/// once.
fn duplicates(telemetry: &std::path::Path, puts: &[Put]) -> Result<usize> {
    let hops = read_hops(telemetry)?;
    let mut succeeded: BTreeMap<&str, usize> = BTreeMap::new();
    for h in hops
        .iter()
        .filter(|h| h.function == CONSUMER && h.kind == "rule" && h.outcome == "ok")
    {
        for c in &h.correlation_ids {
            *succeeded.entry(c.as_str()).or_default() += 1;
        }
    }
    Ok(puts
        .iter()
        .filter(|p| succeeded.get(p.correlation.as_str()).copied().unwrap_or(0) > 1)
        .count())
}
