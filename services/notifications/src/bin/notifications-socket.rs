//! Lambda: the WebSocket API's routes (`$connect`, `$disconnect`, `ping`,
//! `$default`).

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use kit::config::Lazy;
use lambda_runtime::LambdaEvent;
use notifications::push::Push;
use notifications::store::Store;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!());
    let table = kit::config::var("TABLE_NAME")?;
    let endpoint = kit::config::var("CONNECTIONS_URL")?;
    let adapters = &Lazy::new(move |conf| {
        (
            Store::new(aws_sdk_dynamodb::Client::new(conf), &table),
            Push::new(conf, &endpoint),
        )
    });
    telemetry
        .run(
            move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
                let (store, push) = adapters.get().await;
                let out = notifications::socket::handle(store, push, &event.payload).await?;
                Ok::<Value, lambda_runtime::Error>(out)
            },
        )
        .await
}
