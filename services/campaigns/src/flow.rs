//! The campaign's state machine's steps (a binary and a Lambda function
//! per step, each with only its own permissions and only the clients it
//! calls: `campaigns-flow-send` holds the sender and the API key,
//! `-wait` the Step Functions client, `-deliver` and `-fail` the table
//! alone), and resuming the waiting step. The machine itself is in `template.yaml`:
//!
//! Send → Wait (task token) → Choice: sent → Deliver; failed → Failure;
//! pending/sending → Wait again. Failures of any step are caught into
//! Failure, which records the reason.

use aws_sdk_sfn::error::DisplayErrorContext;
use aws_sdk_sfn::operation::send_task_success::SendTaskSuccessError;
use chrono::Utc;
use futures_util::StreamExt;
use kit::telemetry::TypedError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::{CampaignStatus, Progress, Step, VendorStatus};
use crate::items::Received;
use crate::sender::Sender;
use crate::store::Store;

/// Recipients recorded at once by the delivery step.
const RECORDING_CONCURRENCY: usize = 16;

/// What every step is handed: the execution's input, plus the token for
/// the waiting step and the caught error for the failure step.
#[derive(Debug, Clone, Deserialize)]
pub struct StepInput {
    pub campaign_id: Uuid,
    #[serde(default)]
    pub correlation_id: Option<String>,
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub error: Option<Caught>,
}

/// A `Catch`'s error output (`ResultPath: $.error`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Caught {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

/// What every step needs: the table. The send and wait steps are handed
/// their sender and resumer, so the other functions link neither.
pub struct Flow {
    pub store: Store,
}

fn failed(kind: &str, e: impl std::fmt::Display) -> TypedError {
    TypedError::new(kind, e.to_string())
}

/// A step's function: its input parsed (a malformed one is a
/// `Flow.Input` error the machine catches), then `step`, inside a span
/// naming the campaign and the correlation id. Ready for Lambda Managed
/// Instances (many steps at once in one process): a step shares only its
/// clients, and every write it makes is conditional or idempotent.
pub async fn serve<F, Fut>(
    telemetry: kit::telemetry::Telemetry,
    step: F,
) -> Result<(), lambda_runtime::Error>
where
    F: Fn(StepInput) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Value, TypedError>> + Send + 'static,
{
    let step: &'static F = Box::leak(Box::new(step));
    telemetry
        .run_concurrent(
            move |event: lambda_runtime::LambdaEvent<Value>| async move {
                let input: StepInput = serde_json::from_value(event.payload)
                    .map_err(|e| TypedError::new("Flow.Input", e.to_string()))?;
                let span = tracing::info_span!(
                    "step",
                    campaign_id = %input.campaign_id,
                    correlation_id = input.correlation_id.as_deref().unwrap_or_default()
                );
                tracing::Instrument::instrument(step(input), span).await
            },
        )
        .await
}

impl Flow {
    /// A step's flow on the table `TABLE_NAME` names, with what that step
    /// alone calls (its sender, its resumer; `()` for none), made from the
    /// same configuration on first use. It lives as long as the process,
    /// and every invocation in flight shares it ([`serve`]).
    pub fn lazy<T: 'static>(
        with: impl Fn(&kit::config::SdkConfig) -> T + Send + Sync + 'static,
    ) -> Result<&'static kit::config::Lazy<(Flow, T)>, kit::config::ConfigError> {
        let table = kit::config::var("TABLE_NAME")?;
        Ok(Box::leak(Box::new(kit::config::Lazy::new(move |conf| {
            let store = Store::new(aws_sdk_dynamodb::Client::new(conf), &table);
            (Flow { store }, with(conf))
        }))))
    }

    /// Hands the campaign to the sender.
    pub async fn send(&self, sender: &Sender, id: Uuid) -> Result<Value, TypedError> {
        let campaign = self.campaign(id).await?;
        let audience = self
            .store
            .audience()
            .await
            .map_err(|e| failed("Campaign.Store", e))?;
        if audience.is_empty() {
            return Err(TypedError::new(
                "Campaign.NoAudience",
                "nobody is registered to receive it",
            ));
        }
        let recipients: Vec<String> = audience.iter().map(|m| m.email.clone()).collect();
        let accepted = match sender.submit(&campaign, &recipients).await {
            Ok(a) => a,
            Err(e) => {
                let note = Step::new(Utc::now(), "send attempt failed", e.to_string());
                self.note(id, note).await;
                return Err(TypedError::new(e.error_type(), e.to_string()));
            }
        };
        let n = recipients.len() as u32;
        self.store
            .update(id, |c| {
                c.vendor_id = Some(accepted.id.clone());
                if VendorStatus::Pending.advances(c.vendor_status) {
                    c.vendor_status = Some(VendorStatus::Pending);
                }
                // The sender's acceptance says pending: not news to wake for.
                c.handed = c.handed.or(Some(VendorStatus::Pending));
                if c.status == CampaignStatus::Submitted {
                    c.status = CampaignStatus::Accepted;
                }
                c.recipients = Some(n);
                c.updated_at = Utc::now();
                c.steps.push(Step::new(
                    c.updated_at,
                    "accepted",
                    format!("by the sender as {}, {n} recipients", accepted.id),
                ));
                Some(())
            })
            .await
            .map_err(|e| failed("Campaign.Store", e))?;
        Ok(json!({ "vendor_id": accepted.id, "recipients": n }))
    }

    /// Stores the task token the sender's report resumes, or resumes at
    /// once with a report that came first.
    pub async fn wait(&self, resumer: &Resumer, input: StepInput) -> Result<Value, TypedError> {
        let (id, token) = (input.campaign_id, input.token.as_deref());
        let token =
            token.ok_or_else(|| TypedError::new("Flow.Input", "the waiting step got no token"))?;
        let now = Utc::now();
        let ready = self
            .store
            .update(id, |c| {
                let before = c.handed;
                Some(crate::domain::wait(c, token, now).map(|p| (p, before)))
            })
            .await
            .map_err(|e| failed("Campaign.Store", e))?
            .flatten();
        if let Some((progress, before)) = &ready {
            // The sender reported before this step stored its token.
            tracing::info!(
                status = crate::domain::name(progress.status),
                "resuming at once with an earlier report"
            );
            resumer
                .resume(&self.store, id, token, progress, *before)
                .await
                .map_err(|e| TypedError::new("Flow.Resume", format!("{:?}", e.body)))?;
        }
        Ok(json!({ "waiting": ready.is_none() }))
    }

    /// Records the campaign on each recipient.
    pub async fn deliver(&self, id: Uuid) -> Result<Value, TypedError> {
        let campaign = self.campaign(id).await?;
        let audience = self
            .store
            .audience()
            .await
            .map_err(|e| failed("Campaign.Store", e))?;
        let now = Utc::now();
        let store = &self.store;
        let campaign = &campaign;
        // The writes made before they are streamed: a closure in the
        // stream's type hides that its future is `Send` for every borrow,
        // which a step served concurrently needs.
        let writes: Vec<_> = audience
            .iter()
            .map(|m| {
                let received = Received::of(campaign, &m.user_id, now);
                async move { store.receive(&received).await }
            })
            .collect();
        let recorded: Vec<Result<bool, _>> = futures_util::stream::iter(writes)
            .buffer_unordered(RECORDING_CONCURRENCY)
            .collect()
            .await;
        let mut new = 0u32;
        for r in recorded {
            new += u32::from(r.map_err(|e| failed("Campaign.Store", e))?);
        }
        let total = audience.len() as u32;
        self.store
            .update(id, |c| {
                c.status = CampaignStatus::Delivered;
                c.recipients = Some(total);
                c.updated_at = Utc::now();
                c.steps.push(Step::new(
                    c.updated_at,
                    "delivered",
                    format!("recorded on {total} recipients ({new} new)"),
                ));
                Some(())
            })
            .await
            .map_err(|e| failed("Campaign.Store", e))?;
        kit::telemetry::count("RecipientsRecorded", u64::from(new));
        Ok(json!({ "recipients": total, "new": new }))
    }

    /// Records why the flow failed.
    pub async fn fail(&self, id: Uuid, error: Option<Caught>) -> Result<Value, TypedError> {
        let reason = reason_of(error.as_ref());
        self.store
            .update(id, |c| {
                c.status = CampaignStatus::Failed;
                // The sender's own reason, when it gave one, says most.
                let why = match (&c.reason, c.vendor_status) {
                    (Some(r), Some(VendorStatus::Failed)) => r.clone(),
                    _ => reason.clone(),
                };
                c.reason = Some(why.clone());
                c.token = None;
                c.updated_at = Utc::now();
                c.steps.push(Step::new(c.updated_at, "failed", why));
                Some(())
            })
            .await
            .map_err(|e| failed("Campaign.Store", e))?;
        kit::telemetry::count("CampaignsFailed", 1);
        Ok(json!({ "reason": reason }))
    }

    async fn campaign(&self, id: Uuid) -> Result<crate::items::Campaign, TypedError> {
        self.store
            .campaign(id)
            .await
            .map_err(|e| failed("Campaign.Store", e))?
            .ok_or_else(|| TypedError::new("Campaign.NotFound", format!("no campaign {id}")))
    }

    /// A line in the campaign's history; losing it loses no state.
    async fn note(&self, id: Uuid, step: Step) {
        let written = self
            .store
            .update(id, |c| {
                c.updated_at = Utc::now();
                c.steps.push(step.clone());
                Some(())
            })
            .await;
        if let Err(e) = written {
            tracing::warn!(error = %e, "history line not written");
        }
    }
}

/// A reason an admin can read, from what the state machine caught.
pub fn reason_of(error: Option<&Caught>) -> String {
    let Some(e) = error else {
        return "the flow ended without saying why".into();
    };
    let cause = e.cause.as_deref().map(cause_text).unwrap_or_default();
    match e.error.as_str() {
        "States.Timeout" | "States.HeartbeatTimeout" => {
            "the sender went silent: no status within the wait's time limit".into()
        }
        "Sender.Failed" => format!("the sender reported it failed: {cause}"),
        other if cause.is_empty() => other.to_owned(),
        other => format!("{other}: {cause}"),
    }
}

/// A Lambda error's cause is its JSON error document; the message says it.
fn cause_text(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|v| v["errorMessage"].as_str().map(str::to_owned))
        .unwrap_or_else(|| cause.to_owned())
}

/// Resumes the waiting step: SendTaskSuccess with the progress. AWS
/// answers `TaskTimedOut` (moto `InvalidToken`) for a token already used
/// or timed out: the flow has moved on, so that is done, not an error.
pub struct Resumer {
    pub sfn: aws_sdk_sfn::Client,
}

impl Resumer {
    pub async fn resume(
        &self,
        store: &Store,
        id: Uuid,
        token: &str,
        progress: &Progress,
        handed_before: Option<VendorStatus>,
    ) -> Result<(), kit::http_api::Response> {
        let output = serde_json::to_string(progress).expect("progress serializes");
        let sent = self
            .sfn
            .send_task_success()
            .task_token(token)
            .output(output)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) if already_handled(e.as_service_error()) => {
                tracing::info!("the task was already resumed or timed out");
                Ok(())
            }
            Err(e) => {
                // Give the token back, so the sender's retry of this
                // delivery wakes the flow instead of finding it stale.
                let restored = store
                    .update(id, |c| {
                        if c.token.is_some() {
                            return None;
                        }
                        c.token = Some(token.to_owned());
                        c.handed = handed_before;
                        c.updated_at = Utc::now();
                        Some(())
                    })
                    .await;
                tracing::error!(error = %DisplayErrorContext(&e), restored = restored.is_ok(), "SendTaskSuccess failed");
                Err(kit::http_api::Response::error(
                    503,
                    "unavailable",
                    "the flow could not be resumed; retry",
                    None,
                ))
            }
        }
    }
}

fn already_handled(e: Option<&SendTaskSuccessError>) -> bool {
    matches!(
        e,
        Some(
            SendTaskSuccessError::TaskTimedOut(_)
                | SendTaskSuccessError::InvalidToken(_)
                | SendTaskSuccessError::TaskDoesNotExist(_)
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_error_becomes_a_readable_reason() {
        let timeout = Caught {
            error: "States.Timeout".into(),
            cause: None,
        };
        assert!(reason_of(Some(&timeout)).contains("went silent"));
        let cause = r#"{"errorType":"Sender.Refused","errorMessage":"HTTP 400: bad"}"#;
        let refused = Caught {
            error: "Sender.Refused".into(),
            cause: Some(cause.into()),
        };
        assert_eq!(reason_of(Some(&refused)), "Sender.Refused: HTTP 400: bad");
    }
}
