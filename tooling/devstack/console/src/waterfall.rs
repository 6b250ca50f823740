//! One trace as a waterfall: its hops in order (the linked stream batches
//! too), each with its offset, duration, function and outcome, and
//! whether the function started an environment for it (cold) or ran it
//! in one already up (warm), as `devstack trace` reads the same records.

use std::collections::HashSet;
use std::path::Path;

use devstack_api::telemetry::{self, EnvironmentStarted, Hop};
use serde::Serialize;

use crate::records::invocation;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bar {
    pub offset_ms: f64,
    pub duration_ms: f64,
    pub kind: String,
    pub function: String,
    pub detail: String,
    pub outcome: String,
    /// `cold`, `warm`, or none for what is not an invocation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<&'static str>,
    /// A hop of a batch that continued this trace from its own.
    pub linked: bool,
}

/// The hops of `trace_id`, in the order they started.
pub fn bars(dir: &Path, trace_id: &str) -> Vec<Bar> {
    let hops: Vec<Hop> = telemetry::read_hops(dir).unwrap_or_default();
    let cold = cold_hops(&hops, &telemetry::read_environments(dir));
    let mine = telemetry::waterfall(&hops, trace_id);
    let t0 = mine.first().map_or(0.0, |h| h.start_ms);
    mine.iter()
        .map(|h| Bar {
            offset_ms: h.start_ms - t0,
            duration_ms: h.duration_ms,
            kind: h.kind.clone(),
            function: h.function.clone(),
            detail: h.detail.clone(),
            outcome: h.outcome.clone(),
            start: invocation(h).then(|| {
                if cold.contains(&(h.trace_id.as_str(), h.id.as_str())) {
                    "cold"
                } else {
                    "warm"
                }
            }),
            linked: h.trace_id != trace_id,
        })
        .collect()
}

/// The invocation that started each environment: of the function's
/// invocations under way when it started (each hop begins when the
/// invocation arrives, before an environment takes it), the one that
/// arrived last. One per environment started, so the cold ones add up to
/// the cold starts.
fn cold_hops<'a>(hops: &'a [Hop], started: &[EnvironmentStarted]) -> HashSet<(&'a str, &'a str)> {
    started
        .iter()
        .filter_map(|e| {
            (hops.iter())
                .filter(|h| h.function == e.function && invocation(h))
                .filter(|h| h.start_ms <= e.at_ms && e.at_ms <= h.start_ms + h.duration_ms)
                .max_by(|a, b| a.start_ms.total_cmp(&b.start_ms))
                .map(|h| (h.trace_id.as_str(), h.id.as_str()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(id: &str, start: f64, duration: f64) -> Hop {
        Hop {
            trace_id: format!("t-{id}"),
            id: id.into(),
            parent: None,
            kind: "rule".into(),
            function: "campaigns/ConsumerFunction".into(),
            detail: "UserRegistered".into(),
            start_ms: start,
            duration_ms: duration,
            outcome: "ok".into(),
            correlation_ids: vec![],
            links: vec![],
        }
    }

    #[test]
    fn each_environment_started_makes_one_invocation_cold() {
        // b and c wait while a runs; an environment starts for c, which
        // arrived last; d comes later, warm.
        let hops = [
            hop("a", 0.0, 50.0),
            hop("b", 10.0, 60.0),
            hop("c", 20.0, 70.0),
            hop("d", 200.0, 5.0),
        ];
        let started = [EnvironmentStarted {
            function: "campaigns/ConsumerFunction".into(),
            environments: 2,
            at_ms: 25.0,
        }];
        let cold = cold_hops(&hops, &started);
        assert_eq!(
            cold.into_iter().map(|(_, id)| id).collect::<Vec<_>>(),
            ["c"]
        );
    }
}
