//! Lambda: the {{service}} HTTP API.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use kit::config::Lazy;
use kit::http_api::Request;
use lambda_runtime::LambdaEvent;
use crate::store::Store;

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("api"));
    let table = kit::config::var("TABLE_NAME")?;
    let store =
        &Lazy::new(move |conf| Store::new(aws_sdk_dynamodb::Client::new(conf), table.clone()));
    telemetry
        .run(
            move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
                let response =
                    crate::api::handle(store.get().await, Request::from_apigw(&event.payload))
                        .await;
                Ok::<ApiGatewayV2httpResponse, lambda_runtime::Error>(response.into_apigw())
            },
        )
        .await
}
