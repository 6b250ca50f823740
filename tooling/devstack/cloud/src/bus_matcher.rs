//! The bus's one matcher: the engine asks here (at `DEVSTACK_JUDGE_URL`,
//! beside the judge) whether a pattern is valid, for PutRule, a template's
//! rule, an archive and TestEventPattern, and which of a bus's rules an
//! event matches, for every delivery. The answers are the `event-pattern`
//! crate's, held to AWS's recorded answers, so the local bus refuses and
//! delivers as EventBridge does, not as moto's own matcher would. The
//! engine also hands in the log records of a bus whose `LogConfig` turns
//! its log on (`/bus-log`), written to the telemetry folder's
//! `bus-log.jsonl`, which the console's trail shows.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use devstack_api::telemetry::BusLogRecord;
use devstack_lambda::recorder::Recorder;
use event_pattern::Pattern;
use serde::Deserialize;
use serde_json::{Value, json};

/// Patterns parsed once: a bus's rules change rarely, its events often.
#[derive(Default)]
struct Parsed(Mutex<HashMap<String, Option<Arc<Pattern>>>>);

struct Bus {
    parsed: Parsed,
    recorder: Arc<Recorder>,
}

/// The log records one PutEvents call made, read typed.
#[derive(Deserialize)]
struct Logged {
    records: Vec<BusLogRecord>,
}

impl Parsed {
    fn get(&self, text: &str) -> Option<Arc<Pattern>> {
        let mut cache = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache
            .entry(text.to_owned())
            .or_insert_with(|| Pattern::from_str(text).ok().map(Arc::new))
            .clone()
    }
}

#[derive(Deserialize)]
struct Validate {
    pattern: String,
}

/// An event (its `time` as text, as AWS matches it) and the patterns of the
/// rules it may reach; `None` for a rule with no pattern (a schedule's),
/// which no event matches.
#[derive(Deserialize)]
struct Question {
    event: Value,
    patterns: Vec<Option<String>>,
}

/// Every entry of one PutEvents call, asked at once.
#[derive(Deserialize)]
struct Matches {
    events: Vec<Question>,
}

async fn validate(Json(v): Json<Validate>) -> Json<Value> {
    Json(match Pattern::from_str(&v.pattern) {
        Ok(_) => json!({ "valid": true }),
        Err(e) => json!({ "valid": false, "reason": e.aws_reason(), "field": e.path() }),
    })
}

async fn logged(State(bus): State<Arc<Bus>>, Json(l): Json<Logged>) -> Json<Value> {
    l.records.iter().for_each(|r| bus.recorder.bus_logged(r));
    Json(json!({ "written": l.records.len() }))
}

async fn matches(State(bus): State<Arc<Bus>>, Json(m): Json<Matches>) -> Json<Value> {
    let parsed = &bus.parsed;
    let matched = |q: &Question, text: &Option<String>| {
        (text.as_deref().and_then(|text| parsed.get(text))).is_some_and(|p| p.matches(&q.event))
    };
    let answers: Vec<Vec<bool>> = (m.events.iter())
        .map(|q| q.patterns.iter().map(|text| matched(q, text)).collect())
        .collect();
    Json(json!({ "matches": answers }))
}

pub fn router(recorder: Arc<Recorder>) -> axum::Router {
    let bus = Bus {
        parsed: Parsed::default(),
        recorder,
    };
    axum::Router::new()
        .route("/pattern", axum::routing::post(validate))
        .route("/matches", axum::routing::post(matches))
        .route("/bus-log", axum::routing::post(logged))
        .with_state(Arc::new(bus))
}
