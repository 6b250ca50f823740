//! A consumer's pre-traffic hook, for every service that has one: before a
//! new version of a consumer takes any event, CodeDeploy invokes the hook,
//! which hands that version the committed example of every event it
//! consumes (as the bus would deliver it, with fresh ids so idempotency
//! does not skip it) and reports `Failed` if any of them is not handled.
//! The deployment then stops and the alias stays on the old version: no
//! real event met the new one.
//!
//! The examples' user is the producers' example user, and a user's
//! deletion comes last, so what the hook made is erased again. The pure
//! half (what is sent, the verdict) is here for every build; the half
//! that invokes and reports is behind the `hook` feature, which alone
//! brings the Lambda client.

use events::users::UserDeletedV1;
use events::{Event, EventKey};
use serde::Deserialize;
use serde_json::{Value, json};

/// The event CodeDeploy invokes a lifecycle hook with.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HookEvent {
    pub deployment_id: String,
    pub lifecycle_event_hook_execution_id: String,
}

/// Each of `consumed`'s examples as EventBridge delivers it to a target,
/// in the order given but a user's deletion last, under ids of its own
/// (`id` stands for both the event's and the envelope's `event_id`).
pub fn deliveries(
    consumed: &[EventKey],
    id: impl Fn() -> String,
    now: &str,
) -> Result<Vec<Value>, String> {
    let mut keys = consumed.to_vec();
    keys.sort_by_key(|k| *k == UserDeletedV1::KEY);
    keys.iter()
        .map(|key| {
            let text = events::examples::example(key)
                .ok_or_else(|| format!("no committed example of {key:?}"))?;
            let mut detail: Value = serde_json::from_str(text)
                .map_err(|e| format!("the example of {key:?} is not JSON: {e}"))?;
            detail["metadata"]["event_id"] = json!(id());
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

#[cfg(feature = "hook")]
pub use run::serve;

#[cfg(feature = "hook")]
mod run {
    use aws_sdk_lambda::primitives::Blob;
    use events::EventKey;
    use lambda_runtime::LambdaEvent;

    use super::{Answer, HookEvent, deliveries, verdict};
    use crate::signed::json_protocol::{CODEDEPLOY, JsonApi};

    /// The hook's Lambda loop: the version named by the `version_var`
    /// variable (`!Ref Fn.Version` in the template) is handed each of
    /// `consumed`'s examples, and the deployment told the verdict.
    pub async fn serve(
        telemetry: crate::telemetry::Telemetry,
        version_var: &'static str,
        consumed: &'static [EventKey],
    ) -> Result<(), lambda_runtime::Error> {
        let version = crate::config::var(version_var)?;
        let conf = crate::config::aws().await;
        let lambda = aws_sdk_lambda::Client::new(&conf);
        let codedeploy = JsonApi::new(&conf, CODEDEPLOY);
        let (version, lambda, codedeploy) = (&version, &lambda, &codedeploy);
        telemetry
            .run(move |event: LambdaEvent<HookEvent>| async move {
                let hook = event.payload;
                let status = match check(lambda, version, consumed).await {
                    Ok(()) => "Succeeded",
                    Err(why) => {
                        tracing::warn!(version = %version, reason = %why, "the new version fails its examples");
                        "Failed"
                    }
                };
                codedeploy
                    .call(
                        "PutLifecycleEventHookExecutionStatus",
                        &serde_json::json!({
                            "deploymentId": hook.deployment_id,
                            "lifecycleEventHookExecutionId": hook.lifecycle_event_hook_execution_id,
                            "status": status,
                        }),
                    )
                    .await?;
                Ok::<_, lambda_runtime::Error>(serde_json::json!({"status": status}))
            })
            .await
    }

    /// Every example handed to `version`, one at a time.
    async fn check(
        lambda: &aws_sdk_lambda::Client,
        version: &str,
        consumed: &[EventKey],
    ) -> Result<(), String> {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let id = || uuid::Uuid::now_v7().to_string();
        let mut answers = Vec::new();
        for event in deliveries(consumed, id, &now)? {
            let out = lambda
                .invoke()
                .function_name(version)
                .payload(Blob::new(event.to_string()))
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "invoking {version}: {}",
                        aws_sdk_lambda::error::DisplayErrorContext(e)
                    )
                })?;
            answers.push(Answer {
                detail_type: event["detail-type"].as_str().unwrap_or_default().to_owned(),
                function_error: out.function_error().map(str::to_owned),
                payload: out
                    .payload()
                    .map(|p| String::from_utf8_lossy(p.as_ref()).into_owned())
                    .unwrap_or_default(),
            });
        }
        verdict(&answers)
    }
}

#[cfg(test)]
mod tests {
    use events::campaigns::CampaignDeliveredV1;
    use events::todos::TodoCompletedV1;
    use events::users::UserRegisteredV1;

    use super::*;

    #[test]
    fn each_consumed_example_is_delivered_under_fresh_ids_and_the_deletion_last() {
        let n = std::cell::Cell::new(0);
        let id = || {
            n.set(n.get() + 1);
            format!("id-{}", n.get())
        };
        let consumed = [
            UserRegisteredV1::KEY,
            UserDeletedV1::KEY,
            TodoCompletedV1::KEY,
            CampaignDeliveredV1::KEY,
        ];
        let events = deliveries(&consumed, id, "2026-11-27T00:00:00Z").unwrap();
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
        // Each decodes as a consumer reads it.
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
