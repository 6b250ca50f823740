//! Dead letters: what the `dlq` commands do to them. Every path deletes a
//! message only after its copy is safe: written and read back (export), or
//! re-delivered and accepted (replay). A crash at any point leaves each
//! message in the DLQ (it reappears after its visibility timeout),
//! re-delivered, or exported.

use std::collections::BTreeSet;
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_lambda::types::InvocationType;
use serde::Serialize;
use serde_json::{Value, json};

use crate::letter::{Filter, Raw, Shape, Summary, decode, summarize};
use crate::queue::{self, Received};
use crate::targets::{Service, Targets};

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub fn describe(service: &Service, raw: &Raw) -> (Shape, Summary) {
    let shape = decode(raw);
    let function = match &shape {
        Shape::AsyncFailure { event, .. } => service.consumer_of(event).map(|c| c.function.clone()),
        _ => None,
    };
    let summary = summarize(raw, &shape, function, now_ms());
    (shape, summary)
}

#[derive(Debug, Serialize)]
pub struct QueueState {
    pub service: String,
    pub depth: i64,
    pub in_flight: i64,
    pub oldest_age_seconds: Option<i64>,
}

pub async fn list(t: &Targets) -> Result<Vec<QueueState>> {
    let mut out = Vec::new();
    for s in t.services.values() {
        let sqs = aws_sdk_sqs::Client::new(t.conf_of(s));
        let (depth, in_flight) = queue::depth(&sqs, &s.dlq_queue_url).await?;
        let oldest = if depth > 0 {
            queue::peek(&sqs, &s.dlq_queue_url, 100)
                .await?
                .iter()
                .filter_map(|r| r.sent_at_ms)
                .min()
                .map(|t| (now_ms() - t) / 1000)
        } else {
            None
        };
        out.push(QueueState {
            service: s.name.clone(),
            depth,
            in_flight,
            oldest_age_seconds: oldest,
        });
    }
    Ok(out)
}

/// Appends records to an export file and reads them back before they
/// count as written.
pub struct ExportFile {
    file: std::fs::File,
}

impl ExportFile {
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Self { file })
    }

    pub fn write_verified(&mut self, raws: &[Raw]) -> Result<()> {
        let start = self.file.seek(SeekFrom::End(0))?;
        let mut text = String::new();
        for r in raws {
            text.push_str(&serde_json::to_string(r)?);
            text.push('\n');
        }
        self.file.write_all(text.as_bytes())?;
        self.file.sync_all()?;
        let mut back = String::new();
        self.file.seek(SeekFrom::Start(start))?;
        (&self.file).read_to_string(&mut back)?;
        let ids: Vec<String> = back
            .lines()
            .map(|l| serde_json::from_str::<Raw>(l).map(|r| r.message_id))
            .collect::<Result<_, _>>()
            .context("the export file does not read back")?;
        let wanted: Vec<String> = raws.iter().map(|r| r.message_id.clone()).collect();
        if ids != wanted {
            bail!("the export file does not hold what was written");
        }
        Ok(())
    }
}

pub fn read_export(path: &Path) -> Result<Vec<Raw>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    std::io::BufReader::new(file)
        .lines()
        .enumerate()
        .filter(|(_, l)| l.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .map(|(i, l)| {
            serde_json::from_str(&l?).with_context(|| format!("{}:{}", path.display(), i + 1))
        })
        .collect()
}

/// Copies every message to `out`; with `remove`, deletes each batch once
/// its copy is verified. Returns how many were exported.
pub async fn export(t: &Targets, service: &Service, out: &Path, remove: bool) -> Result<usize> {
    let sqs = aws_sdk_sqs::Client::new(t.conf_of(service));
    let mut file = ExportFile::open(out)?;
    let mut seen = BTreeSet::new();
    let mut held = Vec::new();
    let mut idle = 0;
    while idle < 2 {
        let got = queue::receive(&sqs, &service.dlq_queue_url, 10, 60).await?;
        let fresh: Vec<_> = got
            .iter()
            .filter(|r| !seen.contains(&r.raw.message_id))
            .collect();
        if fresh.is_empty() {
            idle += 1;
            held.extend(got.into_iter().map(|r| r.handle));
            continue;
        }
        idle = 0;
        let raws: Vec<Raw> = fresh.iter().map(|r| r.raw.clone()).collect();
        file.write_verified(&raws)?;
        seen.extend(raws.iter().map(|r| r.message_id.clone()));
        let handles: Vec<String> = got.into_iter().map(|r| r.handle).collect();
        if remove {
            queue::delete(&sqs, &service.dlq_queue_url, &handles).await?;
        } else {
            held.extend(handles);
        }
    }
    queue::release(&sqs, &service.dlq_queue_url, &held).await?;
    Ok(seen.len())
}

/// Where a replay sends each letter (`ops dlq replay --to`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Destination {
    /// Re-invoke the function that failed, asynchronously (stream failures: re-run the records).
    Function,
    /// Put the original event back on the bus (consumers deduplicate on its event id).
    Bus,
    /// Send an EventBridge dead letter's event to the rule target it failed
    /// to reach (its TARGET_ARN: a bus, queue or topic), in the team's
    /// account; no other rule on the shared bus sees it again.
    Target,
}

#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub to: Destination,
    pub filter: Filter,
    pub max: Option<usize>,
    pub dry_run: bool,
    pub rate: Option<f64>,
    pub concurrency: usize,
    /// How long a message stays invisible while being replayed; after a
    /// crash it is back in the DLQ once this passes.
    pub visibility: i32,
    pub progress: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct ReplayReport {
    pub replayed: usize,
    pub failed_again: usize,
    pub skipped: usize,
    pub left: i64,
    /// What a dry run would do, or why messages failed or were skipped.
    pub details: Vec<Value>,
}

pub(crate) enum Verdict {
    Delivered,
    Failed(String),
    Skipped(String),
}

/// What the replay workers share.
struct Shared {
    report: ReplayReport,
    seen: BTreeSet<String>,
    release_later: Vec<String>,
    next_slot: Instant,
    idle_rounds: usize,
    /// Letters a worker has planned to re-deliver and not yet recorded:
    /// counted against `--max` at once, so workers planning at the same
    /// time cannot each spend the whole budget.
    reserved: usize,
}

/// Re-delivers dead letters, deleting each only after its re-delivery was
/// accepted. `concurrency` workers each receive a batch of 10, deliver it
/// (PutEvents 10 at a time, or one Invoke per letter), and delete what was
/// accepted, so the queue calls overlap.
pub async fn replay(t: &Targets, service: &Service, o: &ReplayOptions) -> Result<ReplayReport> {
    let sqs = aws_sdk_sqs::Client::new(t.conf_of(service));
    let url = &service.dlq_queue_url;
    let bar = if o.progress {
        let (depth, _) = queue::depth(&sqs, url).await.unwrap_or_default();
        let total = o.max.map_or(depth as u64, |m| (m as u64).min(depth as u64));
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} {msg} ({per_sec}, eta {eta})",
            )
            .expect("a valid template"),
        );
        Some(bar)
    } else {
        None
    };
    let shared = tokio::sync::Mutex::new(Shared {
        report: ReplayReport::default(),
        seen: BTreeSet::new(),
        release_later: Vec::new(),
        next_slot: Instant::now(),
        idle_rounds: 0,
        reserved: 0,
    });
    let workers = (0..o.concurrency.max(1)).map(|_| worker(t, service, o, &shared, bar.as_ref()));
    futures_util::future::try_join_all(workers).await?;
    let mut state = shared.into_inner();
    queue::release(&sqs, url, &state.release_later).await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    state.report.left = queue::depth(&sqs, url).await?.0;
    Ok(state.report)
}

impl Shared {
    /// Whether this worker should stop: the queue gave nothing new twice
    /// in a row, or `--max` letters were attempted.
    fn finished(&self, o: &ReplayOptions) -> bool {
        self.idle_rounds >= 2 || o.max.is_some_and(|m| self.committed() >= m)
    }

    /// How many more letters `--max` allows.
    fn budget(&self, o: &ReplayOptions) -> Option<usize> {
        o.max.map(|m| m.saturating_sub(self.committed()))
    }

    /// Attempted, or planned by a worker.
    fn committed(&self) -> usize {
        self.attempted() + self.reserved
    }

    fn attempted(&self) -> usize {
        self.report.replayed + self.report.failed_again
    }
}

async fn worker(
    t: &Targets,
    service: &Service,
    o: &ReplayOptions,
    shared: &tokio::sync::Mutex<Shared>,
    bar: Option<&indicatif::ProgressBar>,
) -> Result<()> {
    let sqs = aws_sdk_sqs::Client::new(t.conf_of(service));
    // The platform's bus, as its owner puts on it: a team's own account
    // may put only its own source there.
    let eb = aws_sdk_eventbridge::Client::new(&t.conf);
    let url = &service.dlq_queue_url;
    let interval = o
        .rate
        .filter(|r| *r > 0.0)
        .map(|r| Duration::from_secs_f64(1.0 / r));
    loop {
        if shared.lock().await.finished(o) {
            return Ok(());
        }
        let Some(fresh) = receive_fresh(&sqs, url, o.visibility, shared).await? else {
            continue;
        };
        // Planned and reserved under one lock: see `Shared::reserved`.
        let (plan, planned) = {
            let mut s = shared.lock().await;
            let plan = decide(service, o, &fresh, s.budget(o));
            let planned = plan.planned();
            s.reserved += planned;
            (plan, planned)
        };
        if o.dry_run {
            record_dry_run(shared, plan, fresh).await;
            shared.lock().await.reserved -= planned;
            continue;
        }
        let verdicts = deliver((t, service), &eb, shared, interval, plan).await;
        let done = record(shared, fresh, verdicts).await;
        shared.lock().await.reserved -= planned;
        queue::delete(&sqs, url, &done).await?;
        if let Some(bar) = bar {
            bar.inc(done.len() as u64);
        }
    }
}

/// A batch without the letters this run has already seen (another worker
/// holds them, or they failed again); those are released at the end.
/// `None` when nothing new came: an idle round.
async fn receive_fresh(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    visibility: i32,
    shared: &tokio::sync::Mutex<Shared>,
) -> Result<Option<Vec<Received>>> {
    let got = queue::receive(sqs, url, 10, visibility).await?;
    let mut s = shared.lock().await;
    let (fresh, old): (Vec<_>, Vec<_>) = got
        .into_iter()
        .partition(|r| !s.seen.contains(&r.raw.message_id));
    s.release_later.extend(old.into_iter().map(|r| r.handle));
    if fresh.is_empty() {
        s.idle_rounds += 1;
        return Ok(None);
    }
    s.idle_rounds = 0;
    for r in &fresh {
        s.seen.insert(r.raw.message_id.clone());
    }
    Ok(Some(fresh))
}

/// What to do with one batch, decided for every letter before any is sent
/// so that the bus gets them in PutEvents batches.
#[derive(Default)]
struct Plan {
    /// Events for the bus, by their letter's index in the batch.
    to_bus: Vec<(usize, Value)>,
    /// Invocations, by their letter's index in the batch.
    tasks: Vec<(usize, Delivery)>,
    /// Events for the rule targets they failed to reach (their ARNs).
    to_targets: Vec<(usize, String, Value)>,
    /// One per letter: skipped already, or `None` until delivered.
    verdicts: Vec<Option<Verdict>>,
    /// What a dry run reports for the letters it would replay.
    details: Vec<Value>,
}

impl Plan {
    /// Letters it re-delivers.
    fn planned(&self) -> usize {
        self.to_bus.len() + self.tasks.len() + self.to_targets.len()
    }
}

/// Where a letter that can be replayed goes.
enum Route {
    Bus(Value),
    Function(Delivery),
    Target(String, Value),
}

fn decide(service: &Service, o: &ReplayOptions, fresh: &[Received], budget: Option<usize>) -> Plan {
    let mut plan = Plan::default();
    for (i, r) in fresh.iter().enumerate() {
        let (shape, summary) = describe(service, &r.raw);
        let routed = if !o.filter.accepts(&r.raw, &summary) {
            Err("filtered out".into())
        } else if budget.is_some_and(|b| plan.planned() >= b) {
            Err("beyond --max".into())
        } else {
            route(&r.raw, &shape, &summary, o.to)
        };
        match routed {
            Ok((Route::Bus(event), detail)) => {
                plan.to_bus.push((i, event));
                plan.verdicts.push(None);
                plan.details.push(detail);
            }
            Ok((Route::Function(delivery), detail)) => {
                plan.tasks.push((i, delivery));
                plan.verdicts.push(None);
                plan.details.push(detail);
            }
            Ok((Route::Target(arn, event), detail)) => {
                plan.to_targets.push((i, arn, event));
                plan.verdicts.push(None);
                plan.details.push(detail);
            }
            Err(why) => plan.verdicts.push(Some(Verdict::Skipped(why))),
        }
    }
    plan
}

/// Where one letter goes for `to`, with what a dry run says about it; or
/// why it cannot be replayed there.
fn route(
    raw: &Raw,
    shape: &Shape,
    summary: &Summary,
    to: Destination,
) -> Result<(Route, Value), String> {
    match (shape, to) {
        (Shape::AsyncFailure { event, .. }, Destination::Bus)
            if event.get("detail-type").is_some() =>
        {
            Ok((
                Route::Bus(event.clone()),
                json!({"message_id": raw.message_id, "action": "put on the bus", "detail_type": summary.detail_type, "event_id": summary.event_id}),
            ))
        }
        (Shape::AsyncFailure { event, .. }, Destination::Function) => match &summary.function {
            Some(f) => Ok((
                Route::Function(Delivery::Async {
                    function: f.clone(),
                    event: event.clone(),
                    trace: raw.trace_header.clone(),
                }),
                json!({"message_id": raw.message_id, "action": "invoke asynchronously", "function": f, "event_id": summary.event_id}),
            )),
            None => Err("no function of this service consumes this event".into()),
        },
        (
            Shape::StreamFailure {
                function_arn: Some(f),
                stream_arn: Some(st),
                shard_id: Some(shard),
                start_sequence: Some(a),
                end_sequence: Some(b),
                ..
            },
            Destination::Function,
        ) => Ok((
            Route::Function(Delivery::Stream {
                function: f.clone(),
                stream: st.clone(),
                shard: shard.clone(),
                start: a.clone(),
                end: b.clone(),
            }),
            json!({"message_id": raw.message_id, "action": "re-run stream records", "function": f, "from": a, "to": b}),
        )),
        (Shape::StreamFailure { .. }, Destination::Bus) => {
            Err("a stream failure holds no event for the bus; use --to function".into())
        }
        (
            Shape::TargetFailure {
                event,
                target_arn: Some(arn),
                ..
            },
            Destination::Target,
        ) => match crate::rule_targets::Bus::of(arn) {
            Ok(_) => Ok((
                Route::Target(arn.clone(), event.clone()),
                json!({"message_id": raw.message_id, "action": "put on its target bus", "target": arn, "event_id": summary.event_id}),
            )),
            Err(why) => Err(why.to_string()),
        },
        // Back on the shared bus it would reach every rule there again,
        // other teams' included: only its own target gets it.
        (Shape::TargetFailure { .. }, _) => {
            Err("an EventBridge target's dead letter: replay it with --to target".into())
        }
        (_, Destination::Target) => {
            Err("only an EventBridge target's dead letter names a target; use --to function or --to bus".into())
        }
        _ => Err(format!("{} letters cannot be replayed", summary.shape)),
    }
}

/// A dry run counts what it would replay and gives the batch back.
async fn record_dry_run(shared: &tokio::sync::Mutex<Shared>, plan: Plan, fresh: Vec<Received>) {
    let mut s = shared.lock().await;
    s.report.replayed += plan.planned();
    s.report.skipped += plan
        .verdicts
        .iter()
        .filter(|v| matches!(v, Some(Verdict::Skipped(_))))
        .count();
    s.report.details.extend(plan.details);
    s.release_later.extend(fresh.into_iter().map(|r| r.handle));
}

/// Sends the plan, within `--rate`; returns every letter's verdict (`None`
/// for any not attempted).
async fn deliver(
    (t, service): (&Targets, &Service),
    eb: &aws_sdk_eventbridge::Client,
    shared: &tokio::sync::Mutex<Shared>,
    interval: Option<Duration>,
    plan: Plan,
) -> Vec<Option<Verdict>> {
    let Plan {
        to_bus,
        tasks,
        to_targets,
        mut verdicts,
        ..
    } = plan;
    for (i, arn, event) in to_targets {
        pace(shared, interval, 1).await;
        let sent = match crate::rule_targets::Bus::of(&arn) {
            Ok(bus) => crate::rule_targets::send(t.conf_of(service), &bus, &event).await,
            Err(why) => Err(why),
        };
        verdicts[i] =
            Some(sent.map_or_else(|e| Verdict::Failed(e.to_string()), |()| Verdict::Delivered));
    }
    if !to_bus.is_empty() {
        pace(shared, interval, to_bus.len()).await;
        for (i, v) in put_on_bus(eb, &t.bus_name, &to_bus).await {
            verdicts[i] = Some(v);
        }
    }
    for (i, d) in tasks {
        pace(shared, interval, 1).await;
        verdicts[i] = Some(d.run(t.lambda_of(service), t.conf_of(service)).await);
    }
    verdicts
}

/// Counts the batch's verdicts; returns the handles of the letters
/// delivered, which may now be deleted.
async fn record(
    shared: &tokio::sync::Mutex<Shared>,
    fresh: Vec<Received>,
    verdicts: Vec<Option<Verdict>>,
) -> Vec<String> {
    let mut done = Vec::new();
    let mut s = shared.lock().await;
    for (r, v) in fresh.into_iter().zip(verdicts) {
        match v.unwrap_or(Verdict::Failed("not attempted".into())) {
            Verdict::Delivered => {
                s.report.replayed += 1;
                done.push(r.handle);
            }
            Verdict::Failed(why) => {
                // Left invisible: it is back in the DLQ when its
                // visibility timeout passes, and not retried in this run.
                s.report.failed_again += 1;
                s.report
                    .details
                    .push(json!({"message_id": r.raw.message_id, "failed": why}));
            }
            Verdict::Skipped(why) => {
                s.report.skipped += 1;
                s.report
                    .details
                    .push(json!({"message_id": r.raw.message_id, "skipped": why}));
                s.release_later.push(r.handle);
            }
        }
    }
    done
}

async fn pace(shared: &tokio::sync::Mutex<Shared>, interval: Option<Duration>, n: usize) {
    let Some(interval) = interval else { return };
    let wait = {
        let mut s = shared.lock().await;
        let now = Instant::now();
        let slot = s.next_slot.max(now);
        s.next_slot = slot + interval * n as u32;
        slot - now
    };
    tokio::time::sleep(wait).await;
}

enum Delivery {
    Async {
        function: String,
        event: Value,
        trace: Option<String>,
    },
    Stream {
        function: String,
        stream: String,
        shard: String,
        start: String,
        end: String,
    },
}

impl Delivery {
    async fn run(self, lambda: &aws_sdk_lambda::Client, conf: &aws_config::SdkConfig) -> Verdict {
        match self {
            Delivery::Async {
                function,
                event,
                trace,
            } => invoke_async(lambda, &function, &event, trace).await,
            Delivery::Stream {
                function,
                stream,
                shard,
                start,
                end,
            } => match read_range(conf, &stream, &shard, &start, &end).await {
                Ok(records) if !records.is_empty() => {
                    invoke_with_records(lambda, &function, records).await
                }
                Ok(_) => Verdict::Failed(
                    "the records are no longer in the stream (24 h retention)".into(),
                ),
                Err(e) => Verdict::Failed(e.to_string()),
            },
        }
    }
}

pub(crate) async fn invoke_async(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    event: &Value,
    trace: Option<String>,
) -> Verdict {
    match lambda
        .invoke()
        .function_name(function)
        .invocation_type(InvocationType::Event)
        .payload(aws_sdk_lambda::primitives::Blob::new(event.to_string()))
        .customize()
        // Lambda continues a trace the caller names: the replay
        // joins the trace the failure happened in.
        .mutate_request(move |request| {
            if let Some(trace) = &trace {
                request
                    .headers_mut()
                    .insert("X-Amzn-Trace-Id", trace.clone());
            }
        })
        .send()
        .await
    {
        Ok(out) if out.status_code() == 202 => Verdict::Delivered,
        Ok(out) => Verdict::Failed(format!("Invoke answered {}", out.status_code())),
        Err(e) => Verdict::Failed(aws_sdk_lambda::error::DisplayErrorContext(e).to_string()),
    }
}

/// Invokes the stream's function synchronously with the records, as its
/// event source mapping would; a partial batch failure counts as failed.
async fn invoke_with_records(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    records: Vec<Value>,
) -> Verdict {
    let payload = json!({"Records": records});
    match lambda
        .invoke()
        .function_name(function.rsplit(':').next().unwrap_or(function))
        .payload(aws_sdk_lambda::primitives::Blob::new(payload.to_string()))
        .send()
        .await
    {
        Ok(out) if out.function_error().is_some() => Verdict::Failed(
            String::from_utf8_lossy(out.payload().map(|p| p.as_ref()).unwrap_or_default())
                .into_owned(),
        ),
        Ok(out) => {
            let answer: Value = out
                .payload()
                .and_then(|p| serde_json::from_slice(p.as_ref()).ok())
                .unwrap_or_default();
            if answer["batchItemFailures"]
                .as_array()
                .is_some_and(|f| !f.is_empty())
            {
                Verdict::Failed(format!(
                    "batch item failures: {}",
                    answer["batchItemFailures"]
                ))
            } else {
                Verdict::Delivered
            }
        }
        Err(e) => Verdict::Failed(aws_sdk_lambda::error::DisplayErrorContext(e).to_string()),
    }
}

/// The stream records from `start` to `end`, in Lambda's event shape.
async fn read_range(
    conf: &aws_config::SdkConfig,
    stream: &str,
    shard: &str,
    start: &str,
    end: &str,
) -> Result<Vec<Value>> {
    let streams = aws_sdk_dynamodbstreams::Client::new(conf);
    let mut iterator = streams
        .get_shard_iterator()
        .stream_arn(stream)
        .shard_id(shard)
        .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::AtSequenceNumber)
        .sequence_number(start)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(aws_sdk_dynamodbstreams::error::DisplayErrorContext(e).to_string())
        })?
        .shard_iterator;
    let end_n: u128 = end.parse().unwrap_or(u128::MAX);
    let mut out = Vec::new();
    while let Some(it) = iterator {
        let page = streams
            .get_records()
            .shard_iterator(it)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(aws_sdk_dynamodbstreams::error::DisplayErrorContext(e).to_string())
            })?;
        if page.records().is_empty() {
            break;
        }
        for r in page.records() {
            let seq: u128 = r
                .dynamodb()
                .and_then(|d| d.sequence_number())
                .and_then(|s| s.parse().ok())
                .unwrap_or(u128::MAX);
            if seq > end_n {
                return Ok(out);
            }
            out.push(serde_json::to_value(kit::stream::from_streams_api(
                r,
                stream,
                conf.region().map_or("us-east-1", |r| r.as_ref()),
            ))?);
        }
        iterator = page.next_shard_iterator;
    }
    Ok(out)
}

/// PutEvents in batches of 10 within the request size limit; entries the
/// answer reports as failed stay in the DLQ.
async fn put_on_bus(
    eb: &aws_sdk_eventbridge::Client,
    bus: &str,
    events: &[(usize, Value)],
) -> Vec<(usize, Verdict)> {
    let size = |e: &Value| {
        14 + e["source"].as_str().unwrap_or_default().len()
            + e["detail-type"].as_str().unwrap_or_default().len()
            + e["detail"].to_string().len()
    };
    let mut out = Vec::new();
    let mut batch: Vec<&(usize, Value)> = Vec::new();
    let mut bytes = 0;
    for item in events {
        let s = size(&item.1);
        if batch.len() == kit::publisher::MAX_ENTRIES
            || bytes + s > kit::publisher::DEFAULT_MAX_REQUEST_BYTES
        {
            out.extend(put_batch(eb, bus, &std::mem::take(&mut batch)).await);
            bytes = 0;
        }
        batch.push(item);
        bytes += s;
    }
    if !batch.is_empty() {
        out.extend(put_batch(eb, bus, &batch).await);
    }
    out
}

async fn put_batch(
    eb: &aws_sdk_eventbridge::Client,
    bus: &str,
    batch: &[&(usize, Value)],
) -> Vec<(usize, Verdict)> {
    let entries: Vec<PutEventsRequestEntry> = batch
        .iter()
        .map(|(_, e)| crate::rule_targets::entry(bus, e).build())
        .collect();
    match eb.put_events().set_entries(Some(entries)).send().await {
        Ok(answer) => batch
            .iter()
            .zip(answer.entries())
            .map(|((i, _), r)| match r.error_code() {
                Some(code) => (
                    *i,
                    Verdict::Failed(format!("{code}: {}", r.error_message().unwrap_or_default())),
                ),
                None => (*i, Verdict::Delivered),
            })
            .collect(),
        Err(e) => {
            let why = aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string();
            batch
                .iter()
                .map(|(i, _)| (*i, Verdict::Failed(why.clone())))
                .collect()
        }
    }
}

/// Deletes exactly the messages an export holds; refuses when the queue
/// holds any message the export does not.
pub async fn purge(
    t: &Targets,
    service: &Service,
    export: Option<&Path>,
    force: bool,
) -> Result<usize> {
    let sqs = aws_sdk_sqs::Client::new(t.conf_of(service));
    let exported: BTreeSet<String> = match export {
        Some(p) => read_export(p)?.into_iter().map(|r| r.message_id).collect(),
        None if force => BTreeSet::new(),
        None => {
            bail!("refusing to purge without --export FILE holding these messages (or --force)")
        }
    };
    let mut deleted = 0;
    let mut keep = Vec::new();
    let mut seen = BTreeSet::new();
    let mut idle = 0;
    while idle < 2 {
        let got = queue::receive(&sqs, &service.dlq_queue_url, 10, 30).await?;
        if got.iter().all(|r| seen.contains(&r.raw.message_id)) {
            idle += 1;
        }
        let mut doomed = Vec::new();
        for r in got {
            seen.insert(r.raw.message_id.clone());
            if force || exported.contains(&r.raw.message_id) {
                doomed.push(r.handle);
            } else {
                keep.push((r.raw.message_id, r.handle));
            }
        }
        deleted += queue::delete(&sqs, &service.dlq_queue_url, &doomed).await?;
    }
    let handles: Vec<String> = keep.iter().map(|(_, h)| h.clone()).collect();
    queue::release(&sqs, &service.dlq_queue_url, &handles).await?;
    if !keep.is_empty() {
        bail!(
            "{deleted} purged; {} message(s) are not in the export and were kept: {}",
            keep.len(),
            keep.iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(deleted)
}

/// Dead letters shaped exactly like the async-failure letters AWS sends
/// through SNS, for an event no rule consumes (so only replay is timed).
pub fn bench_letters(count: usize) -> Vec<Raw> {
    (0..count)
        .map(|i| {
            let event = json!({
                "version": "0", "id": format!("bench-{i}"), "source": "app.bench", "detail-type": "BenchProbe",
                "account": "123456789012", "time": chrono::Utc::now().to_rfc3339(), "region": "us-east-1", "resources": [],
                "detail": {"metadata": {"event_id": format!("00000000-0000-4000-8000-{i:012}"), "correlation_id": "bench"}, "data": {"n": i}}
            });
            let body = json!({
                "Type": "Notification", "MessageId": format!("bench-{i}"), "TopicArn": "arn:aws:sns:us-east-1:123456789012:bench",
                "Message": event.to_string(), "Timestamp": chrono::Utc::now().to_rfc3339(),
                "MessageAttributes": {
                    "RequestID": {"Type": "String", "Value": format!("req-{i}")},
                    "ErrorCode": {"Type": "Number", "Value": "200"},
                    "ErrorMessage": {"Type": "String", "Value": "bench"}
                }
            });
            Raw { message_id: String::new(), body: body.to_string(), attributes: Default::default(), sent_at_ms: None, receive_count: None, trace_header: None }
        })
        .collect()
}

/// One message at a time: receive 1, put 1, delete 1.
pub async fn naive_replay_to_bus(t: &Targets, service: &Service, count: usize) -> Result<usize> {
    let sqs = aws_sdk_sqs::Client::new(t.conf_of(service));
    let eb = aws_sdk_eventbridge::Client::new(&t.conf);
    let mut done = 0;
    while done < count {
        let got = queue::receive(&sqs, &service.dlq_queue_url, 1, 60).await?;
        let Some(r) = got.into_iter().next() else {
            break;
        };
        if let Shape::AsyncFailure { event, .. } = decode(&r.raw) {
            let answer = (eb.put_events())
                .entries(crate::rule_targets::entry(&t.bus_name, &event).build())
                .send()
                .await?;
            if answer.failed_entry_count() == 0 {
                queue::delete(&sqs, &service.dlq_queue_url, &[r.handle]).await?;
                done += 1;
            }
        }
    }
    Ok(done)
}
