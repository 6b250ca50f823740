//! The consumer's pre-traffic hook: before a new version of the consumer
//! takes any event, CodeDeploy invokes the hook, which hands that version
//! the committed example of every event the service consumes (as the bus
//! would deliver it, with fresh ids so idempotency does not skip it) and
//! reports `Failed` if any of them is not handled. The deployment then
//! stops and the alias stays on the old version: no real event met the
//! new one.
//!
//! The examples' user is the producers' example user, and the user's
//! deletion comes last, so what the hook made is erased again.

use events::campaigns::CampaignDeliveredV1;
use events::todos::TodoCompletedV1;
use events::users::{UserDeletedV1, UserRegisteredV1};
use events::{Event, EventKey};
use serde::Deserialize;
use serde_json::{Value, json};

/// What the consumer takes, in the order the hook sends it.
pub const CONSUMED: [EventKey; 4] = [
    UserRegisteredV1::KEY,
    TodoCompletedV1::KEY,
    CampaignDeliveredV1::KEY,
    UserDeletedV1::KEY,
];

/// The event CodeDeploy invokes a lifecycle hook with.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HookEvent {
    pub deployment_id: String,
    pub lifecycle_event_hook_execution_id: String,
}

/// Each consumed event's example as EventBridge delivers it to a target,
/// under ids of its own (`id` stands for both the event's and the
/// envelope's `event_id`).
pub fn deliveries(id: impl Fn() -> String, now: &str) -> Result<Vec<Value>, String> {
    CONSUMED
        .iter()
        .map(|key| {
            let text = events::examples::example(key)
                .ok_or_else(|| format!("no committed example of {key:?}"))?;
            let mut detail: Value = serde_json::from_str(text)
                .map_err(|e| format!("the example of {key:?} is not JSON: {e}"))?;
            let event_id = id();
            detail["metadata"]["event_id"] = json!(event_id);
            Ok(json!({
                "version": "0",
                "id": id(),
                "detail-type": key.detail_type,
                "source": key.source,
                "account": "000000000000",
                "time": now,
                "region": "us-east-1",
                "resources": [],
                "detail": detail,
            }))
        })
        .collect()
}

/// One delivery's outcome: the function error Lambda reported, if any
/// (`X-Amz-Function-Error`), with the answer's payload.
pub struct Answer {
    pub detail_type: String,
    pub function_error: Option<String>,
    pub payload: String,
}

/// The verdict on the answers: `Ok` when every event was handled, else
/// which were not and why.
pub fn verdict(answers: &[Answer]) -> Result<(), String> {
    let failed: Vec<String> = (answers.iter())
        .filter_map(|a| {
            let error = a.function_error.as_ref()?;
            Some(format!("{}: {error}: {}", a.detail_type, a.payload))
        })
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the new version did not handle {} of {} example events: {}",
            failed.len(),
            answers.len(),
            failed.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_consumed_example_is_delivered_under_fresh_ids_and_the_deletion_last() {
        let n = std::cell::Cell::new(0);
        let id = || {
            n.set(n.get() + 1);
            format!("id-{}", n.get())
        };
        let events = deliveries(id, "2026-11-27T00:00:00Z").unwrap();
        let types: Vec<&str> = (events.iter())
            .map(|e| e["detail-type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "UserRegistered",
                "TodoCompleted",
                "CampaignDelivered",
                "UserDeleted"
            ]
        );
        assert_eq!(events[0]["detail"]["metadata"]["event_id"], "id-1");
        assert_eq!(events[0]["id"], "id-2");
        assert_eq!(events[1]["source"], "app.todos");
        // Each decodes as the consumer reads it.
        for e in &events {
            let handed: aws_lambda_events::eventbridge::EventBridgeEvent<Value> =
                serde_json::from_value(e.clone()).unwrap();
            assert!(handed.detail["data"].is_object(), "{e}");
        }
    }

    #[test]
    fn one_unhandled_event_fails_the_hook_and_says_which() {
        let answer = |t: &str, error: Option<&str>| Answer {
            detail_type: t.into(),
            function_error: error.map(str::to_owned),
            payload: "{\"errorMessage\":\"no such table\"}".into(),
        };
        assert_eq!(verdict(&[answer("UserRegistered", None)]), Ok(()));
        let why = verdict(&[
            answer("UserRegistered", None),
            answer("TodoCompleted", Some("Unhandled")),
        ])
        .unwrap_err();
        assert!(
            why.contains("1 of 2")
                && why.contains("TodoCompleted: Unhandled")
                && why.contains("no such table"),
            "{why}"
        );
    }
}
