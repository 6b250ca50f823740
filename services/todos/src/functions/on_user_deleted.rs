//! Lambda (async, from a bus rule): erase a deleted user's todos and
//! their attachment objects.

use crate::handlers::Erasure;
use crate::objects::Versions;
use crate::store::Store;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use kit::config::Lazy;
use kit::idempotency::Processed;
use kit::telemetry::Consumed;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("on-user-deleted"));
    let table = kit::config::var("TABLE_NAME")?;
    let bucket = kit::config::var("BUCKET_NAME")?;
    let adapters = &Lazy::new(move |conf| {
        let client = aws_sdk_dynamodb::Client::new(conf);
        let app = Erasure {
            store: Store::new(client.clone(), &table),
            versions: Versions::new(conf, bucket.clone()),
        };
        (app, Processed::new(client, &table, "todos-on-user-deleted"))
    });
    telemetry
        .run(
            move |event: LambdaEvent<EventBridgeEvent<Value>>| async move {
                let (app, processed) = adapters.get().await;
                let handled = crate::handlers::handle(app, processed, &event.payload).await;
                kit::telemetry::consumed_event(
                    &event.payload,
                    Consumed::of(&handled, |h| *h == crate::handlers::Handled::Duplicate),
                );
                handled?;
                Ok::<(), lambda_runtime::Error>(())
            },
        )
        .await
}
