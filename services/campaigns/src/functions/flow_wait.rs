//! Lambda (the state machine's Wait task, `.waitForTaskToken`): stores
//! the token the sender's report resumes the machine with, or resumes it
//! at once when the report came first.

use crate::flow::{Flow, Resumer};

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("flow-wait"));
    let step = Flow::lazy(|conf| Resumer {
        sfn: aws_sdk_sfn::Client::new(conf),
    })?;
    crate::flow::serve(telemetry, move |input| async move {
        let (flow, resumer) = step.get().await;
        flow.wait(resumer, input).await
    })
    .await
}
