//! A bench's figures: what was asked, each round's measures, their median
//! and spread, the table printed and the comparison of two reports.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::stat::{Stat, median};

/// What `devstack bench` was asked for.
#[derive(Debug, Clone)]
pub struct Plan {
    pub rounds: usize,
    /// Measured end-to-end runs per round.
    pub runs: usize,
    /// End-to-end runs per round before the measured ones, thrown away:
    /// the first calls pay each function's SDK set-up and JWKS fetch.
    pub warmup_runs: usize,
    pub bin_dir: Option<PathBuf>,
    pub out: PathBuf,
    pub compare: Option<PathBuf>,
    pub iam: devstack_cloud::IamMode,
    /// Every round's cloud in one account, not a team per account.
    pub one_account: bool,
}

/// One round's raw figures, as its process reports them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Round {
    /// `cloud::start`: command → API ready, binaries built.
    pub cold_start_ms: f64,
    /// Its steps, each as the time since the start.
    #[serde(default)]
    pub phases: Vec<(String, f64)>,
    /// Spawn → first `next` of each function, all started together.
    pub init_at_start_ms: BTreeMap<String, f64>,
    /// The same, each restarted alone on an otherwise idle cloud.
    pub init_alone_ms: BTreeMap<String, f64>,
    /// Create → complete → the congratulation visible through the API.
    pub e2e_ms: Vec<f64>,
    /// Each hop of the path, one value per measured run.
    pub hops: BTreeMap<String, Vec<f64>>,
    /// Runs whose hops could not all be found in the trace record.
    pub runs_without_hops: usize,
    pub emulator_url: String,
    /// Each function's cold first response, warm own time and peak memory.
    #[serde(default)]
    pub functions: BTreeMap<String, crate::cost::FunctionRound>,
    /// Each function binary's size (bytes), by file name.
    #[serde(default)]
    pub artifact_bytes: BTreeMap<String, u64>,
    /// `EventAge` at consumption (now − `occurred_at`) per detail-type,
    /// every consumer's every delivery in the round.
    #[serde(default)]
    pub event_age_ms: BTreeMap<String, Vec<f64>>,
    /// The 1, 5 and 15 minute load averages before and after the round.
    #[serde(default)]
    pub load_before: Option<[f64; 3]>,
    #[serde(default)]
    pub load_after: Option<[f64; 3]>,
}

/// The bench's result, written as JSON so that runs can be compared.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub version: u32,
    pub commit: String,
    pub started_at: String,
    pub cores: usize,
    pub rounds: usize,
    pub runs: usize,
    pub warmup_runs: usize,
    /// The warm-up round's cold start: page cache, `.pyc` files and the
    /// template cache still cold. Not in the measures.
    pub warmup_cold_start_ms: Option<f64>,
    /// Each measure: one value per round, then the median across rounds.
    pub measures: BTreeMap<String, Stat>,
    /// Each hop of the end-to-end path: the round's median, across rounds.
    pub hops: BTreeMap<String, Stat>,
    /// Each function's figures: the round's value, across rounds.
    #[serde(default)]
    pub functions: BTreeMap<String, crate::cost::FunctionStats>,
    /// The teams each round placed in accounts of their own (service →
    /// account); none: one account, as every report before them.
    #[serde(default)]
    pub accounts: BTreeMap<String, String>,
    pub per_round: Vec<Round>,
}

/// The hops of the end-to-end path, in order. Together they cover the
/// PATCH's start to the end of the read that first sees the notification,
/// with no gap and no overlap.
pub const HOPS: &[(&str, &str)] = &[
    (
        "api_write",
        "API write: PATCH start → the todo's write applied",
    ),
    (
        "stream_wait",
        "wait for the stream poll: write → publisher invoked",
    ),
    ("publisher", "publisher: invoked → PutEvents sent"),
    ("put_events", "PutEvents (bus proxy → emulator → tap queue)"),
    (
        "tap_wait",
        "wait for the tap queue: PutEvents answered → consumer invoked",
    ),
    (
        "consumer",
        "consumer: invoked → the notification's write sent",
    ),
    ("notification_write", "the notification's write"),
    ("until_read", "write applied → the read that sees it starts"),
    (
        "api_read",
        "API read that first sees it (GET /notifications)",
    ),
];

/// The rows of the table: (key, label, budget).
pub(crate) const MEASURES: &[(&str, &str, &str)] = &[
    (
        "cold_start_ms",
        "local cloud cold start (command → API ready)",
        "≤ 3000 ms",
    ),
    (
        "function_init_alone_p50_ms",
        "function init p50, one at a time (spawn → first `next`)",
        "≤ 10 ms",
    ),
    (
        "function_init_alone_max_ms",
        "function init max, one at a time",
        "",
    ),
    (
        "function_init_at_start_p50_ms",
        "function init p50, all at start",
        "≤ 5 ms every round",
    ),
    (
        "e2e_p50_ms",
        "create → complete → notification visible, p50",
        "≤ 100 ms",
    ),
    ("e2e_p95_ms", "same, p95", "≤ 150 ms"),
    (
        "age_user_registered_p50_ms",
        "UserRegistered's age at its consumers, p50",
        "≤ 500 ms",
    ),
    (
        "age_user_deleted_p50_ms",
        "UserDeleted's age at its consumers, p50",
        "≤ 500 ms",
    ),
    (
        "age_todo_completed_p50_ms",
        "TodoCompleted's age at its consumers, p50",
        "≤ 500 ms",
    ),
    (
        "e2e_outside_hops_p50_ms",
        "of which outside the hops and the POST (HTTP client, gateway, token check), p50",
        "",
    ),
];

pub(crate) fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// The 1, 5 and 15 minute load averages (Linux).
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = text.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// One round's scalars: what the rounds' medians are taken of.
pub fn scalars(round: &Round) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    out.insert("cold_start_ms".into(), round.cold_start_ms);
    let alone = sorted(&round.init_alone_ms.values().copied().collect::<Vec<_>>());
    let at_start = sorted(&round.init_at_start_ms.values().copied().collect::<Vec<_>>());
    let e2e = sorted(&round.e2e_ms);
    let p = devstack_client::load::percentile;
    if !alone.is_empty() {
        out.insert("function_init_alone_p50_ms".into(), p(&alone, 50.0));
        out.insert("function_init_alone_max_ms".into(), p(&alone, 100.0));
    }
    if !at_start.is_empty() {
        out.insert("function_init_at_start_p50_ms".into(), p(&at_start, 50.0));
    }
    if !e2e.is_empty() {
        out.insert("e2e_p50_ms".into(), p(&e2e, 50.0));
        out.insert("e2e_p95_ms".into(), p(&e2e, 95.0));
    }
    if let Some(outside) = round.hops.get("outside") {
        out.insert("e2e_outside_hops_p50_ms".into(), p(&sorted(outside), 50.0));
    }
    for (event, key) in AGES {
        if let Some(ages) = round.event_age_ms.get(*event).filter(|a| !a.is_empty()) {
            out.insert((*key).into(), p(&sorted(ages), 50.0));
        }
    }
    out
}

/// The event ages the table shows: (detail-type, measure key).
pub(crate) const AGES: &[(&str, &str)] = &[
    ("UserRegistered", "age_user_registered_p50_ms"),
    ("UserDeleted", "age_user_deleted_p50_ms"),
    ("TodoCompleted", "age_todo_completed_p50_ms"),
];

pub fn summarize(
    rounds: Vec<Round>,
    plan: &Plan,
    commit: String,
    warmup_cold_start_ms: Option<f64>,
) -> Report {
    let mut measures: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut hops: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for round in &rounds {
        for (k, v) in scalars(round) {
            measures.entry(k).or_default().push(v);
        }
        for (k, values) in &round.hops {
            if let Some(m) = median(&sorted(values)) {
                hops.entry(k.clone()).or_default().push(m);
            }
        }
    }
    let functions = crate::cost::across(rounds.iter().map(|r| &r.functions));
    Report {
        version: 1,
        commit,
        started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        rounds: rounds.len(),
        runs: plan.runs,
        warmup_runs: plan.warmup_runs,
        warmup_cold_start_ms,
        measures: measures
            .into_iter()
            .filter_map(|(k, v)| Some((k, Stat::of(v)?)))
            .collect(),
        hops: hops
            .into_iter()
            .filter_map(|(k, v)| Some((k, Stat::of(v)?)))
            .collect(),
        functions,
        accounts: devstack_cloud::accounts::layout(plan.one_account),
        per_round: rounds,
    }
}

pub(crate) fn spread(s: &Stat) -> String {
    format!("{:.1}–{:.1}", s.min, s.max)
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    render_head(&mut out, report);
    render_measures(&mut out, report);
    if !report.hops.is_empty() {
        render_hops(&mut out, report);
    }
    if let Some(first) = report.per_round.first()
        && !first.phases.is_empty()
    {
        render_phases(&mut out, report, first);
    }
    if let Some(first) = report.per_round.first() {
        render_functions(&mut out, report, first);
    }
    if !report.functions.is_empty() {
        out.push('\n');
        out.push_str(&crate::cost::render(&report.functions));
    }
    if let Some(last) = report.per_round.last()
        && !last.artifact_bytes.is_empty()
    {
        out.push('\n');
        out.push_str(&crate::cost::render_artifacts(&last.artifact_bytes));
    }
    out
}

/// The conditions: rounds, runs, cores, the machine's load, the commit.
pub(crate) fn render_head(out: &mut String, report: &Report) {
    use std::fmt::Write;
    let loads: Vec<String> = report
        .per_round
        .iter()
        .filter_map(|r| r.load_before.map(|l| format!("{:.2}", l[0])))
        .collect();
    let _ = writeln!(
        out,
        "{} rounds, each a fresh local cloud; {} measured end-to-end runs per round after {} warm-up runs; {} cores; 1-minute load before each round: {}; commit {}",
        report.rounds,
        report.runs,
        report.warmup_runs,
        report.cores,
        if loads.is_empty() {
            "unknown".to_owned()
        } else {
            loads.join(", ")
        },
        report.commit,
    );
    let placed: Vec<String> = (report.accounts.iter())
        .map(|(service, account)| format!("{service} in {account}"))
        .collect();
    let _ = writeln!(
        out,
        "accounts: {}",
        match placed.is_empty() {
            true => "one".to_owned(),
            false => format!("{}, the rest in the platform's", placed.join(", ")),
        }
    );
    if let Some(ms) = report.warmup_cold_start_ms {
        let _ = writeln!(
            out,
            "warm-up round (not counted, caches cold): cold start {ms:.0} ms"
        );
    }
}

pub(crate) fn render_measures(out: &mut String, report: &Report) {
    use std::fmt::Write;
    let _ = writeln!(out);
    let _ = writeln!(out, "| measure | median of rounds | min–max | budget |");
    let _ = writeln!(out, "|---|---|---|---|");
    for (key, label, budget) in MEASURES {
        if let Some(s) = report.measures.get(*key) {
            let _ = writeln!(
                out,
                "| {label} | {:.1} ms | {} ms | {budget} |",
                s.median,
                spread(s)
            );
        }
    }
}

pub(crate) fn render_hops(out: &mut String, report: &Report) {
    use std::fmt::Write;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Where the time goes, PATCH → the read that sees the notification (each hop: its median per round, then across rounds):"
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| hop | median | min–max |");
    let _ = writeln!(out, "|---|---|---|");
    let mut total = 0.0;
    for (key, label) in HOPS {
        if let Some(s) = report.hops.get(*key) {
            total += s.median;
            let _ = writeln!(out, "| {label} | {:.1} ms | {} ms |", s.median, spread(s));
        }
    }
    let _ = writeln!(out, "| sum of the hops' medians | {total:.1} ms | |");
    if let Some(s) = report.hops.get("iam_judgement") {
        let _ = writeln!(
            out,
            "| (inside them: the judgement of one AWS call at the gate, each call) | {:.3} ms | {} ms |",
            s.median,
            spread(s)
        );
    }
    if let Some(s) = report.hops.get("api_create") {
        let _ = writeln!(
            out,
            "| (before them: POST /todos, in the function) | {:.1} ms | {} ms |",
            s.median,
            spread(s)
        );
    }
}

/// The cold start's steps, named as the first round names them.
pub(crate) fn render_phases(out: &mut String, report: &Report, first: &Round) {
    use std::fmt::Write;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Cold start, step by step (time since the start, median of rounds):"
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| step | at | min–max |");
    let _ = writeln!(out, "|---|---|---|");
    for (name, _) in &first.phases {
        let values: Vec<f64> = report
            .per_round
            .iter()
            .filter_map(|r| r.phases.iter().find(|(n, _)| n == name).map(|(_, v)| *v))
            .collect();
        if let Some(s) = Stat::of(values) {
            let _ = writeln!(
                out,
                "| {name} | {:.0} ms | {:.0}–{:.0} ms |",
                s.median, s.min, s.max
            );
        }
    }
}

/// Each function's init, named as the first round names them.
pub(crate) fn render_functions(out: &mut String, report: &Report, first: &Round) {
    use std::fmt::Write;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| function | init alone, median of rounds | init at start, median of rounds |"
    );
    let _ = writeln!(out, "|---|---|---|");
    for name in first.init_alone_ms.keys() {
        let of = |pick: fn(&Round) -> &BTreeMap<String, f64>| {
            let values: Vec<f64> = report
                .per_round
                .iter()
                .filter_map(|r| pick(r).get(name).copied())
                .collect();
            median(&sorted(&values)).map_or("–".to_owned(), |m| format!("{m:.1} ms"))
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {} |",
            of(|r| &r.init_alone_ms),
            of(|r| &r.init_at_start_ms)
        );
    }
}

/// Each median of `new` next to the same one of `old`.
pub fn compare(old: &Report, new: &Report) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Compared with {} ({}, {} rounds, {} cores):",
        old.commit, old.started_at, old.rounds, old.cores
    );
    if old.cores != new.cores {
        let _ = writeln!(
            out,
            "(the core counts differ: {} then, {} now)",
            old.cores, new.cores
        );
    }
    if old.accounts != new.accounts {
        let _ = writeln!(
            out,
            "(the accounts differ: {:?} then, {:?} now; none is one account)",
            old.accounts, new.accounts
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "| median | before | now | change |");
    let _ = writeln!(out, "|---|---|---|---|");
    let rows = MEASURES
        .iter()
        .map(|(k, label, _)| (*k, *label, &old.measures, &new.measures))
        .chain(
            HOPS.iter()
                .chain(&[("api_create", "POST /todos, in the function")])
                .map(|(k, label)| (*k, *label, &old.hops, &new.hops)),
        );
    for (key, label, before, now) in rows {
        match (before.get(key), now.get(key)) {
            (Some(b), Some(n)) => {
                let delta = n.median - b.median;
                let pct = if b.median.abs() > f64::EPSILON {
                    format!(" ({:+.0}%)", 100.0 * delta / b.median)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "| {label} | {:.1} ms | {:.1} ms | {delta:+.1} ms{pct} |",
                    b.median, n.median
                );
            }
            (None, Some(n)) => {
                let _ = writeln!(out, "| {label} | – | {:.1} ms | new |", n.median);
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_are_summarised_by_their_median_and_spread() {
        let round = |cold: f64, e2e: Vec<f64>| Round {
            cold_start_ms: cold,
            e2e_ms: e2e,
            ..Round::default()
        };
        let plan = Plan {
            rounds: 3,
            runs: 3,
            warmup_runs: 0,
            bin_dir: None,
            out: PathBuf::from("x.json"),
            compare: None,
            iam: devstack_cloud::IamMode::Strict,
            one_account: false,
        };
        let report = summarize(
            vec![
                round(3000.0, vec![50.0, 60.0, 70.0]),
                round(2000.0, vec![80.0, 90.0, 100.0]),
                round(2500.0, vec![10.0, 20.0, 30.0]),
            ],
            &plan,
            "abc".into(),
            None,
        );
        let cold = &report.measures["cold_start_ms"];
        assert_eq!((cold.median, cold.min, cold.max), (2500.0, 2000.0, 3000.0));
        assert_eq!(report.measures["e2e_p50_ms"].median, 60.0);
        let text = render(&report);
        assert!(
            text.contains("| 2500.0 ms | 2000.0–3000.0 ms | ≤ 3000 ms |"),
            "{text}"
        );
        let mut faster = report.clone();
        faster.measures.get_mut("cold_start_ms").unwrap().median = 1250.0;
        assert!(
            compare(&report, &faster).contains("| 2500.0 ms | 1250.0 ms | -1250.0 ms (-50%) |")
        );
    }

    #[test]
    fn an_even_number_of_rounds_takes_the_middle_pair() {
        assert_eq!(median(&[1.0, 2.0, 4.0, 10.0]), Some(3.0));
        assert_eq!(median(&[]), None);
    }
}
