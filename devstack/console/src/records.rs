//! What the views share in reading the telemetry records.

use std::path::Path;

use devstack_api::telemetry::{self, EnvironmentStarted, Hop};

/// A hop that is a function's invocation (not a bus put or a table write).
pub fn invocation(h: &Hop) -> bool {
    h.function.contains('/') && !matches!(h.kind.as_str(), "bus" | "dynamodb")
}

/// Every environment started on demand.
pub fn environments(dir: &Path) -> Vec<EnvironmentStarted> {
    let text = std::fs::read_to_string(dir.join(telemetry::ENVIRONMENTS)).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}
