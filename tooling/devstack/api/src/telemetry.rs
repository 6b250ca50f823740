//! What a running local cloud records, and how it is read back: the
//! telemetry folder beside the endpoints file, which `devstack trace` and
//! `devstack metrics` read while the cloud runs or after it stopped:
//! - `hops.jsonl`: every invocation (and every PutEvents entry) as a hop of
//!   its X-Ray trace ([`Hop`]), with its function, timing and outcome;
//! - `metrics.jsonl`: every EMF document a function printed;
//! - `logs/<service>-<LogicalId>.log`: each function's output, its log group;
//! - `iam.jsonl`: the judge's verdicts ([`Judgement`]): every refusal and
//!   would-be refusal, and each action a function was allowed on each
//!   resource, once;
//! - `events.jsonl`: every event a function put on the bus, with its
//!   detail and the function that put it ([`EventPut`]);
//! - `dead-letters.jsonl`: work that ended in a dead-letter queue
//!   ([`DeadLettered`]).
//!
//! The writer is the Lambda emulator's `Recorder`; this is the one
//! definition of the records both sides use.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One hop of a trace: an invocation, or an event put on the bus.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Hop {
    /// The X-Ray trace id (`Root`), `1-<8 hex>-<24 hex>`.
    pub trace_id: String,
    /// This hop's segment id: the `Parent` the function was handed.
    pub id: String,
    /// The caller's segment, when the trace came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// `http`, `stream`, `rule`, `s3`, `invoke`, `async`, `websocket`, `bus`,
    /// `dynamodb` (a table write).
    pub kind: String,
    /// `<service>/<LogicalId>`, or `EventBridge` for a bus hop.
    pub function: String,
    /// What it carried: a route, a detail-type, a record count.
    pub detail: String,
    /// Unix milliseconds.
    pub start_ms: f64,
    pub duration_ms: f64,
    /// `ok`, or the error type.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub correlation_ids: Vec<String>,
    /// Other traces this hop continued (a stream batch: each record's write).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
}

/// One verdict of the local cloud's judge on a call a function made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Judgement {
    /// `<service>/<LogicalId>`.
    pub function: String,
    /// The role whose session made the call.
    pub role: String,
    /// `dynamodb:PutItem`.
    pub action: String,
    pub resource: String,
    /// `allowed`, `denied`, or `would-deny` (audit mode let it through).
    pub verdict: String,
    /// The statement that decided, or why nothing did.
    pub reason: String,
    /// Unix milliseconds (0 in records written before it was kept).
    #[serde(default)]
    pub at_ms: f64,
}

/// One event put on the bus, with its detail: what the console's trail
/// shows of an event (a [`Hop`] carries its detail-type only).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EventPut {
    pub trace_id: String,
    pub at_ms: f64,
    /// The PutEvents call's time.
    pub duration_ms: f64,
    /// The function whose session signed the call (`<service>/<LogicalId>`),
    /// when the judge knew the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    pub source: String,
    pub detail_type: String,
    /// `ok`, or the bus's error code for the entry.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub correlation_ids: Vec<String>,
    /// The entry's detail as it was put (any JSON a producer sent).
    pub detail: Value,
}

/// The file of [`EventPut`]s in the telemetry folder.
pub const EVENTS: &str = "events.jsonl";

/// Every event put on the bus recorded in `dir`.
pub fn read_events(dir: &Path) -> Vec<EventPut> {
    read_lines(dir, EVENTS)
}

/// Work that ended in a dead-letter queue: an asynchronous invocation out
/// of retries (its DLQ), or a stream batch out of retries (its OnFailure
/// destination).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeadLettered {
    /// `<service>/<LogicalId>`.
    pub function: String,
    pub at_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// `dlq` or `on-failure`.
    pub destination: String,
    /// The last attempt's error.
    pub error: String,
}

/// The file of [`DeadLettered`] records in the telemetry folder.
pub const DEAD_LETTERS: &str = "dead-letters.jsonl";

/// Every piece of work that ended in a dead-letter queue, recorded in `dir`.
pub fn read_dead_letters(dir: &Path) -> Vec<DeadLettered> {
    read_lines(dir, DEAD_LETTERS)
}

/// One step of an event bus's own log, for a bus whose `LogConfig` turns
/// it on: EventBridge's event bus log record (`message_type` one of its
/// steps: `EVENT_RECEIPT`, `RULE_MATCH`, `INVOCATION_SUCCESS`,
/// `INVOCATION_FAILURE`, ...), as the local bus plays it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BusLogRecord {
    /// The bus's ARN.
    pub resource_arn: String,
    pub event_id: String,
    pub message_timestamp_ms: u64,
    pub message_type: String,
    /// `ERROR`, `INFO` or `TRACE`: the level the step is logged at.
    pub log_level: String,
    /// The step's details: the rule, the target, and with `IncludeDetail:
    /// FULL` the event itself.
    #[serde(default)]
    pub details: serde_json::Value,
    /// A failure's error code and message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<BusLogError>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BusLogError {
    pub error_code: String,
    pub error_message: String,
}

/// The file of [`BusLogRecord`]s in the telemetry folder.
pub const BUS_LOG: &str = "bus-log.jsonl";

/// Every bus log record written in `dir`.
pub fn read_bus_log(dir: &Path) -> Vec<BusLogRecord> {
    read_lines(dir, BUS_LOG)
}

/// The file of [`Hop`]s in the telemetry folder.
pub const HOPS: &str = "hops.jsonl";

/// The header the Step Functions router adds to each task's Invoke it
/// forwards, so the invocation's hop can say Step Functions called
/// ([`STEP_FUNCTIONS`], its detail) rather than any Invoke API caller.
pub const INVOKED_BY: &str = "x-devstack-invoked-by";
/// [`INVOKED_BY`]'s value, and the detail of such an invocation's hop.
pub const STEP_FUNCTIONS: &str = "Step Functions";
/// [`INVOKED_BY`]'s value when the engine's EventBridge invokes a rule's
/// function target itself (one put by API, or in another account).
pub const EVENTBRIDGE: &str = "EventBridge";

/// What a function's role grants, as the judge read it when the function
/// started: each Allow statement's action patterns and resources.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoleGrants {
    /// `<service>/<LogicalId>`.
    pub function: String,
    pub role: String,
    pub statements: Vec<GrantedStatement>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GrantedStatement {
    /// `role policy X, statement Y`.
    pub statement: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

/// The file of [`RoleGrants`] in the telemetry folder.
pub const GRANTS: &str = "iam-grants.jsonl";

/// Every function's grants recorded in `dir` (the last of each function's
/// lines: a redeploy records its new ones).
pub fn read_grants(dir: &Path) -> Vec<RoleGrants> {
    let mut by_function: BTreeMap<String, RoleGrants> = BTreeMap::new();
    for grants in read_lines::<RoleGrants>(dir, GRANTS) {
        by_function.insert(grants.function.clone(), grants);
    }
    by_function.into_values().collect()
}

/// A function's execution environment started (a cold start): how many
/// it has now.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EnvironmentStarted {
    /// `<service>/<LogicalId>`.
    pub function: String,
    pub environments: u32,
    /// Unix milliseconds.
    pub at_ms: f64,
}

/// The file of [`EnvironmentStarted`] lines in the telemetry folder.
pub const ENVIRONMENTS: &str = "environments.jsonl";

/// A gradual deployment of one function as it stood at `at_ms`: recorded
/// at each shift of its weights, each alarm's change and its end.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeploymentSeen {
    /// Unix milliseconds.
    pub at_ms: f64,
    pub deployment: crate::control::Deployment,
}

/// The file of [`DeploymentSeen`] lines in the telemetry folder.
pub const DEPLOYMENTS: &str = "deployments.jsonl";

/// Each deployment recorded in `dir` as it last stood, newest first.
pub fn read_deployments(dir: &Path) -> Vec<DeploymentSeen> {
    let mut latest: Vec<DeploymentSeen> = Vec::new();
    for seen in read_lines::<DeploymentSeen>(dir, DEPLOYMENTS) {
        let same = |d: &DeploymentSeen| {
            d.deployment.function == seen.deployment.function
                && d.deployment.to_version == seen.deployment.to_version
        };
        match latest.iter_mut().find(|d| same(d)) {
            Some(d) => *d = seen,
            None => latest.push(seen),
        }
    }
    latest.reverse();
    latest
}

/// A function's process started, in a new environment or in place of
/// one that ended: where its peak memory is read (`/proc/<pid>/status`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProcessStarted {
    /// `<service>/<LogicalId>`.
    pub function: String,
    pub pid: u32,
    /// Unix milliseconds.
    pub at_ms: f64,
}

/// The file of [`ProcessStarted`] lines in the telemetry folder.
pub const PROCESSES: &str = "processes.jsonl";

/// Every process start recorded in `dir`.
pub fn read_processes(dir: &Path) -> Vec<ProcessStarted> {
    read_lines(dir, PROCESSES)
}

/// The most memory a process has held (`VmHWM`), in 10^6 bytes; none
/// once it has ended, or off Linux.
pub fn peak_rss_mb(pid: u32) -> Option<f64> {
    Some(peak_rss_kb(pid)? as f64 * 1024.0 / 1e6)
}

/// [`peak_rss_mb`] in KiB, as Linux gives it.
pub fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Every environment started on demand, recorded in `dir`.
pub fn read_environments(dir: &Path) -> Vec<EnvironmentStarted> {
    read_lines(dir, ENVIRONMENTS)
}

/// Each function's most environments, as recorded in `dir`.
pub fn read_peak_environments(dir: &Path) -> BTreeMap<String, u32> {
    let mut peak: BTreeMap<String, u32> = BTreeMap::new();
    for e in read_environments(dir) {
        let most = peak.entry(e.function).or_default();
        *most = (*most).max(e.environments);
    }
    peak
}

/// Every verdict recorded in `dir`.
pub fn read_judgements(dir: &Path) -> Vec<Judgement> {
    read_lines(dir, JUDGEMENTS)
}

/// The records of one telemetry file: none when it is missing, and a line
/// cut short (a cloud stopped mid-write) left out.
fn read_lines<T: serde::de::DeserializeOwned>(dir: &Path, file: &str) -> Vec<T> {
    let text = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The file of [`Judgement`]s in the telemetry folder.
pub const JUDGEMENTS: &str = "iam.jsonl";

/// A new X-Ray trace id: 8 hex digits of epoch seconds, 24 random.
pub fn new_trace_id() -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("1-{:08x}-{}", chrono::Utc::now().timestamp(), &random[..24])
}

/// A new segment id: 16 hex digits.
pub fn new_segment_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_owned()
}

/// The `Parent` of an X-Ray header.
pub fn parent_of(header: &str) -> Option<&str> {
    header
        .split(';')
        .find_map(|part| part.trim().strip_prefix("Parent="))
}

/// The header a function is handed for a hop.
pub fn header(trace_id: &str, segment: &str) -> String {
    format!("Root={trace_id};Parent={segment};Sampled=1")
}

/// The log file of a function (`<service>/<LogicalId>`), inside the folder.
pub fn log_file(function: &str) -> String {
    format!("logs/{}.log", function.replace('/', "-"))
}

pub fn now_ms() -> f64 {
    chrono::Utc::now().timestamp_micros() as f64 / 1000.0
}

/// Every hop recorded in `dir`.
pub fn read_hops(dir: &Path) -> std::io::Result<Vec<Hop>> {
    Ok(read_lines(dir, HOPS))
}

/// The traces an id names: a trace id itself, or every trace whose hops
/// carry it as their correlation id.
pub fn traces_for(hops: &[Hop], id: &str) -> Vec<String> {
    let mut traces: Vec<String> = Vec::new();
    let mut add = |t: &str| {
        if !traces.iter().any(|x| x == t) {
            traces.push(t.to_owned());
        }
    };
    for h in hops {
        if h.trace_id == id || h.correlation_ids.iter().any(|c| c == id) {
            add(&h.trace_id);
        }
    }
    // A stream batch's own trace, whose every hop continues traces already
    // listed, shows in their waterfalls (linked), not on its own.
    let found = traces.clone();
    traces.retain(|t| {
        t == id
            || hops
                .iter()
                .filter(|h| &h.trace_id == t)
                .any(|h| h.links.is_empty() || h.links.iter().any(|l| l == t || !found.contains(l)))
    });
    traces
}

/// The hops of one trace, in time order: its own, and those that continued
/// it from a stream record (linked).
pub fn waterfall<'a>(hops: &'a [Hop], trace_id: &str) -> Vec<&'a Hop> {
    let mut mine: Vec<&Hop> = hops
        .iter()
        .filter(|h| h.trace_id == trace_id || h.links.iter().any(|l| l == trace_id))
        .collect();
    mine.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
    mine
}

/// The waterfall as text: offset, duration, a bar, the hop.
pub fn render_waterfall(trace_id: &str, hops: &[&Hop]) -> String {
    let mut out = String::new();
    let Some(first) = hops.first() else {
        return format!("trace {trace_id}: no hops recorded\n");
    };
    let t0 = first.start_ms;
    let end = hops
        .iter()
        .map(|h| h.start_ms + h.duration_ms)
        .fold(t0, f64::max);
    let total = (end - t0).max(1.0);
    let correlation = hops
        .iter()
        .flat_map(|h| h.correlation_ids.first())
        .next()
        .map(|c| format!(" (correlation id {c})"))
        .unwrap_or_default();
    out.push_str(&format!(
        "trace {trace_id}{correlation}: {} hops, {:.1} ms\n",
        hops.len(),
        total
    ));
    const WIDTH: usize = 30;
    let name_width = hops.iter().map(|h| h.function.len()).max().unwrap_or(8);
    for h in hops {
        let from = (((h.start_ms - t0) / total) * WIDTH as f64) as usize;
        let len = (((h.duration_ms / total) * WIDTH as f64).ceil() as usize).max(1);
        let from = from.min(WIDTH - 1);
        let len = len.min(WIDTH - from);
        let bar = format!(
            "{}{}{}",
            " ".repeat(from),
            "█".repeat(len),
            " ".repeat(WIDTH - from - len)
        );
        let linked = if h.trace_id == trace_id {
            ""
        } else {
            " (linked)"
        };
        out.push_str(&format!(
            "  {:>9.1} ms {:>8.1} ms |{bar}| {:<7} {:<name_width$}  {}  {}{linked}\n",
            h.start_ms - t0,
            h.duration_ms,
            h.kind,
            h.function,
            h.detail,
            h.outcome,
        ));
    }
    out
}

/// One metric's figures over every document a function printed.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Figure {
    pub unit: String,
    /// Values seen (a histogram's array counts each value).
    pub samples: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

/// namespace → function → (metric, dimensions besides service/function) → figure.
pub type Table = BTreeMap<String, BTreeMap<String, BTreeMap<String, Figure>>>;

/// The file of EMF documents in the telemetry folder, one per line:
/// `{"function": "<service>/<LogicalId>", "emf": <the document>}`.
pub const METRICS: &str = "metrics.jsonl";

/// Each line of [`METRICS`]: the function that printed it, and the document.
fn metric_documents(dir: &Path) -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(dir.join(METRICS)).unwrap_or_default();
    (text.lines())
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .map(|mut entry| {
            let function = entry["function"].as_str().map(str::to_owned);
            (function.unwrap_or_default(), entry["emf"].take())
        })
        .collect()
}

/// The EMF documents in `dir`, added up per service and function.
pub fn read_metrics(dir: &Path) -> Table {
    let mut table = Table::new();
    for (_, doc) in metric_documents(dir) {
        add_document(&mut table, &doc);
    }
    table
}

/// Every value of the metric `name` each function printed (by the
/// function that printed it, `<service>/<LogicalId>`).
pub fn read_metric_values(dir: &Path, name: &str) -> BTreeMap<String, Vec<f64>> {
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (function, doc) in metric_documents(dir)
        .into_iter()
        .filter(|(f, _)| !f.is_empty())
    {
        out.entry(function).or_default().extend(values(&doc, name));
    }
    out
}

/// A metric's values in one document: a histogram's array, or one value.
fn values(doc: &Value, name: &str) -> Vec<f64> {
    match &doc[name] {
        Value::Array(a) => a.iter().filter_map(Value::as_f64).collect(),
        v => v.as_f64().into_iter().collect(),
    }
}

fn add_document(table: &mut Table, doc: &Value) {
    let Some(directives) = doc["_aws"]["CloudWatchMetrics"].as_array() else {
        return;
    };
    for d in directives {
        let namespace = d["Namespace"].as_str().unwrap_or("?").to_owned();
        let dims: Vec<&str> = d["Dimensions"]
            .as_array()
            .and_then(|sets| sets.first())
            .and_then(|s| s.as_array())
            .map(|s| s.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let function = doc["function"].as_str().unwrap_or("?").to_owned();
        let extra: Vec<String> = dims
            .iter()
            .filter(|k| !matches!(**k, "service" | "function"))
            .map(|k| format!("{k}={}", doc[*k].as_str().unwrap_or("?")))
            .collect();
        for m in d["Metrics"].as_array().into_iter().flatten() {
            let Some(name) = m["Name"].as_str() else {
                continue;
            };
            let key = if extra.is_empty() {
                name.to_owned()
            } else {
                format!("{name} [{}]", extra.join(", "))
            };
            let f = table
                .entry(namespace.clone())
                .or_default()
                .entry(function.clone())
                .or_default()
                .entry(key)
                .or_insert_with(|| Figure {
                    unit: m["Unit"].as_str().unwrap_or("None").to_owned(),
                    min: f64::INFINITY,
                    max: f64::NEG_INFINITY,
                    ..Figure::default()
                });
            for v in values(doc, name) {
                f.samples += 1;
                f.sum += v;
                f.min = f.min.min(v);
                f.max = f.max.max(v);
            }
        }
    }
}

/// The metrics as one table per service.
pub fn render_metrics(table: &Table) -> String {
    let mut out = String::new();
    if table.is_empty() {
        out.push_str("no EMF documents recorded yet\n");
    }
    for (namespace, functions) in table {
        out.push_str(&format!("\n{namespace}\n"));
        out.push_str("| function | metric | unit | samples | sum | avg | max |\n|---|---|---|---|---|---|---|\n");
        for (function, metrics) in functions {
            for (metric, f) in metrics {
                let avg = if f.samples > 0 {
                    f.sum / f.samples as f64
                } else {
                    0.0
                };
                out.push_str(&format!(
                    "| {function} | {metric} | {} | {} | {} | {} | {} |\n",
                    f.unit,
                    f.samples,
                    trim(f.sum),
                    trim(avg),
                    trim(f.max)
                ));
            }
        }
    }
    out
}

fn trim(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_memory_is_read_from_proc() {
        let mb = peak_rss_mb(std::process::id()).unwrap();
        assert!(mb > 0.1, "{mb}");
        assert_eq!(peak_rss_mb(u32::MAX), None);
    }

    fn hop(trace: &str, kind: &str, start: f64, corr: &[&str], links: &[&str]) -> Hop {
        Hop {
            trace_id: trace.into(),
            id: new_segment_id(),
            parent: None,
            kind: kind.into(),
            function: format!("svc/{kind}"),
            detail: String::new(),
            start_ms: start,
            duration_ms: 5.0,
            outcome: "ok".into(),
            correlation_ids: corr.iter().map(|c| c.to_string()).collect(),
            links: links.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn a_correlation_id_finds_its_traces_and_a_trace_its_linked_hops() {
        let hops = vec![
            hop("T1", "http", 10.0, &["c1"], &[]),
            hop("T2", "stream", 20.0, &["c1"], &["T1"]),
            hop("T1", "bus", 25.0, &["c1"], &[]),
            hop("T3", "http", 30.0, &["c2"], &[]),
        ];
        // T2 only continues T1: it shows inside T1's waterfall.
        assert_eq!(traces_for(&hops, "c1"), vec!["T1"]);
        assert_eq!(traces_for(&hops, "T2"), vec!["T2"]);
        assert_eq!(traces_for(&hops, "T3"), vec!["T3"]);
        let w = waterfall(&hops, "T1");
        let kinds: Vec<&str> = w.iter().map(|h| h.kind.as_str()).collect();
        assert_eq!(kinds, ["http", "stream", "bus"]);
        let text = render_waterfall("T1", &w);
        assert!(text.contains("3 hops"), "{text}");
        assert!(text.contains("(linked)"), "{text}");
    }

    #[test]
    fn emf_documents_add_up_per_function_and_metric() {
        let mut table = Table::new();
        let doc = serde_json::json!({
            "_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "app/todos",
                "Dimensions": [["service", "function", "route"]],
                "Metrics": [{"Name": "Requests", "Unit": "Count"}, {"Name": "Latency", "Unit": "Milliseconds"}]}]},
            "service": "todos", "function": "todos-api", "route": "POST /todos",
            "Requests": 1, "Latency": [4.0, 6.0]
        });
        add_document(&mut table, &doc);
        add_document(&mut table, &doc);
        let f = &table["app/todos"]["todos-api"];
        assert_eq!(f["Requests [route=POST /todos]"].sum, 2.0);
        let latency = &f["Latency [route=POST /todos]"];
        assert_eq!((latency.samples, latency.min, latency.max), (4, 4.0, 6.0));
        assert!(
            render_metrics(&table)
                .contains("| todos-api | Requests [route=POST /todos] | Count | 2 | 2 |")
        );
    }
}
