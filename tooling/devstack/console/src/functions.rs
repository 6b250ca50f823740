//! Per function, from the telemetry folder: invocations and errors (the
//! hops), cold starts and peak environments (the environments started),
//! p50 own time (the `OwnTime` each EMF document carries), peak memory (the
//! high-water mark of its live environments' processes), and its role's
//! used and unused permissions (`devstack least-privilege`, the same
//! report as the command).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use devstack_api::telemetry::{self, Hop};
use serde::Serialize;
use serde_json::Value;

use crate::records::{invocation, median};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    pub function: String,
    pub invocations: usize,
    pub errors: usize,
    /// Environments started on demand (beyond the one started warm).
    pub cold_starts: usize,
    pub peak_environments: u32,
    pub own_time_p50_ms: Option<f64>,
    /// The largest resident set any of its live environments reached.
    pub peak_memory_kb: Option<u64>,
}

/// Every function that ran or started an environment, by name.
pub fn figures(dir: &Path) -> Vec<Figures> {
    let mut out: BTreeMap<String, Figures> = BTreeMap::new();
    fn entry<'a>(out: &'a mut BTreeMap<String, Figures>, f: &str) -> &'a mut Figures {
        out.entry(f.to_owned()).or_insert_with(|| Figures {
            function: f.to_owned(),
            ..Figures::default()
        })
    }
    let hops: Vec<Hop> = telemetry::read_hops(dir).unwrap_or_default();
    for h in hops.iter().filter(|h| invocation(h)) {
        let e = entry(&mut out, &h.function);
        e.invocations += 1;
        e.errors += usize::from(h.outcome != "ok");
    }
    for (function, peak) in telemetry::read_peak_environments(dir) {
        entry(&mut out, &function).peak_environments = peak;
    }
    for started in telemetry::read_environments(dir) {
        entry(&mut out, &started.function).cold_starts += 1;
    }
    for (function, mut times) in telemetry::read_metric_values(dir, "OwnTime") {
        entry(&mut out, &function).own_time_p50_ms = median(&mut times);
    }
    for p in telemetry::read_processes(dir) {
        let e = entry(&mut out, &p.function);
        // The environment started warm with the cloud is one too; only
        // those started on demand are recorded as cold starts.
        e.peak_environments = e.peak_environments.max(1);
        if let Some(kb) = telemetry::peak_rss_kb(p.pid) {
            e.peak_memory_kb = Some(e.peak_memory_kb.unwrap_or(0).max(kb));
        }
    }
    out.into_values().collect()
}

/// The least-privilege report over this cloud's records, as `devstack
/// least-privilege --json` prints it.
pub async fn permissions(devstack: &PathBuf, dir: &Path) -> Result<Value, String> {
    let out = tokio::process::Command::new(devstack)
        .arg("least-privilege")
        .arg("--telemetry")
        .arg(dir)
        .arg("--json")
        .output()
        .await
        .map_err(|e| format!("running {}: {e}", devstack.display()))?;
    serde_json::from_slice(&out.stdout).map_err(|_| {
        format!(
            "devstack least-privilege: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn figures_come_from_the_records_of_each_function() {
        let dir = tempfile::tempdir().unwrap();
        let write = |file: &str, lines: &[&str]| {
            let mut f = std::fs::File::create(dir.path().join(file)).unwrap();
            for l in lines {
                writeln!(f, "{l}").unwrap();
            }
        };
        let hop = |function: &str, kind: &str, outcome: &str| {
            format!(
                r#"{{"trace_id":"t","id":"i","kind":"{kind}","function":"{function}","detail":"","start_ms":1,"duration_ms":2,"outcome":"{outcome}"}}"#
            )
        };
        write(
            telemetry::HOPS,
            &[
                &hop("todos/ApiFunction", "http", "ok"),
                &hop("todos/ApiFunction", "http", "Unhandled"),
                &hop("todos/ApiFunction", "http", "ok"),
                &hop("todos-Table-X", "dynamodb", "ok"),
            ],
        );
        write(
            telemetry::ENVIRONMENTS,
            &[
                r#"{"function":"todos/ApiFunction","environments":1,"at_ms":1}"#,
                r#"{"function":"todos/ApiFunction","environments":2,"at_ms":2}"#,
            ],
        );
        write(
            telemetry::METRICS,
            &[
                r#"{"function":"todos/ApiFunction","emf":{"OwnTime":[3.0]}}"#,
                r#"{"function":"todos/ApiFunction","emf":{"OwnTime":[1.0]}}"#,
                r#"{"function":"todos/ApiFunction","emf":{"OwnTime":[2.0]}}"#,
            ],
        );
        let me = std::process::id();
        write(
            telemetry::PROCESSES,
            &[&format!(
                r#"{{"function":"todos/ApiFunction","pid":{me},"at_ms":1}}"#
            )],
        );
        let f = figures(dir.path());
        assert_eq!(f.len(), 1, "a table is no function: {f:?}");
        let api = &f[0];
        assert_eq!((api.invocations, api.errors), (3, 1));
        assert_eq!((api.cold_starts, api.peak_environments), (2, 2));
        assert_eq!(api.own_time_p50_ms, Some(2.0));
        assert!(api.peak_memory_kb.is_some_and(|kb| kb > 0), "{api:?}");
    }
}
