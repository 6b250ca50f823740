//! Lambda (async, from the bus's rules): the users events the audience is
//! a projection of. Ready for Lambda Managed Instances: the handler shares
//! only its client, and its writes are conditional, so deliveries running
//! at once in one process race no more than they do across environments.

use crate::handlers::Handled;
use crate::store::Store;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use kit::config::Lazy;
use kit::telemetry::Consumed;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("consumer"));
    let table = kit::config::var("TABLE_NAME")?;
    let store: &'static Lazy<_> = Box::leak(Box::new(Lazy::new(move |conf| {
        Store::new(aws_sdk_dynamodb::Client::new(conf), &table)
    })));
    telemetry
        .run_concurrent(
            move |event: LambdaEvent<EventBridgeEvent<Value>>| async move {
                let handled = crate::handlers::handle(store.get().await, &event.payload).await;
                let late = |h: &Handled| *h == Handled::AlreadyErased;
                kit::telemetry::consumed_event(&event.payload, Consumed::of(&handled, late));
                handled?;
                Ok::<(), lambda_runtime::Error>(())
            },
        )
        .await
}
