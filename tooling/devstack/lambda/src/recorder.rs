//! The writer of the telemetry folder (its records and readers are
//! `devstack_api::telemetry`'s): what the local cloud sees of a trace and
//! of the functions' output.
//!
//! Lambda hands each invocation a `Lambda-Runtime-Trace-Id`; the local cloud
//! does the same, continuing the caller's trace when there is one (an
//! `X-Amzn-Trace-Id` header, a PutEvents entry's `TraceHeader`, a replayed
//! letter) and starting a new one otherwise, as Lambda does with active
//! tracing. Functions send PutEvents through the cloud's bus proxy, which notes each
//! entry's `TraceHeader` by event id, because the emulator drops it: the
//! rule's target is then invoked in the publisher's trace, as on AWS.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use devstack_api::telemetry::{Hop, log_file, new_segment_id, parent_of};
use serde_json::Value;

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

/// Where a running local cloud writes what it sees.
pub struct Recorder {
    dir: PathBuf,
    /// The functions' output and the stages' access logs also on this
    /// process's stdout/stderr (a person watching `devstack up`), not only
    /// in the folder's logs (a test run, whose output stays readable).
    echo: bool,
    files: Mutex<HashMap<String, std::fs::File>>,
    /// The event's own id → the `TraceHeader` its PutEvents entry carried.
    bus: Mutex<HashMap<String, String>>,
    /// The functions' EMF metrics, summed per series.
    emf: crate::emf::Recorded,
}

const BUS_MEMORY: usize = 100_000;

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").field("dir", &self.dir).finish()
    }
}

impl Recorder {
    pub fn new(dir: &Path, echo: bool) -> anyhow::Result<Arc<Self>> {
        std::fs::create_dir_all(dir.join("logs"))?;
        // A fresh cloud, a fresh record.
        for f in [
            devstack_api::telemetry::HOPS,
            devstack_api::telemetry::EVENTS,
            devstack_api::telemetry::DEAD_LETTERS,
            devstack_api::telemetry::BUS_LOG,
            devstack_api::telemetry::METRICS,
            devstack_api::telemetry::JUDGEMENTS,
            devstack_api::telemetry::GRANTS,
            devstack_api::telemetry::ENVIRONMENTS,
            devstack_api::telemetry::PROCESSES,
            devstack_api::telemetry::DEPLOYMENTS,
        ] {
            let _ = std::fs::remove_file(dir.join(f));
        }
        Ok(Arc::new(Self {
            dir: dir.to_owned(),
            echo,
            files: Mutex::new(HashMap::new()),
            bus: Mutex::new(HashMap::new()),
            emf: crate::emf::Recorded::default(),
        }))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last `lines` log lines (EMF documents left out: metrics, not
    /// logs) of each log written in the last `within`, most recent log
    /// first: what a failing test shows of the functions it drove.
    pub fn recent_logs(&self, within: std::time::Duration, lines: usize) -> String {
        let Ok(entries) = std::fs::read_dir(self.dir.join("logs")) else {
            return String::new();
        };
        let now = std::time::SystemTime::now();
        let mut recent: Vec<(std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .filter(|(at, _)| now.duration_since(*at).unwrap_or_default() <= within)
            .collect();
        recent.sort_by_key(|r| std::cmp::Reverse(r.0));
        let mut out = String::new();
        for (_, path) in recent {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let kept: Vec<&str> = text.lines().filter(|l| !is_emf(l)).collect();
            if kept.is_empty() {
                continue;
            }
            let tail = &kept[kept.len().saturating_sub(lines)..];
            out.push_str(&format!(
                "--- {} (last {} lines)\n",
                path.display(),
                tail.len()
            ));
            for l in tail {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    /// A DynamoDB write the proxy saw applied to `tables`: a hop of the
    /// trace whose header the item carries (`kit::telemetry::ATTRIBUTE`),
    /// so the bench can tell the write from the wait for its stream.
    pub fn table_write(
        &self,
        target: &str,
        tables: &[String],
        request: &Value,
        start_ms: f64,
        duration_ms: f64,
    ) {
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

    pub fn judgement(&self, judgement: &devstack_api::telemetry::Judgement) {
        if let Ok(line) = serde_json::to_string(judgement) {
            self.append(devstack_api::telemetry::JUDGEMENTS, &line);
        }
    }

    pub fn grants(&self, grants: &devstack_api::telemetry::RoleGrants) {
        if let Ok(line) = serde_json::to_string(grants) {
            self.append(devstack_api::telemetry::GRANTS, &line);
        }
    }

    pub fn environment(&self, started: &devstack_api::telemetry::EnvironmentStarted) {
        if let Ok(line) = serde_json::to_string(started) {
            self.append(devstack_api::telemetry::ENVIRONMENTS, &line);
        }
    }

    pub fn deployment(&self, seen: &devstack_api::telemetry::DeploymentSeen) {
        if let Ok(line) = serde_json::to_string(seen) {
            self.append(devstack_api::telemetry::DEPLOYMENTS, &line);
        }
    }

    pub fn process(&self, started: &devstack_api::telemetry::ProcessStarted) {
        if let Ok(line) = serde_json::to_string(started) {
            self.append(devstack_api::telemetry::PROCESSES, &line);
        }
    }

    pub fn hop(&self, hop: &Hop) {
        if let Ok(line) = serde_json::to_string(hop) {
            self.append(devstack_api::telemetry::HOPS, &line);
        }
    }

    pub fn bus_logged(&self, record: &devstack_api::telemetry::BusLogRecord) {
        if let Ok(line) = serde_json::to_string(record) {
            self.append(devstack_api::telemetry::BUS_LOG, &line);
        }
    }

    pub fn dead_lettered(&self, record: &devstack_api::telemetry::DeadLettered) {
        if let Ok(line) = serde_json::to_string(record) {
            self.append(devstack_api::telemetry::DEAD_LETTERS, &line);
        }
    }

    /// One line of a function's output (`stderr`: from its stderr): into
    /// its log, and into the metrics when it is an EMF document.
    pub fn function_line(&self, function: &str, line: &str, stderr: bool) {
        if self.echo {
            // Past any test harness's capture, as a process's own output.
            let _ = if stderr {
                writeln!(std::io::stderr().lock(), "{line}")
            } else {
                writeln!(std::io::stdout().lock(), "{line}")
            };
        }
        self.append(&log_file(function), line);
        if is_emf(line)
            && let Ok(doc) = serde_json::from_str::<Value>(line)
            && doc.get("_aws").is_some()
        {
            self.emf.add(&doc);
            let entry = serde_json::json!({"function": function, "emf": doc});
            self.append(devstack_api::telemetry::METRICS, &entry.to_string());
        }
    }

    /// The functions' EMF metrics so far, summed per series.
    pub fn emf(&self) -> &crate::emf::Recorded {
        &self.emf
    }

    /// One access log line of an API stage (`<service>/<LogicalId>`): into
    /// the stage's log (`logs/<service>-<LogicalId>-access.log`), and to
    /// this process's output when it echoes, like the functions' lines.
    pub fn access_line(&self, stage: &str, line: &str) {
        if self.echo {
            println!("{line}");
        }
        self.append(&log_file(&format!("{stage}-access")), line);
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
    /// the answer's results line up by position. `publisher`: the function
    /// whose session signed the call, when the judge knows it.
    pub fn put_events(
        &self,
        request: &Value,
        answer: &Value,
        (start_ms, duration_ms): (f64, f64),
        publisher: Option<&str>,
    ) {
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
            let outcome = match result["ErrorCode"].as_str() {
                Some(code) => code.to_owned(),
                None => "ok".into(),
            };
            let correlation_ids: Vec<String> = detail["metadata"]["correlation_id"]
                .as_str()
                .map(|c| vec![c.to_owned()])
                .unwrap_or_default();
            let event = devstack_api::telemetry::EventPut {
                trace_id: root.to_owned(),
                at_ms: start_ms,
                duration_ms,
                publisher: publisher.map(str::to_owned),
                source: entry["Source"].as_str().unwrap_or_default().to_owned(),
                detail_type: entry["DetailType"].as_str().unwrap_or_default().to_owned(),
                outcome: outcome.clone(),
                correlation_ids: correlation_ids.clone(),
                detail,
            };
            if let Ok(line) = serde_json::to_string(&event) {
                self.append(devstack_api::telemetry::EVENTS, &line);
            }
            self.hop(&Hop {
                trace_id: root.to_owned(),
                id: new_segment_id(),
                parent: parent_of(trace).map(str::to_owned),
                kind: "bus".into(),
                function: "EventBridge".into(),
                detail: format!("PutEvents {}", entry["DetailType"].as_str().unwrap_or("?")),
                start_ms,
                duration_ms,
                outcome,
                correlation_ids,
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

/// Whether a line looks like an EMF document (parsed only where kept).
fn is_emf(line: &str) -> bool {
    line.starts_with('{') && line.contains("\"_aws\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use devstack_api::telemetry::read_hops;

    #[test]
    fn put_events_entries_map_event_ids_to_their_trace_headers() {
        let dir = tempfile::tempdir().unwrap();
        let r = Recorder::new(dir.path(), false).unwrap();
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
            (1.0, 2.0),
            Some("todos/PublisherFunction"),
        );
        let hops = read_hops(dir.path()).unwrap();
        assert_eq!(hops.len(), 1);
        // Each traced entry is an event of the console's trail, with its
        // detail and the function that put it.
        let events = devstack_api::telemetry::read_events(dir.path());
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].detail["metadata"]["correlation_id"], "c9");
        assert_eq!(
            events[0].publisher.as_deref(),
            Some("todos/PublisherFunction")
        );
        assert_eq!(hops[0].trace_id, "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(hops[0].parent.as_deref(), Some("53995c3f42cd8ad8"));
        assert_eq!(hops[0].correlation_ids, ["c9"]);
    }
}
