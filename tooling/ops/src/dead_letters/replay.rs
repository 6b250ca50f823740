//! Replaying dead letters: workers receive, decide where each letter goes,
//! re-deliver, and delete only what was accepted.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;
use serde_json::{Value, json};

use crate::letter::{Filter, Raw, Shape, Summary};
use crate::queue::{self, Received};
use crate::targets::{Service, Targets};

use super::describe;
use super::redelivery::{Delivery, Verdict, put_on_bus};

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
