//! Lambda (async, from bus rules): welcome, congratulate, erase.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use kit::config::Lazy;
use kit::idempotency::Processed;
use kit::telemetry::Consumed;
use lambda_runtime::LambdaEvent;
use notifications::domain::Wording;
use notifications::store::Store;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!());
    let table = kit::config::var("TABLE_NAME")?;
    // Checked at init: a wording without its placeholder fails the deploy's
    // first invocation loudly instead of sending odd messages.
    let wording = &match std::env::var("CONGRATULATION") {
        Ok(text) if !text.is_empty() => Wording::parse(&text)?,
        _ => Wording::default(),
    };
    let adapters = &Lazy::new(move |conf| {
        let client = aws_sdk_dynamodb::Client::new(conf);
        (
            Store::new(client.clone(), &table),
            Processed::new(client, &table, "notifications-consumer"),
        )
    });
    telemetry
        .run(
            move |event: LambdaEvent<EventBridgeEvent<Value>>| async move {
                let (store, processed) = adapters.get().await;
                let handled =
                    notifications::handlers::handle(store, processed, wording, &event.payload)
                        .await;
                kit::telemetry::consumed_event(
                    &event.payload,
                    Consumed::of(&handled, |h| {
                        *h == notifications::handlers::Handled::Duplicate
                    }),
                );
                handled?;
                Ok::<(), lambda_runtime::Error>(())
            },
        )
        .await
}
