//! The dead letters: settling until the effects stop changing, each letter
//! explained by the effect it holds back, then the DLQs replayed with the
//! ops CLI and everything counted again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use devstack_api::Endpoints;
use serde_json::Value;

use super::accounting::{Accounting, Effect, Observed};
use super::{Config, Letters, LoadError, Replayed, s};

/// The ops CLI, and the endpoints file it reads.
pub(super) struct Ops {
    pub(super) cli: PathBuf,
    pub(super) endpoints_file: PathBuf,
    pub(super) _written: Option<TempFile>,
}

impl Ops {
    pub(super) fn new(
        config: &Config,
        endpoints: &Endpoints,
        run_id: &str,
    ) -> Result<Self, LoadError> {
        let cli = config
            .ops
            .clone()
            .unwrap_or_else(|| repo::profile_dir().join("ops"));
        let (endpoints_file, written) = match &config.endpoints_file {
            Some(f) => (f.clone(), None),
            None => {
                let path = std::env::temp_dir().join(format!("devstack-load-{run_id}.json"));
                std::fs::write(
                    &path,
                    serde_json::to_string(endpoints).map_err(std::io::Error::other)?,
                )?;
                (path.clone(), Some(TempFile(path)))
            }
        };
        Ok(Ops {
            cli,
            endpoints_file,
            _written: written,
        })
    }
}

/// What the effects came to, before and after the replay.
pub(super) struct Settled {
    pub(super) observed: Observed,
    pub(super) dlq_before: BTreeMap<String, i64>,
    pub(super) letters_before: Letters,
    /// Effects missing before the replay whose event was in no DLQ.
    pub(super) unexplained: usize,
    pub(super) replay: Vec<Replayed>,
    pub(super) dlq_after: BTreeMap<String, i64>,
    pub(super) seconds: f64,
}

/// Settle: every effect applied, or (with faults) its event in a DLQ.
/// With faults, the DLQs are then replayed and the effects settle again.
pub(super) async fn settle_and_replay(
    accounting: &Accounting<'_>,
    config: &Config,
    endpoints: &Endpoints,
    run_id: &str,
    depth_baseline: &BTreeMap<String, i64>,
) -> Result<Settled, LoadError> {
    let started = Instant::now();
    let ops = Ops::new(config, endpoints, run_id)?;
    let mut observed = settle(accounting, config, endpoints, &ops).await?;
    let dlq_before = dlq_depths(endpoints).await?;
    let mut letters = Vec::new();
    if config.chaos.is_some() || dlq_before.values().any(|d| *d > 0) {
        letters = peek_all(&ops.cli, &ops.endpoints_file, endpoints).await?;
    }
    let not_in_a_dlq = unexplained(&observed, &letters);
    for u in &not_in_a_dlq {
        tracing::warn!(effect = %u, "load: missing before the replay, and in no DLQ");
    }

    // Replay what the faults sent to the DLQs, as on call would.
    let mut replay = Vec::new();
    if config.chaos.is_some() {
        replay = replay_dlqs(&ops, &dlq_before, depth_baseline).await?;
        if !replay.is_empty() {
            observed = settle_again(accounting, config.settle).await;
            let late = replay_late_letters(&ops, endpoints, config.settle).await?;
            if !late.is_empty() {
                replay.extend(late);
                observed = settle_again(accounting, config.settle).await;
            }
        }
    }
    let dlq_after = dlq_depths(endpoints).await?;
    Ok(Settled {
        observed,
        dlq_before,
        letters_before: tally_letters(&letters),
        unexplained: not_in_a_dlq.len(),
        replay,
        dlq_after,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Observes until every effect is applied, or `config.settle` passed, or
/// (with faults) the missing ones are quiet.
pub(super) async fn settle(
    accounting: &Accounting<'_>,
    config: &Config,
    endpoints: &Endpoints,
    ops: &Ops,
) -> Result<Observed, LoadError> {
    let mut observed = accounting.observe().await;
    let deadline = Instant::now() + config.settle;
    let mut stable = 0;
    let mut last_missing = usize::MAX;
    while !observed.settled() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(750)).await;
        observed = accounting.observe().await;
        if config.chaos.is_some() && !observed.missing.is_empty() {
            // Quiet once what is missing stopped changing and each missing
            // effect has its event in a DLQ.
            if observed.missing.len() == last_missing {
                let letters = peek_all(&ops.cli, &ops.endpoints_file, endpoints).await?;
                if unexplained(&observed, &letters).is_empty() {
                    stable += 1;
                    if stable >= 3 {
                        break;
                    }
                }
            } else {
                stable = 0;
            }
            last_missing = observed.missing.len();
        }
    }
    if observed.settled() {
        observed = accounting.confirm(observed).await;
    }
    Ok(observed)
}

/// Each DLQ that holds letters, or held some before the run.
pub(super) async fn replay_dlqs(
    ops: &Ops,
    dlq_before: &BTreeMap<String, i64>,
    depth_baseline: &BTreeMap<String, i64>,
) -> Result<Vec<Replayed>, LoadError> {
    let mut replay = Vec::new();
    for (service, depth) in dlq_before {
        let baseline = depth_baseline.get(service).copied().unwrap_or(0);
        if *depth > 0 || baseline > 0 {
            replay.push(replay_dlq(&ops.cli, &ops.endpoints_file, service).await?);
        }
    }
    Ok(replay)
}

/// Letters that arrive after the replay, replayed until every DLQ stays
/// empty (three looks, a second apart) or `within` passed, as on call
/// replays. A run cut short after its write (a kill) is retried, and when
/// the retries fail too (an outage) its letter comes late, for an effect
/// already applied: its replay finds the processed record and changes
/// nothing.
async fn replay_late_letters(
    ops: &Ops,
    endpoints: &Endpoints,
    within: Duration,
) -> Result<Vec<Replayed>, LoadError> {
    let deadline = Instant::now() + within;
    let mut replayed = Vec::new();
    let mut quiet = 0;
    while quiet < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let held: Vec<String> = (dlq_depths(endpoints).await?.into_iter())
            .filter(|(_, depth)| *depth > 0)
            .map(|(service, _)| service)
            .collect();
        quiet = if held.is_empty() { quiet + 1 } else { 0 };
        for service in held {
            replayed.push(replay_dlq(&ops.cli, &ops.endpoints_file, &service).await?);
        }
    }
    Ok(replayed)
}

/// After the replay: observes until every effect is applied, or `within`
/// passed.
pub(super) async fn settle_again(accounting: &Accounting<'_>, within: Duration) -> Observed {
    let deadline = Instant::now() + within;
    let mut observed = accounting.observe().await;
    while !observed.settled() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(750)).await;
        observed = accounting.observe().await;
    }
    if observed.settled() {
        observed = accounting.confirm(observed).await;
    }
    observed
}

/// Each effect missing or repeated, then each DLQ still holding letters;
/// the first 50.
pub(super) fn problems(observed: &Observed, dlq_after: &BTreeMap<String, i64>) -> Vec<String> {
    let mut problems: Vec<String> = observed
        .missing
        .iter()
        .map(|m| format!("lost: {m}"))
        .chain(
            observed
                .extra
                .iter()
                .map(|(d, n)| format!("duplicated ×{n}: {d}")),
        )
        .collect();
    for (service, depth) in dlq_after {
        if *depth > 0 {
            problems.push(format!("{service}'s DLQ still holds {depth} letter(s)"));
        }
    }
    problems.truncate(50);
    problems
}

/// Removed when the run ends.
pub(super) struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Missing effects whose event is in no DLQ. Here, not in `accounting`,
/// which knows effects and not letters: letters know which effects they
/// explain.
fn unexplained(observed: &Observed, letters: &[Letter]) -> Vec<Effect> {
    observed
        .missing
        .iter()
        .filter(|m| !letters.iter().any(|l| l.explains(m)))
        .cloned()
        .collect()
}

/// A dead letter, as `ops dlq peek --json` decodes it.
#[derive(Debug, Clone)]
pub(super) struct Letter {
    pub(super) service: String,
    pub(super) shape: String,
    pub(super) detail_type: Option<String>,
    /// The user the event is about (`detail.data.user_id`).
    pub(super) user: Option<String>,
    /// The todo it is about: `detail.data.todo_id`, or the object key of
    /// an upload.
    pub(super) todo: Option<String>,
}

impl Letter {
    pub(super) fn of(service: &str, item: &Value) -> Self {
        let decoded = &item["decoded"];
        let event = &decoded["event"];
        let data = &event["detail"]["data"];
        let key = event["Records"][0]["s3"]["object"]["key"]
            .as_str()
            .unwrap_or_default();
        // users/<sub>/todos/<todo id>/<attachment id>
        let from_key = key.split('/').nth(3).map(str::to_owned);
        Letter {
            service: service.to_owned(),
            shape: s(decoded, "shape").to_owned(),
            detail_type: event["detail-type"].as_str().map(str::to_owned),
            user: data["user_id"].as_str().map(str::to_owned),
            todo: data["todo_id"].as_str().map(str::to_owned).or(from_key),
        }
    }

    pub(super) fn label(&self) -> String {
        match &self.detail_type {
            Some(t) => format!("{} {t}", self.shape),
            None if self.todo.is_some() => format!("{} S3 upload", self.shape),
            None => self.shape.clone(),
        }
    }

    /// Whether this letter holds the event a missing effect waits for. A
    /// stream batch's letter holds no event, only its range: it stands
    /// for anything its service's stream would have published.
    pub(super) fn explains(&self, effect: &Effect) -> bool {
        let stream_of = |service: &str| self.shape == "stream_failure" && self.service == service;
        let about = |kind: &str, user: Option<&str>, todo: Option<&str>| {
            self.shape == "async_failure"
                && self.detail_type.as_deref() == Some(kind)
                && (user.is_none() || self.user.as_deref() == user)
                && (todo.is_none() || self.todo.as_deref() == todo)
        };
        match effect {
            Effect::Welcome { user } => {
                about("UserRegistered", Some(user), None) || stream_of("users")
            }
            Effect::Congratulation { todo, .. } => {
                about("TodoCompleted", None, Some(todo)) || stream_of("todos")
            }
            Effect::Erased { service, user, .. } => {
                (self.service == *service && about("UserDeleted", Some(user), None))
                    || stream_of("users")
            }
            Effect::Attachment { todo, .. } => {
                self.service == "todos"
                    && self.shape == "async_failure"
                    && self.detail_type.is_none()
                    && self.todo.as_deref() == Some(todo.as_str())
            }
            Effect::Todo { .. } | Effect::Completed { .. } | Effect::Unreadable { .. } => false,
        }
    }
}

pub(super) fn tally_letters(letters: &[Letter]) -> Letters {
    let mut out = Letters::new();
    for l in letters {
        *out.entry(l.service.clone())
            .or_default()
            .entry(l.label())
            .or_default() += 1;
    }
    out
}

pub(super) fn services(endpoints: &Endpoints) -> Vec<(String, String)> {
    endpoints
        .services
        .iter()
        .map(|(name, s)| (name.clone(), s.dlq_queue_url.clone()))
        .collect()
}

/// Each DLQ's depth: visible and in flight.
pub(super) async fn dlq_depths(endpoints: &Endpoints) -> Result<BTreeMap<String, i64>, LoadError> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let mut out = BTreeMap::new();
    for (service, url) in services(endpoints) {
        let sqs = aws_sdk_sqs::Client::new(&ops::targets::administrator(endpoints, &service).await);
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| LoadError::Dlq {
                service: service.clone(),
                message: aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
            })?;
        let get = |name: A| -> i64 {
            attrs
                .attributes()
                .and_then(|a| a.get(&name))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        out.insert(
            service,
            get(A::ApproximateNumberOfMessages) + get(A::ApproximateNumberOfMessagesNotVisible),
        );
    }
    Ok(out)
}

pub(super) async fn ops_json(ops: &Path, args: &[&str]) -> Result<Value, LoadError> {
    let out = tokio::process::Command::new(ops)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| LoadError::Ops {
            path: ops.to_owned(),
            message: format!("{e} (build it: cargo build -p ops)"),
        })?;
    // Exit 1 is a partial replay: its report still says what happened.
    if !matches!(out.status.code(), Some(0 | 1)) {
        return Err(LoadError::Ops {
            path: ops.to_owned(),
            message: format!(
                "{} {}: {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    serde_json::from_slice(&out.stdout).map_err(|e| LoadError::Ops {
        path: ops.to_owned(),
        message: format!("{}: unreadable output: {e}", args.join(" ")),
    })
}

pub(super) async fn peek_all(
    ops: &Path,
    endpoints_file: &Path,
    endpoints: &Endpoints,
) -> Result<Vec<Letter>, LoadError> {
    let file = endpoints_file.to_string_lossy();
    let mut letters = Vec::new();
    for (service, _) in services(endpoints) {
        let items = ops_json(
            ops,
            &[
                "--endpoints-file",
                &file,
                "--json",
                "dlq",
                "peek",
                &service,
                "--max",
                "10000",
            ],
        )
        .await?;
        letters.extend(
            items
                .as_array()
                .into_iter()
                .flatten()
                .map(|item| Letter::of(&service, item)),
        );
    }
    Ok(letters)
}

pub(super) async fn replay_dlq(
    ops: &Path,
    endpoints_file: &Path,
    service: &str,
) -> Result<Replayed, LoadError> {
    let file = endpoints_file.to_string_lossy();
    tracing::warn!(service, "load: ops dlq replay");
    let report = ops_json(
        ops,
        &[
            "--endpoints-file",
            &file,
            "--json",
            "dlq",
            "replay",
            service,
        ],
    )
    .await?;
    let n = |k: &str| report[k].as_u64().unwrap_or(0);
    Ok(Replayed {
        service: service.to_owned(),
        replayed: n("replayed"),
        failed_again: n("failed_again"),
        skipped: n("skipped"),
        left: report["left"].as_i64().unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    #[test]
    fn a_letter_explains_only_the_effect_its_event_causes() {
        let letter = Letter::of(
            "notifications",
            &json!({"decoded": {"shape": "async_failure", "event": {
                "detail-type": "TodoCompleted",
                "detail": {"data": {"user_id": "u1", "todo_id": "t1"}}}}}),
        );
        let congratulation = |todo: &str| Effect::Congratulation {
            title: "x".into(),
            todo: todo.into(),
        };
        assert!(letter.explains(&congratulation("t1")));
        assert!(!letter.explains(&congratulation("t2")));
        assert!(!letter.explains(&Effect::Welcome { user: "u1".into() }));
        let upload = Letter::of(
            "todos",
            &json!({"decoded": {"shape": "async_failure", "event": {"Records": [{"s3": {"object": {"key": "users/u1/todos/t9/a1"}}}]}}}),
        );
        assert!(upload.explains(&Effect::Attachment {
            title: "x".into(),
            todo: "t9".into()
        }));
        let stream = Letter::of(
            "users",
            &json!({"decoded": {"shape": "stream_failure", "record": {}}}),
        );
        assert!(stream.explains(&Effect::Welcome { user: "u7".into() }));
        assert!(!stream.explains(&congratulation("t1")));
        assert_eq!(
            tally_letters(&[letter, upload])["todos"]["async_failure S3 upload"],
            1
        );
    }
}
