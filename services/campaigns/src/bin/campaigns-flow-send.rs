//! Lambda (the state machine's Send task): hands the campaign to the
//! third-party sender with the API key from Parameter Store. Errors carry
//! the `errorType` the machine's Retry and Catch match
//! (`Sender.Unavailable`, `Sender.Throttled`, ...).

use std::time::Duration;

use campaigns::flow::Flow;
use campaigns::sender::Sender;
use campaigns::store::Store;
use kit::config::Lazy;
use kit::secrets::{Secret, Source};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!());
    let table = kit::config::var("TABLE_NAME")?;
    let url = kit::config::var("SENDER_URL")?;
    let parameter = kit::config::var("API_KEY_PARAMETER")?;
    let ttl = Duration::from_secs(kit::config::number("SECRET_TTL_SECONDS", 300)? as u64);
    let step = &Lazy::new(move |conf| {
        let key = Source::parameter(conf, parameter.clone());
        let flow = Flow {
            store: Store::new(aws_sdk_dynamodb::Client::new(conf), &table),
        };
        (flow, Sender::new(&url, Secret::new(key, ttl)))
    });
    campaigns::flow::serve(telemetry, |input| async move {
        let (flow, sender) = step.get().await;
        flow.send(sender, input.campaign_id).await
    })
    .await
}
