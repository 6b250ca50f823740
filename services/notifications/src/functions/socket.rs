//! Lambda: the WebSocket API's routes (`$connect`, `$disconnect`, `ping`,
//! `$default`).

use crate::push::Push;
use crate::store::Store;
use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use kit::config::Lazy;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("socket"));
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
                let out = crate::socket::handle(store, push, &event.payload).await?;
                Ok::<Value, lambda_runtime::Error>(out)
            },
        )
        .await
}
