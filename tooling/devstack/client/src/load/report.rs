//! What a load run reports: the figures per route, the event ages, the
//! faults, every expected effect and the verdict, rendered as tables.

use std::collections::BTreeMap;
use std::path::Path;

use devstack_api::chaos::Counts;
use serde::Serialize;
use serde_json::Value;

use super::{percentile, s};

/// Figures of one route.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RouteFigures {
    pub route: String,
    /// Every attempt, retries included.
    pub calls: u64,
    pub status_2xx: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
    /// No answer: connection refused, reset or timed out.
    pub transport_errors: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// `EventAge` at consumption (invocation start − `occurred_at`), from the consumers'
/// EMF documents.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AgeFigures {
    pub function: String,
    pub event_type: String,
    pub samples: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// What one replay of a service's DLQ did (`ops dlq replay --json`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Replayed {
    pub service: String,
    pub replayed: u64,
    pub failed_again: u64,
    pub skipped: u64,
    pub left: i64,
}

/// One DLQ's letters by what they carried (`<shape> <detail-type>`).
pub type Letters = BTreeMap<String, BTreeMap<String, u64>>;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Expected {
    pub users: usize,
    pub welcomes: usize,
    pub todos: usize,
    pub completions: usize,
    pub attachments: usize,
    pub deleted_users: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub run_id: String,
    pub seed: u64,
    pub chaos: bool,
    pub users: usize,
    pub concurrency: usize,
    /// Acknowledged actions by kind.
    pub actions: BTreeMap<String, u64>,
    pub actions_total: u64,
    /// Actions the client gave up on after its retries (then judged by
    /// what the APIs show).
    pub gave_up: u64,
    pub action_seconds: f64,
    pub throughput_per_s: f64,
    pub routes: Vec<RouteFigures>,
    /// 4xx answers to this run's (valid) requests, the first few per route.
    pub rejected: Vec<String>,
    pub event_age: Vec<AgeFigures>,
    /// What the fault proxy injected during the run (chaos only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faults: Option<Counts>,
    pub expected: Expected,
    /// DLQ depth per service once the effects settled, before any replay.
    pub dlq_before_replay: BTreeMap<String, i64>,
    pub letters_before_replay: Letters,
    /// Effects missing before the replay whose event was in no DLQ.
    pub unexplained_before_replay: usize,
    pub replay: Vec<Replayed>,
    pub dlq_after: BTreeMap<String, i64>,
    pub settle_seconds: f64,
    pub total_seconds: f64,
    /// Each effect missing or repeated, described (at most 50).
    pub problems: Vec<String>,
    pub lost: u64,
    pub duplicated: u64,
}

impl Report {
    /// The last line of every run.
    pub fn verdict(&self) -> String {
        format!("lost: {}, duplicated: {}", self.lost, self.duplicated)
    }
}

/// `EventAge` per consumer and event type, from the EMF documents the
/// local cloud recorded since `since_ms`.
pub fn event_ages(telemetry_dir: &Path, since_ms: i64) -> Vec<AgeFigures> {
    event_age_values(telemetry_dir, since_ms)
        .into_iter()
        .map(|((function, event_type), mut v)| {
            v.sort_by(f64::total_cmp);
            AgeFigures {
                function,
                event_type,
                samples: v.len(),
                p50_ms: percentile(&v, 50.0),
                p95_ms: percentile(&v, 95.0),
                p99_ms: percentile(&v, 99.0),
                max_ms: v.last().copied().unwrap_or(0.0),
            }
        })
        .collect()
}

/// Every `EventAge` value recorded since `since_ms`, by (consumer,
/// detail-type).
pub fn event_age_values(
    telemetry_dir: &Path,
    since_ms: i64,
) -> BTreeMap<(String, String), Vec<f64>> {
    let text = std::fs::read_to_string(telemetry_dir.join("metrics.jsonl")).unwrap_or_default();
    let mut ages: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for line in text.lines() {
        if !line.contains("\"EventAge\"") {
            continue;
        }
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let doc = &entry["emf"];
        if doc["_aws"]["Timestamp"].as_i64().unwrap_or(0) < since_ms {
            continue;
        }
        let values: Vec<f64> = match &doc["EventAge"] {
            Value::Array(a) => a.iter().filter_map(Value::as_f64).collect(),
            v => v.as_f64().into_iter().collect(),
        };
        ages.entry((
            s(&entry, "function").to_owned(),
            doc["event_type"].as_str().unwrap_or("?").to_owned(),
        ))
        .or_default()
        .extend(values);
    }
    ages
}

/// The report as tables; the last line is the verdict.
pub fn render(r: &Report) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    render_head(&mut out, r);
    render_routes(&mut out, r);
    render_event_age(&mut out, r);
    if let Some(f) = &r.faults {
        render_faults(&mut out, f);
    }
    render_effects(&mut out, r);
    for p in &r.problems {
        let _ = writeln!(out, "  {p}");
    }
    let _ = write!(out, "{}", r.verdict());
    out
}

pub(super) fn render_head(out: &mut String, r: &Report) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "devstack load {}: {} users, concurrency {}, seed {}, chaos {}",
        r.run_id,
        r.users,
        r.concurrency,
        r.seed,
        if r.chaos { "on" } else { "off" }
    );
    let actions: Vec<String> = r.actions.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(
        out,
        "actions: {} in {:.1} s = {:.1}/s ({}); gave up: {}",
        r.actions_total,
        r.action_seconds,
        r.throughput_per_s,
        actions.join(", "),
        r.gave_up
    );
}

pub(super) fn render_routes(out: &mut String, r: &Report) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "\n| route | calls | 2xx | 4xx | 5xx | no answer | p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for f in &r.routes {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            f.route,
            f.calls,
            f.status_2xx,
            f.status_4xx,
            f.status_5xx,
            f.transport_errors,
            f.p50_ms,
            f.p95_ms,
            f.p99_ms,
            f.max_ms
        );
    }
    for r in &r.rejected {
        let _ = writeln!(out, "  4xx: {r}");
    }
}

pub(super) fn render_event_age(out: &mut String, r: &Report) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "\nevent age at consumption (EMF EventAge)\n| function | event | samples | p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|"
    );
    for a in &r.event_age {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.0} |",
            a.function, a.event_type, a.samples, a.p50_ms, a.p95_ms, a.p99_ms, a.max_ms
        );
    }
}

pub(super) fn render_faults(out: &mut String, f: &Counts) {
    use std::fmt::Write;
    let kinds: Vec<String> = f
        .faults
        .iter()
        .map(|(k, v)| format!("{k:?} {v}").to_lowercase())
        .collect();
    let outage: Vec<String> = f
        .outage
        .iter()
        .map(|(k, v)| format!("{k} {v} calls"))
        .collect();
    let kills: Vec<String> = f.kills.iter().map(|(k, v)| format!("{k} ×{v}")).collect();
    let _ = writeln!(
        out,
        "\nfaults: {} of {} proxied calls ({}); outage: {}; kills: {} ({})",
        f.faults_total(),
        f.calls,
        kinds.join(", "),
        if outage.is_empty() {
            "none".into()
        } else {
            outage.join(", ")
        },
        f.kills_total(),
        kills.join(", ")
    );
}

/// What was expected, the DLQs before and after the replay, and how long
/// the effects took to settle.
pub(super) fn render_effects(out: &mut String, r: &Report) {
    use std::fmt::Write;
    let e = &r.expected;
    let _ = writeln!(
        out,
        "\nexpected: {} welcomes, {} todos, {} completions → {} congratulations, {} attachments ready, {} users erased",
        e.welcomes, e.todos, e.completions, e.completions, e.attachments, e.deleted_users
    );
    let _ = writeln!(out, "DLQ before replay: {}", depths(&r.dlq_before_replay));
    for (service, kinds) in &r.letters_before_replay {
        let kinds: Vec<String> = kinds.iter().map(|(k, v)| format!("{k} ×{v}")).collect();
        let _ = writeln!(out, "  {service}: {}", kinds.join(", "));
    }
    let _ = writeln!(
        out,
        "missing before replay and in no DLQ: {}",
        r.unexplained_before_replay
    );
    for p in &r.replay {
        let _ = writeln!(
            out,
            "ops dlq replay {}: replayed {}, failed again {}, skipped {}, left {}",
            p.service, p.replayed, p.failed_again, p.skipped, p.left
        );
    }
    let _ = writeln!(out, "DLQ after: {}", depths(&r.dlq_after));
    let _ = writeln!(
        out,
        "settled in {:.1} s; whole run {:.1} s",
        r.settle_seconds, r.total_seconds
    );
}

pub(super) fn depths(d: &BTreeMap<String, i64>) -> String {
    d.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn the_verdict_is_the_last_line() {
        let r = Report {
            lost: 2,
            duplicated: 1,
            ..Report::default()
        };
        let text = render(&r);
        assert_eq!(text.lines().last(), Some("lost: 2, duplicated: 1"));
    }
}
