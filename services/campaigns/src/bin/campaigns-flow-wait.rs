//! Lambda (the state machine's Wait task, `.waitForTaskToken`): stores
//! the token the sender's report resumes the machine with, or resumes it
//! at once when the report came first.

use campaigns::flow::{Flow, Resumer};
use campaigns::store::Store;
use kit::config::Lazy;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!());
    let table = kit::config::var("TABLE_NAME")?;
    let step = &Lazy::new(move |conf| {
        let flow = Flow {
            store: Store::new(aws_sdk_dynamodb::Client::new(conf), &table),
        };
        let resumer = Resumer {
            sfn: aws_sdk_sfn::Client::new(conf),
        };
        (flow, resumer)
    });
    campaigns::flow::serve(telemetry, |input| async move {
        let (flow, resumer) = step.get().await;
        flow.wait(resumer, input).await
    })
    .await
}
