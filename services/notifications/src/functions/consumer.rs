//! Lambda (async, from bus rules): welcome, congratulate, erase. Ready
//! for Lambda Managed Instances: the handler shares only what it reads
//! (the wording, the clients), and each delivery's effect is guarded by
//! its processed record, so deliveries run at once in one process as
//! they do in many.

use crate::domain::Wording;
use crate::store::Store;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use kit::config::Lazy;
use kit::idempotency::Processed;
use kit::telemetry::Consumed;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("consumer"));
    let table = kit::config::var("TABLE_NAME")?;
    // Checked at init: a wording without its placeholder fails the deploy's
    // first invocation loudly instead of sending odd messages.
    let wording: &'static Wording = Box::leak(Box::new(match std::env::var("CONGRATULATION") {
        Ok(text) if !text.is_empty() => Wording::parse(&text)?,
        _ => Wording::default(),
    }));
    let adapters: &'static Lazy<_> = Box::leak(Box::new(Lazy::new(move |conf| {
        let client = aws_sdk_dynamodb::Client::new(conf);
        (
            Store::new(client.clone(), &table),
            Processed::new(client, &table, "notifications-consumer"),
        )
    })));
    telemetry
        .run_concurrent(
            move |event: LambdaEvent<EventBridgeEvent<Value>>| async move {
                let (store, processed) = adapters.get().await;
                let handled =
                    crate::handlers::handle(store, processed, wording, &event.payload).await;
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
