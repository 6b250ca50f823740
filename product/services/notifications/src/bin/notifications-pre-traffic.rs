//! Lambda (CodeDeploy's pre-traffic hook for the consumer): the new
//! version (`CONSUMER_VERSION`) handles the committed example of every
//! event it consumes, or the deployment fails (`kit::hook`).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!());
    kit::hook::serve(
        telemetry,
        "CONSUMER_VERSION",
        notifications::handlers::CONSUMED,
    )
    .await
}
