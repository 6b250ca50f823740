//! An execution's history as typed steps: one [`Step`] per state entered,
//! with its attempts (each TaskScheduled and what ended it), the task token
//! a callback task handed out, and the execution around them.
//!
//! The history is read as moto sends it on the wire (Step Functions' JSON
//! protocol), so a recorded one ([`Recorded`]) parses exactly as a live
//! one, without the SDK.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("{action} {arn}: {message}")]
    Call {
        action: &'static str,
        arn: String,
        message: String,
    },
}

/// An execution as DescribeExecution and GetExecutionHistory (every page)
/// answered, untouched: what [`fetch`] parses and tests keep as fixtures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    pub execution: Value,
    pub events: Vec<Value>,
}

/// An error and its cause, as Step Functions reports a failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// How one attempt at a task ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Outcome {
    /// No end in the history yet (running, or waiting for its token).
    Pending,
    Succeeded {
        output: Option<Value>,
    },
    Failed(Failure),
    TimedOut(Failure),
}

/// One call of a task's resource: a Retry makes several.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    pub scheduled: Option<DateTime<Utc>>,
    pub ended: Option<DateTime<Utc>>,
    /// `lambda:invoke`, `lambda:invoke.waitForTaskToken`, ... (resource
    /// type and resource, as the history names them).
    pub resource: Option<String>,
    /// The parameters as sent, paths resolved (`$$.Task.Token` included).
    pub parameters: Option<Value>,
    /// The token a `.waitForTaskToken` task handed out, if any.
    pub task_token: Option<String>,
    pub timeout_seconds: Option<i64>,
    pub heartbeat_seconds: Option<i64>,
    /// What the resource answered when it took a callback task (the
    /// token's answer is the outcome's output).
    pub submitted: Option<Value>,
    pub outcome: Outcome,
}

/// One state entered, in the order of entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub name: String,
    /// `Task`, `Pass`, `Choice`, ... (the event type's prefix).
    pub kind: String,
    pub entered: Option<DateTime<Utc>>,
    pub exited: Option<DateTime<Utc>>,
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub attempts: Vec<Attempt>,
    /// Why the state ended the execution, when it did.
    pub failure: Option<Failure>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Execution {
    pub arn: String,
    pub name: String,
    pub state_machine_arn: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`.
    pub status: String,
    pub started: Option<DateTime<Utc>>,
    pub stopped: Option<DateTime<Utc>>,
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub failure: Option<Failure>,
    pub steps: Vec<Step>,
}

impl Step {
    pub fn duration(&self) -> Option<TimeDelta> {
        Some(self.exited? - self.entered?)
    }
}

impl Attempt {
    pub fn duration(&self) -> Option<TimeDelta> {
        Some(self.ended? - self.scheduled?)
    }
}

impl Execution {
    pub fn duration(&self) -> Option<TimeDelta> {
        Some(self.stopped? - self.started?)
    }
}

/// An execution read from moto (`moto_url`) and parsed.
pub async fn fetch(moto_url: &str, execution_arn: &str) -> Result<Execution, HistoryError> {
    Ok(record(moto_url, execution_arn).await?.parse())
}

/// An execution read from moto as it answered: DescribeExecution, then
/// GetExecutionHistory page by page.
pub async fn record(moto_url: &str, execution_arn: &str) -> Result<Recorded, HistoryError> {
    let api = Api::new(moto_url, execution_arn)?;
    let execution = api
        .call("DescribeExecution", json!({"executionArn": execution_arn}))
        .await?;
    let mut events = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut request = json!({"executionArn": execution_arn, "maxResults": 1000});
        if let Some(token) = next.take() {
            request["nextToken"] = Value::from(token);
        }
        let page = api.call("GetExecutionHistory", request).await?;
        events.extend(page["events"].as_array().cloned().unwrap_or_default());
        match page["nextToken"].as_str() {
            Some(token) if !token.is_empty() => next = Some(token.to_owned()),
            _ => break,
        }
    }
    Ok(Recorded { execution, events })
}

/// Step Functions' JSON protocol against moto, which checks no signature:
/// the credential scope only tells it the region.
pub(crate) struct Api<'a> {
    http: reqwest::Client,
    url: String,
    arn: &'a str,
    /// The account asked (empty: the engine's own for its test key).
    account: String,
    authorization: String,
}

impl<'a> Api<'a> {
    pub(crate) fn new(moto_url: &str, arn: &'a str) -> Result<Self, HistoryError> {
        let region = arn.split(':').nth(3).unwrap_or(kit::config::LOCAL_REGION);
        let http =
            reqwest::Client::builder()
                .no_proxy()
                .build()
                .map_err(|e| HistoryError::Call {
                    action: "connecting for",
                    arn: arn.to_owned(),
                    message: e.to_string(),
                })?;
        Ok(Api {
            http,
            url: format!("{}/", moto_url.trim_end_matches('/')),
            arn,
            // An execution is read in the account its ARN names.
            account: match arn.starts_with("arn:") {
                true => arn.split(':').nth(4).unwrap_or_default().to_owned(),
                false => String::new(),
            },
            authorization: format!(
                "AWS4-HMAC-SHA256 Credential=test/20260101/{region}/states/aws4_request, SignedHeaders=host, Signature=0"
            ),
        })
    }

    /// The same calls in `account`.
    pub(crate) fn in_account(mut self, account: &str) -> Self {
        self.account = account.to_owned();
        self
    }

    pub(crate) async fn call(
        &self,
        action: &'static str,
        body: Value,
    ) -> Result<Value, HistoryError> {
        let fail = |message: String| HistoryError::Call {
            action,
            arn: self.arn.to_owned(),
            message,
        };
        let request = self
            .http
            .post(&self.url)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("AWSStepFunctions.{action}"))
            .header("authorization", &self.authorization);
        // The signature above is the engine's test key, which it reads as
        // its own account's: another account is named to it.
        let request = match self.account.is_empty() {
            true => request,
            false => request.header("x-moto-account-id", &self.account),
        };
        let answer = request
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let status = answer.status();
        let text = answer.text().await.map_err(|e| fail(e.to_string()))?;
        if !status.is_success() {
            return Err(fail(format!("{status}: {text}")));
        }
        serde_json::from_str(&text).map_err(|e| fail(format!("{e}: {text}")))
    }
}

impl Recorded {
    /// The execution and its steps. Tolerant: what the history lacks is
    /// `None`, never an error, so a history still running parses too.
    pub fn parse(&self) -> Execution {
        let e = &self.execution;
        let mut execution = Execution {
            arn: text(&e["executionArn"]).unwrap_or_default(),
            name: text(&e["name"]).unwrap_or_default(),
            state_machine_arn: text(&e["stateMachineArn"]).unwrap_or_default(),
            status: text(&e["status"]).unwrap_or_default(),
            started: time(&e["startDate"]),
            stopped: time(&e["stopDate"]),
            input: json_text(&e["input"]),
            output: json_text(&e["output"]),
            failure: failure(e),
            steps: Vec::new(),
        };
        let mut walk = Walk::default();
        for event in &self.events {
            walk.event(event, &mut execution);
        }
        execution.steps = walk.steps;
        settle_failures(&mut execution);
        execution
    }
}

/// The steps so far, and which step each event id belongs to (events
/// name the event before them, which is how a task's events find their
/// state when branches run side by side).
#[derive(Default)]
struct Walk {
    steps: Vec<Step>,
    owner: BTreeMap<i64, usize>,
}

impl Walk {
    fn event(&mut self, event: &Value, execution: &mut Execution) {
        let kind = event["type"].as_str().unwrap_or_default();
        let at = time(&event["timestamp"]);
        let id = event["id"].as_i64().unwrap_or_default();
        if let Some(state_kind) = kind.strip_suffix("StateEntered") {
            self.enter(state_kind, event, at, id);
            return;
        }
        if kind.starts_with("Execution") {
            execution_event(kind, event, at, execution);
            return;
        }
        let Some(index) = self.step_of(event) else {
            return;
        };
        self.owner.insert(id, index);
        let step = &mut self.steps[index];
        if kind.ends_with("StateExited") {
            let details = &event["stateExitedEventDetails"];
            step.exited = at;
            step.output = json_text(&details["output"]);
        } else {
            task_event(kind, event, at, step);
        }
    }

    fn enter(&mut self, kind: &str, event: &Value, at: Option<DateTime<Utc>>, id: i64) {
        let details = &event["stateEnteredEventDetails"];
        self.steps.push(Step {
            name: text(&details["name"]).unwrap_or_default(),
            kind: kind.to_owned(),
            entered: at,
            exited: None,
            input: json_text(&details["input"]),
            output: None,
            attempts: Vec::new(),
            failure: None,
        });
        self.owner.insert(id, self.steps.len() - 1);
    }

    /// The step an event belongs to: its previous event's, else (a history
    /// without links) the open step it names, else the latest open step.
    fn step_of(&self, event: &Value) -> Option<usize> {
        let by_link = event["previousEventId"]
            .as_i64()
            .and_then(|p| self.owner.get(&p).copied());
        let name = event["stateExitedEventDetails"]["name"].as_str();
        let open = |s: &Step| s.exited.is_none() && name.is_none_or(|n| n == s.name);
        by_link
            .filter(|&i| open(&self.steps[i]))
            .or_else(|| self.steps.iter().rposition(open))
    }
}

fn execution_event(
    kind: &str,
    event: &Value,
    at: Option<DateTime<Utc>>,
    execution: &mut Execution,
) {
    match kind {
        "ExecutionStarted" => {
            execution.started = execution.started.or(at);
            let details = &event["executionStartedEventDetails"];
            execution.input = execution
                .input
                .take()
                .or_else(|| json_text(&details["input"]));
        }
        "ExecutionSucceeded" => {
            execution.stopped = execution.stopped.or(at);
            let details = &event["executionSucceededEventDetails"];
            execution.output = execution
                .output
                .take()
                .or_else(|| json_text(&details["output"]));
        }
        _ => {
            execution.stopped = execution.stopped.or(at);
            let details = details_of(event);
            execution.failure = merged(execution.failure.take(), failure(details));
        }
    }
}

/// TaskScheduled and LambdaFunctionScheduled open an attempt; what follows
/// ends the latest one.
fn task_event(kind: &str, event: &Value, at: Option<DateTime<Utc>>, step: &mut Step) {
    let details = details_of(event);
    if kind == "TaskScheduled" || kind == "LambdaFunctionScheduled" {
        step.attempts.push(scheduled(details, at));
        return;
    }
    let Some(attempt) = step.attempts.last_mut() else {
        return;
    };
    if kind == "TaskSubmitted" {
        attempt.submitted = json_text(&details["output"]);
        return;
    }
    let outcome = match kind {
        "TaskSucceeded" | "LambdaFunctionSucceeded" => Outcome::Succeeded {
            output: json_text(&details["output"]),
        },
        k if k.ends_with("TimedOut") => Outcome::TimedOut(failure(details).unwrap_or(NO_FAILURE)),
        k if k.ends_with("Failed") => Outcome::Failed(failure(details).unwrap_or(NO_FAILURE)),
        // Started: the attempt goes on.
        _ => return,
    };
    attempt.outcome = outcome;
    attempt.ended = at;
}

const NO_FAILURE: Failure = Failure {
    error: None,
    cause: None,
};

fn scheduled(details: &Value, at: Option<DateTime<Utc>>) -> Attempt {
    let resource = match (text(&details["resourceType"]), text(&details["resource"])) {
        (Some(kind), Some(r)) => Some(format!("{kind}:{r}")),
        (_, r) => r,
    };
    // A Lambda resource called directly names its input `input`.
    let parameters = json_text(&details["parameters"]).or_else(|| json_text(&details["input"]));
    let is_callback = resource
        .as_deref()
        .is_some_and(|r| r.ends_with(".waitForTaskToken"));
    Attempt {
        scheduled: at,
        ended: None,
        task_token: parameters
            .as_ref()
            .filter(|_| is_callback)
            .and_then(token_in),
        resource,
        parameters,
        timeout_seconds: details["timeoutInSeconds"].as_i64(),
        heartbeat_seconds: details["heartbeatInSeconds"].as_i64(),
        submitted: None,
        outcome: Outcome::Pending,
    }
}

/// The task token in a callback task's parameters: the first string whose
/// key says "token" (`"token.$": "$$.Task.Token"` arrives as `"token"`).
fn token_in(v: &Value) -> Option<String> {
    let map = v.as_object()?;
    map.iter()
        .find(|(k, v)| k.to_ascii_lowercase().contains("token") && v.is_string())
        .and_then(|(_, v)| v.as_str().map(str::to_owned))
        .or_else(|| map.values().find_map(token_in))
}

/// A failed step is the one the execution ended in: an open step whose
/// last attempt failed, or a Fail state.
fn settle_failures(execution: &mut Execution) {
    for step in &mut execution.steps {
        let last = step.attempts.last().map(|a| &a.outcome);
        step.failure = match last {
            Some(Outcome::Failed(f) | Outcome::TimedOut(f)) if step.exited.is_none() => {
                Some(f.clone())
            }
            _ if step.kind == "Fail" => execution.failure.clone(),
            _ => None,
        };
    }
}

/// An event's one `...EventDetails` object.
fn details_of(event: &Value) -> &Value {
    event
        .as_object()
        .and_then(|m| m.iter().find(|(k, _)| k.ends_with("EventDetails")))
        .map_or(&Value::Null, |(_, v)| v)
}

/// DescribeExecution's failure, completed field by field from the event's.
fn merged(described: Option<Failure>, event: Option<Failure>) -> Option<Failure> {
    match (described, event) {
        (Some(d), Some(e)) => Some(Failure {
            error: d.error.or(e.error),
            cause: d.cause.or(e.cause),
        }),
        (d, e) => d.or(e),
    }
}

fn failure(v: &Value) -> Option<Failure> {
    let f = Failure {
        error: text(&v["error"]),
        cause: text(&v["cause"]),
    };
    (f.error.is_some() || f.cause.is_some()).then_some(f)
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// A JSON document carried as text; text that is not JSON stays text.
fn json_text(v: &Value) -> Option<Value> {
    let s = v.as_str()?;
    Some(serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_owned())))
}

/// The JSON protocol's timestamps are epoch seconds; ISO text is read too.
fn time(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Number(n) => {
            let millis = (n.as_f64()? * 1000.0).round() as i64;
            DateTime::from_timestamp_millis(millis)
        }
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
