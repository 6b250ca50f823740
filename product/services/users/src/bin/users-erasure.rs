//! Lambda (async, from a bus rule): a service erased a deleted user; once
//! every one has, delete the person's sign-in (`users::erasure`).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use kit::config::Lazy;
use kit::signed::json_protocol::{COGNITO_IDP, JsonApi};
use kit::telemetry::Consumed;
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use users::accounts::Accounts;
use users::store::Store;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!());
    let table = kit::config::var("TABLE_NAME")?;
    let user_pool_id = kit::config::var("USER_POOL_ID")?;
    let required = users::domain::confirming_services(&kit::config::var("ERASURE_CONFIRMED_BY")?);
    let required = &*Box::leak(required.into_boxed_slice());
    let adapters = &Lazy::new(move |conf| {
        let store = Store::new(aws_sdk_dynamodb::Client::new(conf), table.clone());
        let accounts = Accounts {
            api: JsonApi::new(conf, COGNITO_IDP),
            user_pool_id: user_pool_id.clone(),
        };
        (store, accounts)
    });
    telemetry
        .run(
            move |event: LambdaEvent<EventBridgeEvent<Value>>| async move {
                let (store, accounts) = adapters.get().await;
                let handled =
                    users::erasure::handle(store, accounts, required, &event.payload).await;
                kit::telemetry::consumed_event(&event.payload, Consumed::of(&handled, |_| false));
                handled?;
                Ok::<(), lambda_runtime::Error>(())
            },
        )
        .await
}
