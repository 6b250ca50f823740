//! Lambda: the user pool's triggers (PreSignUp, PostConfirmation,
//! PostAuthentication), invoked by Cognito during a sign-up or sign-in
//! (`crate::identity`).

use kit::config::Lazy;
use lambda_runtime::LambdaEvent;
use tracing::Instrument;

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("identity"));
    let table = kit::config::var("TABLE_NAME")?;
    // Empty refuses no domain.
    let refused = std::env::var("REFUSED_EMAIL_DOMAINS").unwrap_or_default();
    let refused = &*Box::leak(crate::domain::refused_domains(&refused).into_boxed_slice());
    let user_pool_id = kit::config::var("USER_POOL_ID")?;
    let adapters = &Lazy::new(move |conf| crate::accounts::adapters(conf, &table, &user_pool_id));
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
            let (store, accounts) = adapters.get().await;
            crate::identity::handle((store, accounts), refused, event.payload, &correlation_id)
                .instrument(span)
                .await
        })
        .await
}
