use serde_json::json;

use super::*;

/// Recorded from moto 5.2.5 by `tests/interpreter.rs`: a Lambda task that
/// fails twice (Retry) then answers, a callback task, a Pass.
fn recorded() -> Recorded {
    serde_json::from_str(include_str!("../../tests/fixtures/history.json")).unwrap()
}

#[test]
fn a_recorded_history_reads_as_steps() {
    let e = recorded().parse();
    assert_eq!((e.name.as_str(), e.status.as_str()), ("run-1", "SUCCEEDED"));
    assert_eq!(
        e.input,
        Some(json!({"failTimes": 2, "key": "run-1", "n": 21}))
    );
    assert_eq!(e.output.as_ref().unwrap()["callback"], json!({"ok": true}));
    assert!(
        e.duration().unwrap() > TimeDelta::seconds(2),
        "two 1 s retry intervals"
    );
    let kinds: Vec<(&str, &str)> = e
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [("Double", "Task"), ("Callback", "Task"), ("Done", "Pass")]
    );
    assert!(
        e.steps
            .iter()
            .all(|s| s.failure.is_none() && s.duration().is_some())
    );
}

#[test]
fn each_retry_is_an_attempt_with_its_error() {
    let e = recorded().parse();
    let double = &e.steps[0];
    assert_eq!(double.attempts.len(), 3);
    for (i, a) in double.attempts[..2].iter().enumerate() {
        let Outcome::Failed(f) = &a.outcome else {
            panic!("{:?}", a.outcome)
        };
        assert_eq!(f.error.as_deref(), Some("Flaky"));
        assert!(
            f.cause
                .as_deref()
                .unwrap()
                .contains(&format!("attempt {} fails", i + 1))
        );
        assert_eq!(a.resource.as_deref(), Some("lambda:invoke"));
        assert!(a.task_token.is_none());
    }
    assert_eq!(double.output, Some(json!({"n": 42})));
    assert_eq!(
        e.steps[1].input, double.output,
        "the next state gets the output"
    );
}

#[test]
fn a_callback_task_shows_its_token_and_what_answered_it() {
    let e = recorded().parse();
    let a = &e.steps[1].attempts[0];
    let token = a.task_token.as_deref().unwrap();
    assert_eq!(a.parameters.as_ref().unwrap()["Payload"]["token"], token);
    assert_eq!(a.heartbeat_seconds, Some(60));
    assert_eq!(
        a.submitted.as_ref().unwrap()["Payload"],
        json!({"recorded": true})
    );
    assert_eq!(
        a.outcome,
        Outcome::Succeeded {
            output: Some(json!({"ok": true}))
        }
    );
}

#[test]
fn a_timed_out_callback_fails_its_step_and_a_fail_state_carries_the_error() {
    let event = |id: i64, prev: i64, kind: &str, details: (&str, Value)| {
        let mut e = json!({"id": id, "previousEventId": prev, "type": kind, "timestamp": 1_700_000_000 + id});
        e[details.0] = details.1;
        e
    };
    let recorded = Recorded {
        execution: json!({"name": "x", "status": "FAILED", "error": "States.Timeout"}),
        events: vec![
            event(
                1,
                0,
                "ExecutionStarted",
                ("executionStartedEventDetails", json!({"input": "{}"})),
            ),
            event(
                2,
                1,
                "TaskStateEntered",
                (
                    "stateEnteredEventDetails",
                    json!({"name": "Wait", "input": "{}"}),
                ),
            ),
            event(
                3,
                2,
                "TaskScheduled",
                (
                    "taskScheduledEventDetails",
                    json!({
                "resourceType": "lambda", "resource": "invoke.waitForTaskToken", "heartbeatInSeconds": 1,
                "parameters": "{\"Payload\":{\"taskToken\":\"tok\"}}"}),
                ),
            ),
            event(
                4,
                3,
                "TaskTimedOut",
                (
                    "taskTimedOutEventDetails",
                    json!({"error": "States.Timeout"}),
                ),
            ),
            event(
                5,
                4,
                "FailStateEntered",
                (
                    "stateEnteredEventDetails",
                    json!({"name": "Give up", "input": "{}"}),
                ),
            ),
            event(
                6,
                5,
                "ExecutionFailed",
                (
                    "executionFailedEventDetails",
                    json!({"error": "States.Timeout", "cause": "gave up"}),
                ),
            ),
        ],
    };
    let e = recorded.parse();
    let wait = &e.steps[0];
    assert_eq!(wait.attempts[0].task_token.as_deref(), Some("tok"));
    assert!(
        matches!(&wait.attempts[0].outcome, Outcome::TimedOut(f) if f.error.as_deref() == Some("States.Timeout"))
    );
    assert_eq!(
        wait.failure.as_ref().unwrap().error.as_deref(),
        Some("States.Timeout")
    );
    assert_eq!(wait.attempts[0].duration(), Some(TimeDelta::seconds(1)));
    assert_eq!(
        e.steps[1].failure.as_ref().unwrap().cause.as_deref(),
        Some("gave up")
    );
    assert_eq!(e.stopped, DateTime::from_timestamp(1_700_000_006, 0));
}
