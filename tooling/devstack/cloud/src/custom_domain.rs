//! The product's own domain, played locally: the stacks deploy with their
//! domain parameters set to `devstack.test` (unless the caller overrides
//! them), in a Route 53 hosted zone the local cloud makes first, as an
//! account has its zone before it deploys. The platform's API custom domain
//! and its mappings are the local gateway's one host: each service's API
//! is served at its base path there (`/users/...`), and the web app's
//! `config.json` names those URLs. Certificates and alias records deploy on
//! the emulator; nothing resolves the names (no DNS, no TLS locally).

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use serde_json::{Value, json};

use crate::deploy::Stack;

/// The local cloud's domain.
pub const LOCAL_DOMAIN: &str = "devstack.test";

/// The domain parameters every stack gets by default: the platform's and
/// the web stack's `DomainName`, each service's `ApiDomainName`.
pub fn parameters() -> Vec<(String, String)> {
    vec![
        ("DomainName".to_owned(), LOCAL_DOMAIN.to_owned()),
        ("ApiDomainName".to_owned(), format!("api.{LOCAL_DOMAIN}")),
    ]
}

/// The platform's template with `HostedZoneId` set to a zone made for its
/// `DomainName`, when the domain is set and the zone is not given.
pub async fn with_zone(conf: &SdkConfig, platform: Value) -> Result<Value> {
    let domain = platform["Parameters"]["DomainName"]["Default"]
        .as_str()
        .unwrap_or_default();
    let zone = platform["Parameters"]["HostedZoneId"]["Default"]
        .as_str()
        .unwrap_or_default();
    if domain.is_empty() || !zone.is_empty() {
        return Ok(platform);
    }
    let zone = hosted_zone(conf, domain).await?;
    Ok(devstack_template::adapt::with_parameters(
        platform,
        &[("HostedZoneId".to_owned(), zone)],
    ))
}

/// The id of a new hosted zone for `domain` (a stack of its own).
pub async fn hosted_zone(conf: &SdkConfig, domain: &str) -> Result<String> {
    let template = json!({
        "Resources": {"Zone": {"Type": "AWS::Route53::HostedZone", "Properties": {"Name": domain}}},
        "Outputs": {"ZoneId": {"Value": {"Ref": "Zone"}}},
    });
    let stack = format!("zone-{}", domain.replace('.', "-"));
    let deployed = crate::deploy::create_tagged(conf, &stack, &template, &[], &[]).await?;
    let id = deployed
        .outputs
        .get("ZoneId")
        .context("the zone stack's ZoneId")?;
    Ok(id.rsplit('/').next().unwrap_or(id).to_owned())
}

/// The web stack's domain parameters: the platform's domain and zone.
pub fn site_parameters(platform: &Value) -> Vec<(String, String)> {
    ["DomainName", "HostedZoneId"]
        .iter()
        .map(|p| {
            let value = platform["Parameters"][p]["Default"]
                .as_str()
                .unwrap_or_default();
            (p.to_string(), value.to_owned())
        })
        .collect()
}

/// Each service's API mappings, as the gateway serves them: base path →
/// the API's local id.
pub fn mappings(stacks: &[Stack]) -> Vec<(String, String)> {
    (stacks.iter())
        .flat_map(|(service, plan, ..)| {
            (plan.api_mappings.iter()).map(move |m| {
                (
                    m.key.clone(),
                    devstack_template::adapt::local_api_id(service, &m.api),
                )
            })
        })
        .collect()
}

/// A mapped service's `ApiUrl`, as its stack's output says it on AWS with
/// the domain set: the one host and the service's base path.
pub fn api_urls(endpoints: &mut devstack_api::Endpoints, stacks: &[Stack]) {
    let base = endpoints.api_base_url.clone();
    for (service, plan, ..) in stacks {
        if let (Some(m), Some(svc)) = (
            plan.api_mappings.first(),
            endpoints.services.get_mut(service),
        ) {
            svc.outputs
                .insert("ApiUrl".to_owned(), format!("{base}/{}", m.key));
        }
    }
}
