//! Lambda: the todos HTTP API.

use crate::api::{Todos, handle};
use crate::objects::Objects;
use crate::store::Store;
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use kit::config::Lazy;
use kit::http_api::Request;
use lambda_runtime::LambdaEvent;

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("api"));
    let table = kit::config::var("TABLE_NAME")?;
    let bucket = kit::config::var("BUCKET_NAME")?;
    let app = &Lazy::new(move |conf| Todos {
        store: Store::new(aws_sdk_dynamodb::Client::new(conf), table.clone()),
        objects: Objects::new(conf, bucket.clone()),
    });
    telemetry
        .run(
            move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
                let response = handle(app.get().await, Request::from_apigw(&event.payload)).await;
                Ok::<ApiGatewayV2httpResponse, lambda_runtime::Error>(response.into_apigw())
            },
        )
        .await
}
