//! What the views share in reading the telemetry records.

use devstack_api::telemetry::Hop;

/// A hop that is a function's invocation (not a bus put or a table write).
pub fn invocation(h: &Hop) -> bool {
    h.function.contains('/') && !matches!(h.kind.as_str(), "bus" | "dynamodb")
}

pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}
