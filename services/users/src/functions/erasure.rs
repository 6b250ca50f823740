//! Lambda (async, from a bus rule): a service erased a deleted user; once
//! every one has, delete the person's sign-in (`crate::erasure`).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use kit::config::Lazy;
use kit::telemetry::Consumed;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("erasure"));
    let table = kit::config::var("TABLE_NAME")?;
    let user_pool_id = kit::config::var("USER_POOL_ID")?;
    let required = crate::domain::confirming_services(&kit::config::var("ERASURE_CONFIRMED_BY")?);
    let required = &*Box::leak(required.into_boxed_slice());
    let adapters = &Lazy::new(move |conf| crate::accounts::adapters(conf, &table, &user_pool_id));
    telemetry
        .run(
            move |event: LambdaEvent<EventBridgeEvent<Value>>| async move {
                let (store, accounts) = adapters.get().await;
                let handled =
                    crate::erasure::handle(store, accounts, required, &event.payload).await;
                kit::telemetry::consumed_event(&event.payload, Consumed::of(&handled, |_| false));
                handled?;
                Ok::<(), lambda_runtime::Error>(())
            },
        )
        .await
}
