//! Lambda (CodeDeploy's pre-traffic hook for the consumer): the new
//! version (`CONSUMER_VERSION`) handles every consumed example, or the
//! deployment fails (`notifications::pre_traffic`).

use aws_sdk_lambda::primitives::Blob;
use kit::signed::json_protocol::{CODEDEPLOY, JsonApi};
use lambda_runtime::LambdaEvent;
use notifications::pre_traffic::{Answer, HookEvent, deliveries, verdict};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!());
    let version = kit::config::var("CONSUMER_VERSION")?;
    let conf = kit::config::aws().await;
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let codedeploy = JsonApi::new(&conf, CODEDEPLOY);
    let (version, lambda, codedeploy) = (&version, &lambda, &codedeploy);
    telemetry
        .run(move |event: LambdaEvent<HookEvent>| async move {
            let hook = event.payload;
            let checked = check(lambda, version).await;
            let status = match &checked {
                Ok(()) => "Succeeded",
                Err(why) => {
                    tracing::warn!(version = %version, reason = %why, "the new version fails its examples");
                    "Failed"
                }
            };
            codedeploy
                .call(
                    "PutLifecycleEventHookExecutionStatus",
                    &serde_json::json!({
                        "deploymentId": hook.deployment_id,
                        "lifecycleEventHookExecutionId": hook.lifecycle_event_hook_execution_id,
                        "status": status,
                    }),
                )
                .await?;
            Ok::<_, lambda_runtime::Error>(serde_json::json!({"status": status}))
        })
        .await
}

/// Every consumed example handed to `version`, one at a time.
async fn check(lambda: &aws_sdk_lambda::Client, version: &str) -> Result<(), String> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let id = || uuid::Uuid::now_v7().to_string();
    let mut answers = Vec::new();
    for event in deliveries(id, &now)? {
        let out = lambda
            .invoke()
            .function_name(version)
            .payload(Blob::new(event.to_string()))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "invoking {version}: {}",
                    aws_sdk_lambda::error::DisplayErrorContext(e)
                )
            })?;
        answers.push(Answer {
            detail_type: event["detail-type"].as_str().unwrap_or_default().to_owned(),
            function_error: out.function_error().map(str::to_owned),
            payload: out
                .payload()
                .map(|p| String::from_utf8_lossy(p.as_ref()).into_owned())
                .unwrap_or_default(),
        });
    }
    verdict(&answers)
}
