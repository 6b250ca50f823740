//! Lambda: the user pool's triggers (PreSignUp, PostConfirmation), invoked
//! by Cognito during a sign-up (`users::identity`).

use kit::config::Lazy;
use lambda_runtime::LambdaEvent;
use tracing::Instrument;
use users::store::Store;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!());
    let table = kit::config::var("TABLE_NAME")?;
    // Empty refuses no domain.
    let refused = std::env::var("REFUSED_EMAIL_DOMAINS").unwrap_or_default();
    let refused = &*Box::leak(users::domain::refused_domains(&refused).into_boxed_slice());
    let store =
        &Lazy::new(move |conf| Store::new(aws_sdk_dynamodb::Client::new(conf), table.clone()));
    telemetry
        .run(move |event: LambdaEvent<serde_json::Value>| async move {
            // A client may bring its correlation id in the call's
            // ClientMetadata (Cognito hands it to the trigger); otherwise
            // the invocation's request id becomes the registration's.
            let given = event.payload["request"]["clientMetadata"]["correlation_id"].as_str();
            let correlation_id =
                kit::http_api::correlation_id(given, Some(&event.context.request_id))
                    .unwrap_or_default();
            let span = tracing::info_span!("trigger", correlation_id = %correlation_id);
            let store = store.get().await;
            users::identity::handle(store, refused, event.payload, &correlation_id)
                .instrument(span)
                .await
        })
        .await
}
