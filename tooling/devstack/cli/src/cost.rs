//! What each function costs a user and a bill, per bench round: its cold
//! first response, its warm own time and its peak memory. The bench's
//! end-to-end runs touch only the functions on their path, so a tour
//! drives every other one (sign-up, upload, live push, a campaign, an
//! erasure) twice: once cold, once warm.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use devstack_api::Endpoints;
use devstack_client::walkthrough::{Client, eventually, token_for};
use devstack_cloud as cloud;

use crate::stat::Stat;

/// A function's artifact, stripped: what a deploy uploads and Lambda
/// loads (10^6 bytes).
pub const ARTIFACT_BUDGET_MB: f64 = 8.0;

/// Budgets (the project's goals on a 2-core machine): a cold first response's
/// part outside AWS calls, and the warm own time of the functions that
/// answer people or consume the bus.
pub const COLD_OUTSIDE_CALLS_BUDGET_MS: f64 = 10.0;
pub const WARM_OWN_BUDGET_MS: f64 = 1.0;

/// One function's figures in one round.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FunctionRound {
    /// Spawn → first `next`, then that first invocation: what the request
    /// that found no warm process waited for.
    pub cold_first_response_ms: Option<f64>,
    /// The same less the first invocation's waits on calls out (AWS, a
    /// third party): the part the function's own start and code cost.
    pub cold_outside_calls_ms: Option<f64>,
    /// Each warm invocation's own time: its duration less its waits on
    /// calls out (the function's `OwnTime` metric).
    pub warm_own_ms: Vec<f64>,
    /// The process's peak resident memory (`VmHWM`) after the round, 10^6 bytes.
    pub peak_rss_mb: Option<f64>,
}

/// Whether the warm-own-time budget is the function's: APIs and consumers
/// (`<service>/ApiFunction`, `.../ConsumerFunction`).
pub fn has_warm_budget(function: &str) -> bool {
    function.ends_with("/ApiFunction") || function.ends_with("/ConsumerFunction")
}

/// What one EMF document says about its invocation.
#[derive(Debug, Clone, PartialEq)]
struct Invocation {
    cold: bool,
    own_ms: f64,
    call_ms: f64,
}

fn first_value(v: &Value) -> Option<f64> {
    match v {
        Value::Array(a) => a.first().and_then(Value::as_f64),
        v => v.as_f64(),
    }
}

/// Each function's invocations, in order, from the EMF documents recorded
/// in `telemetry` (`metrics.jsonl`, one document per invocation).
fn invocations(telemetry: &Path) -> BTreeMap<String, Vec<Invocation>> {
    let text = std::fs::read_to_string(telemetry.join("metrics.jsonl")).unwrap_or_default();
    let mut out: BTreeMap<String, Vec<Invocation>> = BTreeMap::new();
    for line in text.lines() {
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let doc = &entry["emf"];
        let (Some(own_ms), Some(call_ms)) =
            (first_value(&doc["OwnTime"]), first_value(&doc["CallTime"]))
        else {
            continue;
        };
        out.entry(entry["function"].as_str().unwrap_or("?").to_owned())
            .or_default()
            .push(Invocation {
                cold: doc.get("ColdStart").is_some(),
                own_ms,
                call_ms,
            });
    }
    out
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Every function's figures now, from the local cloud's runtime and
/// telemetry. The cold figures are its latest process's.
pub async fn figures(
    running: &cloud::Running,
    telemetry: &Path,
) -> BTreeMap<String, FunctionRound> {
    let docs = invocations(telemetry);
    let mut out = BTreeMap::new();
    for (name, f) in &running.functions {
        let m = f.metrics().await;
        let mine = docs.get(name).map(Vec::as_slice).unwrap_or_default();
        let latest = m.init.len().checked_sub(1);
        let first = m
            .first_invocation
            .iter()
            .find(|(start, _)| Some(*start) == latest)
            .map(|(_, took)| *took);
        let mut fig = FunctionRound {
            warm_own_ms: mine.iter().filter(|i| !i.cold).map(|i| i.own_ms).collect(),
            peak_rss_mb: m.pid.and_then(devstack_api::telemetry::peak_rss_mb),
            ..FunctionRound::default()
        };
        if let (Some(init), Some(first)) = (m.init.last(), first) {
            let total = ms(*init) + ms(first);
            fig.cold_first_response_ms = Some(total);
            fig.cold_outside_calls_ms = mine
                .iter()
                .rev()
                .find(|i| i.cold)
                .map(|i| total - i.call_ms);
        }
        out.insert(name.clone(), fig);
    }
    out
}

/// Each detail-type's ages at every consumer, from the EMF documents.
pub fn event_ages(telemetry: &Path) -> BTreeMap<String, Vec<f64>> {
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for ((_, event_type), values) in devstack_client::load::event_age_values(telemetry, 0) {
        out.entry(event_type).or_default().extend(values);
    }
    out
}

/// One function's figures across rounds: each the round's value (for the
/// warm own time, the round's p50 and p95), then their median.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FunctionStats {
    pub cold_first_response_ms: Option<Stat>,
    pub cold_outside_calls_ms: Option<Stat>,
    pub warm_own_p50_ms: Option<Stat>,
    pub warm_own_p95_ms: Option<Stat>,
    /// Warm invocations measured, all rounds.
    pub warm_samples: usize,
    pub peak_rss_mb: Option<Stat>,
}

/// Each function's [`FunctionStats`] over the rounds (each round's
/// figures by function).
pub fn across<'a>(
    rounds: impl IntoIterator<Item = &'a BTreeMap<String, FunctionRound>>,
) -> BTreeMap<String, FunctionStats> {
    let rounds: Vec<&BTreeMap<String, FunctionRound>> = rounds.into_iter().collect();
    let names: std::collections::BTreeSet<&String> = rounds.iter().flat_map(|r| r.keys()).collect();
    let p = devstack_client::load::percentile;
    names
        .into_iter()
        .map(|name| {
            let of = |pick: &dyn Fn(&FunctionRound) -> Option<f64>| {
                Stat::of(
                    rounds
                        .iter()
                        .filter_map(|r| r.get(name))
                        .filter_map(pick)
                        .collect(),
                )
            };
            let warm = |q: f64| {
                move |f: &FunctionRound| {
                    let mut v = f.warm_own_ms.clone();
                    v.sort_by(f64::total_cmp);
                    (!v.is_empty()).then(|| p(&v, q))
                }
            };
            let stats = FunctionStats {
                cold_first_response_ms: of(&|f| f.cold_first_response_ms),
                cold_outside_calls_ms: of(&|f| f.cold_outside_calls_ms),
                warm_own_p50_ms: of(&warm(50.0)),
                warm_own_p95_ms: of(&warm(95.0)),
                warm_samples: rounds
                    .iter()
                    .filter_map(|r| r.get(name))
                    .map(|f| f.warm_own_ms.len())
                    .sum(),
                peak_rss_mb: of(&|f| f.peak_rss_mb),
            };
            (name.clone(), stats)
        })
        .collect()
}

/// The per-function table, each figure against its budget.
pub fn render(functions: &BTreeMap<String, FunctionStats>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Per function (median of rounds; cold = spawn → first response; own = duration less waits on calls out, to AWS or a third party):"
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| function | cold first response | of it outside calls out (≤ {COLD_OUTSIDE_CALLS_BUDGET_MS} ms) | warm own time p50 (≤ {WARM_OWN_BUDGET_MS} ms: APIs, consumers) | warm own time p95 | warm samples | peak memory |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    let mut over = Vec::new();
    let mut unmeasured = Vec::new();
    for (name, f) in functions {
        let fmt = |s: &Option<Stat>, unit: &str| {
            s.as_ref()
                .map_or("–".to_owned(), |s| format!("{:.2} {unit}", s.median))
        };
        let mut judged = |s: &Option<Stat>, budget: Option<f64>, what: &str| {
            let text = fmt(s, "ms");
            match (s, budget) {
                (Some(s), Some(b)) if s.median > b => {
                    over.push(format!("{name} {what}"));
                    format!("**{text}** over")
                }
                (Some(_), Some(_)) => format!("{text} ok"),
                (None, Some(_)) => {
                    unmeasured.push(format!("{name} {what}"));
                    text
                }
                _ => text,
            }
        };
        let cold = judged(
            &f.cold_outside_calls_ms,
            Some(COLD_OUTSIDE_CALLS_BUDGET_MS),
            "cold",
        );
        let warm = judged(
            &f.warm_own_p50_ms,
            has_warm_budget(name).then_some(WARM_OWN_BUDGET_MS),
            "warm",
        );
        let _ = writeln!(
            out,
            "| {name} | {} | {cold} | {warm} | {} | {} | {} |",
            fmt(&f.cold_first_response_ms, "ms"),
            fmt(&f.warm_own_p95_ms, "ms"),
            f.warm_samples,
            fmt(&f.peak_rss_mb, "MB"),
        );
    }
    let _ = writeln!(out);
    if over.is_empty() && unmeasured.is_empty() {
        let _ = writeln!(out, "Every function within its budgets.");
    }
    if !over.is_empty() {
        let _ = writeln!(out, "Over budget: {}.", over.join(", "));
    }
    if !unmeasured.is_empty() {
        let _ = writeln!(
            out,
            "Not measured (never invoked, or a binary without `OwnTime`): {}.",
            unmeasured.join(", ")
        );
    }
    out
}

/// Each function binary's size in bytes, by file name (several functions
/// can share one, as the campaigns flow's steps do).
pub fn artifacts(running: &cloud::Running) -> BTreeMap<String, u64> {
    running
        .functions
        .values()
        .filter_map(|f| {
            let name = f.spec.binary.file_name()?.to_string_lossy().into_owned();
            let bytes = std::fs::metadata(&f.spec.binary).ok()?.len();
            Some((name, bytes))
        })
        .collect()
}

/// The artifacts against their budget.
pub fn render_artifacts(artifacts: &BTreeMap<String, u64>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Artifacts (the function binaries the rounds ran; 10^6 bytes):"
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| binary | size | budget ≤ {ARTIFACT_BUDGET_MB} MB |");
    let _ = writeln!(out, "|---|---|---|");
    let mut over = Vec::new();
    for (name, bytes) in artifacts {
        let mb = *bytes as f64 / 1e6;
        let verdict = if mb > ARTIFACT_BUDGET_MB {
            over.push(name.as_str());
            "**over**"
        } else {
            "ok"
        };
        let _ = writeln!(out, "| {name} | {mb:.2} MB | {verdict} |");
    }
    let _ = writeln!(out);
    if over.is_empty() {
        let _ = writeln!(out, "Every artifact within its budget.");
    } else {
        let _ = writeln!(out, "Over budget: {}.", over.join(", "));
    }
    out
}

/// Every function's path, twice: the first pass finds each process cold
/// (the bench restarted them all), the second warm.
pub async fn tour(endpoints: &Endpoints, admin: &str) -> Result<()> {
    token_for(endpoints, admin).await?;
    cloud::cognito::join_group(endpoints, admin, "admins").await?;
    for pass in 0..2 {
        let email = format!(
            "tour-{pass}-{}@example.com",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        // Profile, todos, an upload and its check, a completion and its
        // notification (users, todos and notifications functions).
        devstack_client::walkthrough::journey(endpoints, &email, |_| {}).await?;
        let user = Client {
            http: reqwest::Client::new(),
            base: endpoints.api_base_url.clone(),
            token: token_for(endpoints, &email).await?,
        };
        live_push(endpoints, &user).await?;
        let config = devstack_client::campaigns::Config {
            recipients: 2,
            concurrency: 2,
            within: Duration::from_secs(60),
        };
        let report = devstack_client::campaigns::run(endpoints, admin, &config).await?;
        if report.missing + report.duplicated > 0 {
            bail!("the tour's campaign lost or duplicated notifications: {report:?}");
        }
        erase(&user).await?;
    }
    Ok(())
}

/// A WebSocket connection (the authorizer and the socket function), held
/// while a notification is pushed to it (the deliverer).
async fn live_push(endpoints: &Endpoints, user: &Client) -> Result<()> {
    use futures_util::StreamExt;
    let url = format!("{}?token={}", endpoints.socket_url, user.token);
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .context("connecting to the WebSocket API")?;
    let (status, todo) = user
        .call(
            Method::POST,
            "/todos",
            Some(serde_json::json!({"title": "pushed live"})),
        )
        .await?;
    if status != 201 {
        bail!("POST /todos answered {status}: {todo}");
    }
    let id = todo["id"].as_str().unwrap_or_default();
    let (status, answer) = user
        .call(
            Method::PATCH,
            &format!("/todos/{id}"),
            Some(serde_json::json!({"completed": true})),
        )
        .await?;
    if status != 200 {
        bail!("PATCH /todos/{id} answered {status}: {answer}");
    }
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(message) = socket.next().await {
            if message?.is_text() {
                return Ok(());
            }
        }
        bail!("the WebSocket closed before a push")
    })
    .await
    .context("no live push within 30 s")??;
    Ok(())
}

/// The user deleted (UserDeleted's consumers), until their todos are gone.
async fn erase(user: &Client) -> Result<()> {
    let (status, answer) = user.call(Method::DELETE, "/users/me", None).await?;
    if status != 204 {
        bail!("DELETE /users/me answered {status}: {answer}");
    }
    eventually(
        Duration::from_secs(30),
        "the user's todos erased",
        || async {
            let (status, page) = user.call(Method::GET, "/todos", None).await?;
            let empty = page["items"].as_array().is_some_and(Vec::is_empty);
            Ok((status == 200 && empty).then_some(()))
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invocations_come_from_the_emf_documents_in_order_and_cold_ones_are_marked() {
        let dir = tempfile::tempdir().unwrap();
        let lines = [
            r#"{"function":"todos/ApiFunction","emf":{"_aws":{},"ColdStart":1,"OwnTime":[9.5],"CallTime":[3.0]}}"#,
            r#"{"function":"todos/ApiFunction","emf":{"_aws":{},"OwnTime":0.4,"CallTime":2.0}}"#,
            r#"{"function":"todos/ApiFunction","emf":{"_aws":{},"Requests":1}}"#,
            "not json",
        ];
        std::fs::write(dir.path().join("metrics.jsonl"), lines.join("\n")).unwrap();
        let all = invocations(dir.path());
        assert_eq!(
            all["todos/ApiFunction"],
            vec![
                Invocation {
                    cold: true,
                    own_ms: 9.5,
                    call_ms: 3.0
                },
                Invocation {
                    cold: false,
                    own_ms: 0.4,
                    call_ms: 2.0
                },
            ]
        );
    }

    #[test]
    fn an_artifact_over_its_budget_is_named() {
        let sizes = BTreeMap::from([
            ("users-api".to_owned(), 3_870_000),
            ("todos-api".to_owned(), 8_530_000),
        ]);
        let text = render_artifacts(&sizes);
        assert!(text.contains("| users-api | 3.87 MB | ok |"), "{text}");
        assert!(
            text.contains("| todos-api | 8.53 MB | **over** |"),
            "{text}"
        );
        assert!(text.contains("Over budget: todos-api."), "{text}");
    }

    #[test]
    fn a_functions_figures_across_rounds_are_the_rounds_medians() {
        let round = |cold: f64, warm: Vec<f64>| {
            BTreeMap::from([(
                "todos/ApiFunction".to_owned(),
                FunctionRound {
                    cold_first_response_ms: Some(cold + 20.0),
                    cold_outside_calls_ms: Some(cold),
                    warm_own_ms: warm,
                    peak_rss_mb: Some(6.0),
                },
            )])
        };
        let rounds = [
            round(8.0, vec![0.5, 0.7, 3.0]),
            round(12.0, vec![0.4]),
            round(9.0, vec![0.6, 0.8]),
        ];
        let f = &across(&rounds)["todos/ApiFunction"];
        assert_eq!(f.cold_outside_calls_ms.as_ref().unwrap().median, 9.0);
        assert_eq!(f.warm_samples, 6);
        let text = render(&across(&rounds));
        assert!(text.contains("9.00 ms ok"), "{text}");
        let slow = [round(11.0, vec![2.0]), round(12.0, vec![2.0])];
        let text = render(&across(&slow));
        assert!(
            text.contains("Over budget: todos/ApiFunction cold, todos/ApiFunction warm."),
            "{text}"
        );
    }

    #[test]
    fn apis_and_consumers_have_the_warm_budget() {
        assert!(has_warm_budget("todos/ApiFunction"));
        assert!(has_warm_budget("campaigns/ConsumerFunction"));
        assert!(!has_warm_budget("todos/PublisherFunction"));
    }
}
