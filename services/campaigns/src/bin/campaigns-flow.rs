//! Lambda (a state machine's task): one step of a campaign's flow, named
//! by `FLOW_STEP`. Errors carry the `errorType` the machine's Retry and
//! Catch match (`Sender.Unavailable`, `Sender.Throttled`, ...).

use std::time::Duration;

use campaigns::flow::{Flow, Resumer, StepInput, StepName};
use campaigns::sender::Sender;
use campaigns::store::Store;
use kit::config::Lazy;
use kit::secrets::{Secret, Source};
use kit::telemetry::TypedError;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!());
    let step: StepName = kit::config::var("FLOW_STEP")?.parse()?;
    let table = kit::config::var("TABLE_NAME")?;
    // Only the sending step holds the sender's address and key name.
    let sending = match step {
        StepName::Send => Some((
            kit::config::var("SENDER_URL")?,
            kit::config::var("API_KEY_PARAMETER")?,
            kit::config::number("SECRET_TTL_SECONDS", 300)?,
        )),
        _ => None,
    };
    let flow = &Lazy::new(move |conf| Flow {
        store: Store::new(aws_sdk_dynamodb::Client::new(conf), &table),
        sender: sending.as_ref().map(|(url, parameter, ttl)| {
            let source = Source::parameter(aws_sdk_ssm::Client::new(conf), parameter.clone());
            Sender::new(url, Secret::new(source, Duration::from_secs(*ttl as u64)))
        }),
        resumer: Resumer {
            sfn: aws_sdk_sfn::Client::new(conf),
        },
    });
    telemetry
        .run(move |event: LambdaEvent<Value>| async move {
            let input: StepInput = serde_json::from_value(event.payload)
                .map_err(|e| TypedError::new("Flow.Input", e.to_string()))?;
            let span = tracing::info_span!(
                "step",
                campaign_id = %input.campaign_id,
                correlation_id = input.correlation_id.as_deref().unwrap_or_default()
            );
            tracing::Instrument::instrument(flow.get().await.run(step, input), span).await
        })
        .await
}
