//! The log lines of the functions a state machine execution invoked: each
//! task attempt's function (its `FunctionName`, a physical name or ARN,
//! read back to `<service>/<LogicalId>` through the endpoints' names), its
//! invocations that began inside the attempt (the hops), and the lines of
//! its log that carry those invocations' trace ids.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use devstack_api::telemetry::{self, Hop};
use devstack_sfn::history::Execution;
use serde::Serialize;

use crate::machines::function_name;

/// At most this many lines per attempt.
pub const LINES: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptLogs {
    pub step: String,
    /// The step's entry, and the attempt within it, counted from 0.
    pub entry: usize,
    pub attempt: usize,
    pub function: String,
    pub lines: Vec<String>,
}

/// `ids`: each function's physical name → `<service>/<LogicalId>`
/// ([`devstack_api::Endpoints::function_ids`]).
pub fn of(dir: &Path, ids: &BTreeMap<String, String>, execution: &Execution) -> Vec<AttemptLogs> {
    let hops: Vec<Hop> = telemetry::read_hops(dir).unwrap_or_default();
    let mut entries: std::collections::HashMap<&str, usize> = Default::default();
    let mut out = Vec::new();
    for step in &execution.steps {
        let entry = entries.entry(step.name.as_str()).or_default();
        for (i, attempt) in step.attempts.iter().enumerate() {
            let named = (attempt.parameters.as_ref())
                .and_then(|p| p["FunctionName"].as_str())
                .and_then(|n| ids.get(function_name(n)).cloned());
            let (Some(function), Some(from)) = (named, attempt.scheduled) else {
                continue;
            };
            let from_ms = from.timestamp_millis() as f64;
            let to_ms = attempt
                .ended
                .map_or(f64::MAX, |t| t.timestamp_millis() as f64);
            let traces: BTreeSet<&str> = (hops.iter())
                .filter(|h| h.function == function && h.kind == "invoke")
                .filter(|h| h.start_ms >= from_ms - SLACK_MS && h.start_ms <= to_ms + SLACK_MS)
                .map(|h| h.trace_id.as_str())
                .collect();
            out.push(AttemptLogs {
                step: step.name.clone(),
                entry: *entry,
                attempt: i,
                lines: lines(dir, &function, &traces),
                function,
            });
        }
        *entry += 1;
    }
    out
}

/// Step Functions' times are whole milliseconds of its own clock; the
/// hops', the Lambda API's.
const SLACK_MS: f64 = 50.0;

fn lines(dir: &Path, function: &str, traces: &BTreeSet<&str>) -> Vec<String> {
    if traces.is_empty() {
        return vec![];
    }
    let text = std::fs::read_to_string(dir.join(telemetry::log_file(function))).unwrap_or_default();
    (text.lines())
        .filter(|l| traces.iter().any(|t| l.contains(t)))
        .take(LINES)
        .map(str::to_owned)
        .collect()
}
