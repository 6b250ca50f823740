//! Lambda: the campaigns table's stream → CloudFront invalidations of the
//! campaign pages a change made stale (`crate::page_cache`).

use crate::page_cache::{Site, invalidate};
use aws_lambda_events::dynamodb::Event;
use kit::config::Lazy;
use kit::signed::cloudfront::Invalidations;
use kit::signed::json_protocol::{JsonApi, SSM};
use lambda_runtime::LambdaEvent;

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("page-cache"));
    let parameter = kit::config::var("DISTRIBUTION_ID_PARAMETER")?;
    let parameter = parameter.as_str();
    // The distribution is the web stack's: in another account (the
    // platform's), reached through the role it lets this function assume.
    let site_role = std::env::var("SITE_ROLE_ARN")
        .ok()
        .filter(|r| !r.is_empty());
    let clients = &Lazy::new(|conf| (Invalidations::new(conf), JsonApi::new(conf, SSM)))
        .as_role(site_role, "campaigns-page-cache");
    telemetry
        .run(move |event: LambdaEvent<Event>| async move {
            let (cdn, ssm) = clients.get().await;
            let site = Site { ssm, parameter };
            invalidate(&event.payload.records, cdn, site)
                .await
                .map_err(lambda_runtime::Error::from)
        })
        .await
}
