//! Lambda: the sender's webhook (public; verified by signature with the
//! signing secret from Secrets Manager, read at invoke time).

use std::time::Duration;

use crate::flow::Resumer;
use crate::store::Store;
use crate::webhook::Webhook;
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use kit::config::Lazy;
use kit::http_api::{Request, Response};
use kit::idempotency::Processed;
use kit::secrets::{Secret, Source};
use lambda_runtime::LambdaEvent;

struct App {
    store: Store,
    processed: Processed,
    resumer: Resumer,
    secret: Secret,
}

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("webhook"));
    let table = kit::config::var("TABLE_NAME")?;
    let secret_id = kit::config::var("SIGNING_SECRET_ID")?;
    let ttl = Duration::from_secs(kit::config::number("SECRET_TTL_SECONDS", 300)? as u64);
    let app = &Lazy::new(move |conf| {
        let dynamo = aws_sdk_dynamodb::Client::new(conf);
        let source = Source::secrets_manager(conf, secret_id.clone());
        App {
            store: Store::new(dynamo.clone(), &table),
            processed: Processed::new(dynamo, &table, "campaigns-webhook"),
            resumer: Resumer {
                sfn: aws_sdk_sfn::Client::new(conf),
            },
            secret: Secret::new(source, ttl),
        }
    });
    telemetry
        .run(
            move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
                let req = Request::from_apigw(&event.payload);
                let app = app.get().await;
                let response = kit::http_api::serve_public(&req, |req| async move {
                    let secret = app.secret.get().await.map_err(|e| Response::internal(&e))?;
                    let hook = Webhook {
                        store: &app.store,
                        processed: &app.processed,
                        resumer: &app.resumer,
                    };
                    crate::webhook::handle(&hook, secret.expose().as_bytes(), req).await
                })
                .await;
                Ok::<ApiGatewayV2httpResponse, lambda_runtime::Error>(response.into_apigw())
            },
        )
        .await
}
