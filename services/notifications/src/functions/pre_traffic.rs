//! Lambda (CodeDeploy's pre-traffic hooks for the consumer and the HTTP API): the
//! new version named by the template (`CONSUMER_VERSION` or `API_VERSION`)
//! handles the committed example of every event it consumes, or answers a
//! request per route in `API_ROUTES` as the contract declares, or the
//! deployment fails (`kit::hook`).

use kit::hook::Hooked;

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("pre-traffic"));
    let hooked = Hooked {
        consumed: crate::handlers::CONSUMED,
        api: crate::openapi::api,
        read_groups: &[],
    };
    kit::hook::serve(telemetry, hooked).await
}
