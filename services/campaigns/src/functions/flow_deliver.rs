//! Lambda (the state machine's Deliver task): records the sent campaign
//! on each recipient; the stream publishes `CampaignDelivered` for each.

use crate::flow::Flow;

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("flow-deliver"));
    let step = Flow::lazy(|_| ())?;
    crate::flow::serve(telemetry, move |input| async move {
        let (flow, ()) = step.get().await;
        flow.deliver(input.campaign_id).await
    })
    .await
}
