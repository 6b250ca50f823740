//! AWS's asynchronous invocation semantics around a [`Function`]: up to
//! `max_retries` more attempts after a failure, then the event goes to the
//! function's dead-letter topic, unchanged, with the three attributes AWS
//! sets: `RequestID` (String), `ErrorCode` (Number), `ErrorMessage`
//! (String, at most 1 KB). A throttled attempt is not an attempt: the event
//! waits in the queue and is tried again with backoff until it is older
//! than `max_event_age`, and then goes to the dead-letter topic too.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_sns::types::MessageAttributeValue;
use serde_json::Value;

use crate::runtime::{Arrival, Function, InvokeError};

/// The longest wait between tries of a throttled event (AWS backs off to
/// five minutes; locally the queue is short-lived).
const THROTTLE_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// AWS's ErrorMessage attribute holds at most this many bytes.
pub const ERROR_MESSAGE_MAX: usize = 1024;

#[derive(Clone)]
pub struct AsyncFunction {
    pub function: Function,
    pub dead_letter_topic: Option<String>,
    pub max_retries: u32,
    /// `MaximumEventAgeInSeconds`: how long an event may wait in the queue.
    pub max_event_age: Duration,
    /// Between attempts. AWS waits about a minute, then two; locally the
    /// default is short so a failure reaches the DLQ in well under a second.
    pub retry_delay: Duration,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// The judge of what AWS does for the function: the dead letter's
    /// publish (as its role), SNS's delivery to the dead-letter queues, a
    /// rule's or a bucket's invocation.
    pub judge: Option<Arc<dyn crate::on_behalf::Judge>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsyncOutcome {
    Succeeded {
        attempts: u32,
    },
    DeadLettered {
        attempts: u32,
        error: String,
    },
    /// Failed, and the function's role may not publish to its dead-letter
    /// topic: AWS deletes the event (its `DeadLetterErrors` metric counts it).
    DeadLetterRefused {
        attempts: u32,
        error: String,
    },
    /// Failed with no dead-letter target configured: logged, as AWS does.
    Dropped {
        attempts: u32,
        error: String,
    },
}

fn truncate(message: &str, max: usize) -> &str {
    if message.len() <= max {
        return message;
    }
    let mut end = max;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

impl AsyncFunction {
    pub async fn invoke(
        self: &Arc<Self>,
        event: Value,
        label: &str,
        mut arrival: Arrival,
    ) -> AsyncOutcome {
        let request_id = uuid::Uuid::new_v4().to_string();
        let name = &self.function.spec.name;
        // Every attempt, and the dead letter, belong to one trace.
        let trace = arrival
            .trace
            .get_or_insert_with(|| {
                format!("Root={};Sampled=1", devstack_api::telemetry::new_trace_id())
            })
            .clone();
        let mut attempts = 0;
        let mut throttled = 0;
        let queued = Instant::now();
        let error = loop {
            if queued.elapsed() > self.max_event_age {
                tracing::error!(target: "trail", function = %name, event = label, "older than its maximum age");
                break InvokeError::EventAgeExceeded {
                    max_age: self.max_event_age,
                    attempts,
                };
            }
            let started = Instant::now();
            let result = self
                .function
                .invoke_traced(request_id.clone(), event.clone(), arrival.clone())
                .await;
            let ms = started.elapsed().as_millis();
            match result {
                Ok(_) => {
                    attempts += 1;
                    tracing::info!(target: "trail", function = %name, event = label, attempt = attempts, ms, "ok");
                    return AsyncOutcome::Succeeded { attempts };
                }
                Err(InvokeError::Throttled) => {
                    throttled += 1;
                    tracing::warn!(target: "trail", function = %name, event = label, throttled, "throttled; the event waits in the queue");
                    tokio::time::sleep(THROTTLE_BACKOFF_MAX.min(self.retry_delay * throttled))
                        .await;
                }
                Err(e) => {
                    attempts += 1;
                    tracing::warn!(target: "trail", function = %name, event = label, attempt = attempts, ms, error = %e, "failed");
                    if attempts > self.max_retries {
                        break e;
                    }
                    tokio::time::sleep(self.retry_delay * attempts).await;
                }
            }
        };
        let message = error.to_string();
        let Some(topic) = &self.dead_letter_topic else {
            tracing::error!(target: "trail", function = %name, event = label, "failed with no dead-letter target; dropped as on AWS");
            return AsyncOutcome::Dropped {
                attempts,
                error: message,
            };
        };
        if let Some(judge) = &self.judge
            && !judge.may_publish(name, topic).await
        {
            tracing::error!(target: "trail", function = %name, event = label, "the role may not publish to its dead-letter topic: the event is deleted, as on AWS");
            return AsyncOutcome::DeadLetterRefused {
                attempts,
                error: message,
            };
        }
        match self
            .dead_letter(topic, &request_id, &event, &error, &trace)
            .await
        {
            Ok(()) => {
                tracing::warn!(target: "trail", function = %name, event = label, attempts, "→ DLQ");
                if let Some(recorder) = &self.function.spec.recorder {
                    recorder.dead_lettered(&devstack_api::telemetry::DeadLettered {
                        function: name.to_string(),
                        at_ms: devstack_api::telemetry::now_ms(),
                        trace_id: kit::telemetry::root_of(&trace).map(str::to_owned),
                        destination: "dlq".into(),
                        error: message.clone(),
                    });
                }
                AsyncOutcome::DeadLettered {
                    attempts,
                    error: message,
                }
            }
            Err(e) => {
                // The caller keeps the source message, so nothing is lost.
                tracing::error!(target: "trail", function = %name, error = %e, "DLQ publish failed");
                AsyncOutcome::Dropped {
                    attempts,
                    error: format!("{message}; DLQ publish failed: {e}"),
                }
            }
        }
    }

    async fn dead_letter(
        &self,
        topic: &str,
        request_id: &str,
        event: &Value,
        error: &InvokeError,
        trace: &str,
    ) -> anyhow::Result<()> {
        // AWS puts the function's errorMessage here, without its type.
        let message = match error {
            InvokeError::Function { message, .. } => message.clone(),
            other => other.to_string(),
        };
        // The status of the event's last Invoke: a function error is
        // reported with HTTP 200; an event that expired while every try
        // was throttled never got past Lambda's 429.
        let status = match error {
            InvokeError::Throttled | InvokeError::EventAgeExceeded { attempts: 0, .. } => 429,
            _ => 200,
        };
        let attributes = [
            ("RequestID", "String", request_id.to_owned()),
            ("ErrorCode", "Number", status.to_string()),
            (
                "ErrorMessage",
                "String",
                truncate(&message, ERROR_MESSAGE_MAX).to_owned(),
            ),
        ];
        if crate::dead_letter::deliver_traced(
            &self.sns,
            &self.sqs,
            self.judge.as_ref(),
            topic,
            &event.to_string(),
            &attributes,
            trace,
        )
        .await?
        {
            return Ok(());
        }
        let attr = |data_type: &str, value: &str| {
            MessageAttributeValue::builder()
                .data_type(data_type)
                .string_value(value)
                .build()
                .expect("type and value are set")
        };
        let mut publish = self
            .sns
            .publish()
            .topic_arn(topic)
            .message(event.to_string());
        for (name, data_type, value) in &attributes {
            publish = publish.message_attributes(*name, attr(data_type, value));
        }
        publish
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(aws_sdk_sns::error::DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn error_messages_are_cut_to_one_kilobyte_on_a_character_boundary() {
        let long = "é".repeat(600);
        let cut = truncate(&long, 1024);
        assert!(cut.len() <= 1024);
        assert_eq!(cut.chars().count(), 512);
        assert_eq!(truncate("short", 1024), "short");
    }
}
