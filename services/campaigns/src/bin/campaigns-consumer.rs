//! Lambda (async, from the bus's rules): the users events the audience is
//! a projection of.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use campaigns::handlers::Handled;
use campaigns::store::Store;
use kit::config::Lazy;
use kit::telemetry::Consumed;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!());
    let table = kit::config::var("TABLE_NAME")?;
    let store = &Lazy::new(move |conf| Store::new(aws_sdk_dynamodb::Client::new(conf), &table));
    telemetry
        .run(
            move |event: LambdaEvent<EventBridgeEvent<Value>>| async move {
                let handled = campaigns::handlers::handle(store.get().await, &event.payload).await;
                let late = |h: &Handled| *h == Handled::AlreadyErased;
                kit::telemetry::consumed_event(&event.payload, Consumed::of(&handled, late));
                handled?;
                Ok::<(), lambda_runtime::Error>(())
            },
        )
        .await
}
