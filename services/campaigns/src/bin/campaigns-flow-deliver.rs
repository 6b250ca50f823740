//! Lambda (the state machine's Deliver task): records the sent campaign
//! on each recipient; the stream publishes `CampaignDelivered` for each.

use campaigns::flow::Flow;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!());
    let step = Flow::lazy(|_| ())?;
    campaigns::flow::serve(telemetry, move |input| async move {
        let (flow, ()) = step.get().await;
        flow.deliver(input.campaign_id).await
    })
    .await
}
