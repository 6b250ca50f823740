//! Lambda: the WebSocket API's `$connect` authorizer (REQUEST type).

use crate::authorizer::decide;
use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest;
use kit::jwt::{Expect, Verifier};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("authorizer"));
    let verifier = &Verifier::new(Expect::from_env()?);
    telemetry
        .run(
            move |event: LambdaEvent<ApiGatewayCustomAuthorizerRequestTypeRequest>| async move {
                let request = &event.payload;
                let token = request
                    .query_string_parameters
                    .first("token")
                    .unwrap_or_default();
                let method_arn = request.method_arn.as_deref().unwrap_or_default();
                let checked = verifier.verify(token).await;
                if let Err(why) = &checked {
                    tracing::info!(why = %why, "token refused");
                }
                Ok::<Value, lambda_runtime::Error>(decide(checked, method_arn)?)
            },
        )
        .await
}
