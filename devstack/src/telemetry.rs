//! What the local cloud sees of a trace and of the functions' output, kept
//! in a folder beside the endpoints file so `devstack trace` and `devstack
//! metrics` can read it while the cloud runs or after it stopped:
//! - `hops.jsonl`: every invocation (and every PutEvents entry) as a hop of
//!   its X-Ray trace, with its function, timing and outcome;
//! - `metrics.jsonl`: every EMF document a function printed;
//! - `logs/<service>-<LogicalId>.log`: each function's output, its log group.
//!
//! Lambda hands each invocation a `Lambda-Runtime-Trace-Id`; the local cloud
//! does the same, continuing the caller's trace when there is one (an
//! `X-Amzn-Trace-Id` header, a PutEvents entry's `TraceHeader`, a replayed
//! letter) and starting a new one otherwise, as Lambda does with active
//! tracing. Functions send PutEvents through [`bus_proxy`], which notes each
//! entry's `TraceHeader` by event id, because the emulator drops it: the
//! rule's target is then invoked in the publisher's trace, as on AWS.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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

/// How an invocation arrives, for its hop.
#[derive(Debug, Clone, Default)]
pub struct Arrival {
    pub kind: &'static str,
    /// The caller's X-Ray header, if it brought one.
    pub trace: Option<String>,
    pub detail: String,
    pub correlation_ids: Vec<String>,
    pub links: Vec<String>,
}

impl Arrival {
    pub fn new(kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            ..Self::default()
        }
    }

    pub fn traced(mut self, trace: Option<String>) -> Self {
        self.trace = trace.filter(|t| kit::telemetry::root_of(t).is_some());
        self
    }

    pub fn correlated(mut self, id: Option<&str>) -> Self {
        self.correlation_ids.extend(id.map(str::to_owned));
        self
    }
}

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

/// Where a running local cloud writes what it sees.
pub struct Recorder {
    dir: PathBuf,
    files: Mutex<HashMap<String, std::fs::File>>,
    /// The event's own id → the `TraceHeader` its PutEvents entry carried.
    bus: Mutex<HashMap<String, String>>,
    writes: crate::sources::Writes,
}

const BUS_MEMORY: usize = 100_000;

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").field("dir", &self.dir).finish()
    }
}

impl Recorder {
    pub fn new(dir: &Path) -> anyhow::Result<Arc<Self>> {
        std::fs::create_dir_all(dir.join("logs"))?;
        // A fresh cloud, a fresh record.
        for f in ["hops.jsonl", "metrics.jsonl"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
        Ok(Arc::new(Self {
            dir: dir.to_owned(),
            files: Mutex::new(HashMap::new()),
            bus: Mutex::new(HashMap::new()),
            writes: crate::sources::Writes::default(),
        }))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The table writes the proxy saw, for the stream pollers.
    pub fn writes(&self) -> &crate::sources::Writes {
        &self.writes
    }

    /// A DynamoDB write the proxy saw applied: the pollers of its tables
    /// wake, and it is a hop of the trace whose header the item carries
    /// (`kit::telemetry::ATTRIBUTE`), so the bench can tell the write from
    /// the wait for its stream.
    pub fn table_write(&self, target: &str, request: &Value, start_ms: f64, duration_ms: f64) {
        let tables = crate::sources::written_tables(target, request);
        for t in &tables {
            self.writes.written(t);
        }
        let mut headers = Vec::new();
        let mut correlation_ids = Vec::new();
        string_attributes(request, kit::telemetry::ATTRIBUTE, &mut headers);
        string_attributes(request, "correlation_id", &mut correlation_ids);
        let Some(header) = headers.first() else {
            return;
        };
        let Some(root) = kit::telemetry::root_of(header) else {
            return;
        };
        correlation_ids.dedup();
        self.hop(&Hop {
            trace_id: root.to_owned(),
            id: new_segment_id(),
            parent: parent_of(header).map(str::to_owned),
            kind: "dynamodb".into(),
            function: tables.join(","),
            detail: target
                .strip_prefix("DynamoDB_20120810.")
                .unwrap_or(target)
                .to_owned(),
            start_ms,
            duration_ms,
            outcome: "ok".into(),
            correlation_ids,
            links: Vec::new(),
        });
    }

    fn append(&self, file: &str, line: &str) {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let f = match files.entry(file.to_owned()) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                match std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.dir.join(file))
                {
                    Ok(f) => v.insert(f),
                    Err(_) => return,
                }
            }
        };
        let _ = writeln!(f, "{line}");
    }

    pub fn hop(&self, hop: &Hop) {
        if let Ok(line) = serde_json::to_string(hop) {
            self.append("hops.jsonl", &line);
        }
    }

    /// One line of a function's output: into its log, and into the metrics
    /// when it is an EMF document.
    pub fn function_line(&self, function: &str, line: &str) {
        self.append(&log_file(function), line);
        if line.starts_with('{')
            && line.contains("\"_aws\"")
            && let Ok(doc) = serde_json::from_str::<Value>(line)
            && doc.get("_aws").is_some()
        {
            let entry = serde_json::json!({"function": function, "emf": doc});
            self.append("metrics.jsonl", &entry.to_string());
        }
    }

    /// Before a PutEvents call goes on: each entry's `TraceHeader` by the
    /// event's own id (`detail.metadata.event_id`), known before the bus
    /// answers, so a rule's delivery can never overtake it.
    pub fn putting_events(&self, request: &Value) {
        let mut bus = self.bus.lock().unwrap_or_else(|e| e.into_inner());
        for entry in request["Entries"].as_array().into_iter().flatten() {
            let (Some(trace), Some(id)) = (
                entry["TraceHeader"].as_str(),
                entry["Detail"]
                    .as_str()
                    .and_then(|d| serde_json::from_str::<Value>(d).ok())
                    .and_then(|d| d["metadata"]["event_id"].as_str().map(str::to_owned)),
            ) else {
                continue;
            };
            if bus.len() >= BUS_MEMORY {
                bus.clear();
            }
            bus.insert(id, trace.to_owned());
        }
    }

    /// A PutEvents call seen by the bus proxy: the request's entries and
    /// the answer's results line up by position.
    pub fn put_events(&self, request: &Value, answer: &Value, start_ms: f64, duration_ms: f64) {
        let (Some(entries), Some(results)) =
            (request["Entries"].as_array(), answer["Entries"].as_array())
        else {
            return;
        };
        for (entry, result) in entries.iter().zip(results) {
            let Some(trace) = entry["TraceHeader"].as_str() else {
                continue;
            };
            let Some(root) = kit::telemetry::root_of(trace) else {
                continue;
            };
            let detail: Value = entry["Detail"]
                .as_str()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or(Value::Null);
            self.hop(&Hop {
                trace_id: root.to_owned(),
                id: new_segment_id(),
                parent: parent_of(trace).map(str::to_owned),
                kind: "bus".into(),
                function: "EventBridge".into(),
                detail: format!("PutEvents {}", entry["DetailType"].as_str().unwrap_or("?")),
                start_ms,
                duration_ms,
                outcome: match result["ErrorCode"].as_str() {
                    Some(code) => code.to_owned(),
                    None => "ok".into(),
                },
                correlation_ids: detail["metadata"]["correlation_id"]
                    .as_str()
                    .map(|c| vec![c.to_owned()])
                    .unwrap_or_default(),
                links: Vec::new(),
            });
        }
    }

    /// The `TraceHeader` an event (by `detail.metadata.event_id`) was put with.
    pub fn bus_trace(&self, event_id: &str) -> Option<String> {
        self.bus
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(event_id)
            .cloned()
    }
}

/// Every string value of an attribute named `name` anywhere in a DynamoDB
/// request (`"name": {"S": "…"}`), in order.
fn string_attributes(value: &Value, name: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v["S"].as_str() {
                    Some(s) if k == name => out.push(s.to_owned()),
                    _ => string_attributes(v, name, out),
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                string_attributes(v, name, out);
            }
        }
        _ => {}
    }
}

fn log_file(function: &str) -> String {
    format!("logs/{}.log", function.replace('/', "-"))
}

pub fn now_ms() -> f64 {
    chrono::Utc::now().timestamp_micros() as f64 / 1000.0
}

/// Every hop recorded in `dir`.
pub fn read_hops(dir: &Path) -> anyhow::Result<Vec<Hop>> {
    let text = std::fs::read_to_string(dir.join("hops.jsonl")).unwrap_or_default();
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
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

/// The EMF documents in `dir`, added up per service and function.
pub fn read_metrics(dir: &Path) -> Table {
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap_or_default();
    let mut table = Table::new();
    for line in text.lines() {
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        add_document(&mut table, &entry["emf"]);
    }
    table
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
            let values: Vec<f64> = match &doc[name] {
                Value::Array(a) => a.iter().filter_map(Value::as_f64).collect(),
                v => v.as_f64().into_iter().collect(),
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
            for v in values {
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

/// The bus proxy: functions' EventBridge and DynamoDB calls go through it
/// to the emulator (`AWS_ENDPOINT_URL_EVENTBRIDGE`,
/// `AWS_ENDPOINT_URL_DYNAMODB`), unchanged. The trace header of each
/// PutEvents entry is known when its rule delivers it, and each applied
/// table write wakes that table's stream pollers ([`Recorder::table_write`]).
pub mod bus_proxy {
    use super::*;
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, Method, StatusCode, Uri};
    use axum::response::{IntoResponse, Response};

    pub struct Proxy {
        pub upstream: String,
        pub client: reqwest::Client,
        pub recorder: Arc<Recorder>,
    }

    pub fn router(proxy: Arc<Proxy>) -> axum::Router {
        axum::Router::new().fallback(forward).with_state(proxy)
    }

    async fn forward(
        State(p): State<Arc<Proxy>>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let target = headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut request = p
            .client
            .request(method, format!("{}{path}", p.upstream))
            .body(body.clone());
        for (name, value) in &headers {
            if name != "host" && name != "content-length" {
                request = request.header(name, value);
            }
        }
        let put_events = target.ends_with(".PutEvents");
        let table_write = target.starts_with("DynamoDB_20120810.")
            && matches!(
                &target["DynamoDB_20120810.".len()..],
                "PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem" | "TransactWriteItems"
            );
        let parsed_request: Value = if put_events || table_write {
            serde_json::from_slice(&body).unwrap_or(Value::Null)
        } else {
            Value::Null
        };
        if put_events {
            p.recorder.putting_events(&parsed_request);
        }
        let start_ms = now_ms();
        let answer = match request.send().await {
            Ok(a) => a,
            Err(e) => {
                return (StatusCode::BAD_GATEWAY, format!("bus proxy: {e}")).into_response();
            }
        };
        let status = answer.status();
        let answer_headers = answer.headers().clone();
        let bytes = answer.bytes().await.unwrap_or_default();
        if put_events && status.is_success() {
            let parsed: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            p.recorder
                .put_events(&parsed_request, &parsed, start_ms, now_ms() - start_ms);
        }
        if table_write && status.is_success() {
            p.recorder
                .table_write(&target, &parsed_request, start_ms, now_ms() - start_ms);
        }
        let mut response = (status, bytes).into_response();
        for (name, value) in &answer_headers {
            if name != "content-length" && name != "transfer-encoding" {
                response.headers_mut().insert(name, value.clone());
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_table_write_is_a_hop_of_the_trace_its_item_carries() {
        use futures_util::FutureExt;
        let dir = tempfile::tempdir().unwrap();
        let r = Recorder::new(dir.path()).unwrap();
        let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        let woken = r.writes().watch("notifications-Table");
        let request = serde_json::json!({"TransactItems": [
            {"Put": {"TableName": "notifications-Table", "Item": {
                "pk": {"S": "USER#1"}, "trace_header": {"S": header}, "correlation_id": {"S": "c7"}}}},
            {"ConditionCheck": {"TableName": "notifications-Table", "Key": {"pk": {"S": "USER#1"}}}}
        ]});
        r.table_write("DynamoDB_20120810.TransactWriteItems", &request, 10.0, 3.0);
        let hops = read_hops(dir.path()).unwrap();
        assert_eq!(hops.len(), 1);
        let h = &hops[0];
        assert_eq!(
            (h.kind.as_str(), h.function.as_str(), h.detail.as_str()),
            ("dynamodb", "notifications-Table", "TransactWriteItems")
        );
        assert_eq!(h.trace_id, "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(h.correlation_ids, ["c7"]);
        assert_eq!((h.start_ms, h.duration_ms), (10.0, 3.0));
        assert!(
            woken.notified().now_or_never().is_some(),
            "the poller was not woken"
        );
        // No trace header in the item: the pollers still wake, no hop.
        r.table_write(
            "DynamoDB_20120810.PutItem",
            &serde_json::json!({"TableName": "notifications-Table", "Item": {"pk": {"S": "x"}}}),
            20.0,
            1.0,
        );
        assert_eq!(read_hops(dir.path()).unwrap().len(), 1);
        assert!(woken.notified().now_or_never().is_some());
    }

    #[test]
    fn put_events_entries_map_event_ids_to_their_trace_headers() {
        let dir = tempfile::tempdir().unwrap();
        let r = Recorder::new(dir.path()).unwrap();
        let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        let request = serde_json::json!({"Entries": [
            {"DetailType": "TodoCompleted", "Detail": "{\"metadata\":{\"correlation_id\":\"c9\",\"event_id\":\"e1\"}}", "TraceHeader": header},
            {"DetailType": "TodoCreated", "Detail": "{\"metadata\":{\"event_id\":\"e2\"}}"}
        ]});
        r.putting_events(&request);
        // Known before the bus answers.
        assert_eq!(r.bus_trace("e1").as_deref(), Some(header));
        assert_eq!(r.bus_trace("e2"), None);
        r.put_events(
            &request,
            &serde_json::json!({"Entries": [{"EventId": "b1"}, {"EventId": "b2"}]}),
            1.0,
            2.0,
        );
        let hops = read_hops(dir.path()).unwrap();
        assert_eq!(hops.len(), 1);
        assert_eq!(hops[0].trace_id, "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(hops[0].parent.as_deref(), Some("53995c3f42cd8ad8"));
        assert_eq!(hops[0].correlation_ids, ["c9"]);
    }
}
