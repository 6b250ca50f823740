//! Which declared producer → consumer edges the tests exercised: every
//! local cloud the tests start records each rule delivery as a hop of its
//! trace (`devstack_api::telemetry`); the test command points them all at
//! one folder and reads them back here.

use std::collections::BTreeSet;
use std::path::Path;

use governance::declared::{self, Service};

/// The variable the local cloud reads for where its telemetry goes.
pub const TELEMETRY_ROOT: &str = "DEVSTACK_TELEMETRY_ROOT";

/// One declared edge: a consumer of an event (by detail-type; the version
/// is the contract's business, not the route's).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub producer: String,
    pub detail_type: String,
    pub consumer: String,
}

impl std::fmt::Display for Edge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} → {}: {}",
            self.producer, self.consumer, self.detail_type
        )
    }
}

/// Every edge the services' contracts declare.
pub fn declared(services: &[Service]) -> BTreeSet<Edge> {
    services
        .iter()
        .flat_map(|consumer| {
            consumer.consumes.iter().map(move |key| Edge {
                producer: declared::producer(services, key)
                    .map_or("?", |p| p.name)
                    .to_owned(),
                detail_type: key.detail_type.to_owned(),
                consumer: consumer.name.to_owned(),
            })
        })
        .collect()
}

/// (consumer service, detail-type) of every rule delivery recorded under
/// `root` (one folder per local cloud).
pub fn exercised(root: &Path) -> BTreeSet<(String, String)> {
    let Ok(dirs) = std::fs::read_dir(root) else {
        return BTreeSet::new();
    };
    dirs.flatten()
        .filter_map(|d| devstack_api::telemetry::read_hops(&d.path()).ok())
        .flatten()
        .filter(|h| h.kind == "rule")
        .filter_map(|h| {
            let service = h.function.split('/').next()?.to_owned();
            Some((service, h.detail))
        })
        .collect()
}

/// The report's lines: the count, then each edge no test exercised.
pub fn report(declared: &BTreeSet<Edge>, exercised: &BTreeSet<(String, String)>) -> Vec<String> {
    let missed: Vec<&Edge> = declared
        .iter()
        .filter(|e| !exercised.contains(&(e.consumer.clone(), e.detail_type.clone())))
        .collect();
    let mut lines = vec![format!(
        "==> event edges the tests exercised: {} of {} declared (rule deliveries recorded by the tests' local clouds)",
        declared.len() - missed.len(),
        declared.len()
    )];
    lines.extend(
        missed
            .iter()
            .map(|e| format!("    not exercised by any test: {e}")),
    );
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edge_no_delivery_exercised_is_named() {
        let declared = declared(&declared::services());
        let users_deleted = Edge {
            producer: "users".into(),
            detail_type: "UserDeleted".into(),
            consumer: "todos".into(),
        };
        assert!(declared.contains(&users_deleted), "{declared:?}");
        let all: BTreeSet<(String, String)> = declared
            .iter()
            .map(|e| (e.consumer.clone(), e.detail_type.clone()))
            .collect();
        assert_eq!(report(&declared, &all).len(), 1, "nothing missed");
        let mut some = all.clone();
        some.remove(&("todos".into(), "UserDeleted".into()));
        let lines = report(&declared, &some);
        assert_eq!(lines.len(), 2);
        assert!(
            lines[1].ends_with("users → todos: UserDeleted"),
            "{lines:?}"
        );
    }
}
