//! Lambda (async, from the bus's rules): the events {{service}} consumes.
//! Ready for Lambda Managed Instances (`AWS_LAMBDA_MAX_CONCURRENCY`): the
//! handler shares only its clients, and each delivery's effect is guarded
//! by its processed record, so deliveries run at once in one process as
//! they do in many.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use kit::config::Lazy;
use kit::idempotency::Processed;
use kit::telemetry::Consumed;
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use crate::handlers::Handled;
use crate::store::Store;

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("consumer"));
    let table = kit::config::var("TABLE_NAME")?;
    let adapters: &'static Lazy<_> = Box::leak(Box::new(Lazy::new(move |conf| {
        let client = aws_sdk_dynamodb::Client::new(conf);
        (
            Store::new(client.clone(), &table),
            Processed::new(client, &table, "{{service}}-consumer"),
        )
    })));
    telemetry
        .run_concurrent(
            move |event: LambdaEvent<EventBridgeEvent<Value>>| async move {
                let (store, processed) = adapters.get().await;
                let handled = crate::handlers::handle(store, processed, &event.payload).await;
                kit::telemetry::consumed_event(
                    &event.payload,
                    Consumed::of(&handled, |h| *h == Handled::Duplicate),
                );
                handled?;
                Ok::<(), lambda_runtime::Error>(())
            },
        )
        .await
}
