//! Lambda: the campaigns admin API.

use crate::api::Admin;
use crate::store::Store;
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use kit::config::Lazy;
use kit::http_api::Request;
use lambda_runtime::LambdaEvent;

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("api"));
    let table = kit::config::var("TABLE_NAME")?;
    let machine = kit::config::var("STATE_MACHINE_ARN")?;
    let wait = kit::config::number("WAIT_TIMEOUT_SECONDS", 3600)? as u64;
    let app = &Lazy::new(move |conf| Admin {
        store: Store::new(aws_sdk_dynamodb::Client::new(conf), table.clone()),
        sfn: aws_sdk_sfn::Client::new(conf),
        state_machine_arn: machine.clone(),
        wait_timeout_seconds: wait,
    });
    telemetry
        .run(
            move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
                let req = Request::from_apigw(&event.payload);
                let response = crate::api::handle(app.get().await, req).await;
                Ok::<ApiGatewayV2httpResponse, lambda_runtime::Error>(response.into_apigw())
            },
        )
        .await
}
