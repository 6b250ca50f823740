//! Lambda (the state machine's Send task): hands the campaign to the
//! third-party sender with the API key from Parameter Store. Errors carry
//! the `errorType` the machine's Retry and Catch match
//! (`Sender.Unavailable`, `Sender.Throttled`, ...).

use std::time::Duration;

use crate::flow::Flow;
use crate::sender::Sender;
use kit::secrets::{Secret, Source};

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("flow-send"));
    let url = kit::config::var("SENDER_URL")?;
    let parameter = kit::config::var("API_KEY_PARAMETER")?;
    let ttl = Duration::from_secs(kit::config::number("SECRET_TTL_SECONDS", 300)? as u64);
    let step = Flow::lazy(move |conf| {
        let key = Source::parameter(conf, parameter.clone());
        Sender::new(&url, Secret::new(key, ttl))
    })?;
    crate::flow::serve(telemetry, move |input| async move {
        let (flow, sender) = step.get().await;
        flow.send(sender, input.campaign_id).await
    })
    .await
}
