//! Lambda (the state machine's Failure task, where every Catch leads):
//! records the reason the flow failed on the campaign.

use crate::flow::Flow;

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("flow-fail"));
    let step = Flow::lazy(|_| ())?;
    crate::flow::serve(telemetry, move |input| async move {
        let (flow, ()) = step.get().await;
        flow.fail(input.campaign_id, input.error).await
    })
    .await
}
