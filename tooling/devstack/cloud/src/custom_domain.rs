//! The product's own domain, played locally: the stacks deploy with their
//! domain parameters set to `devstack.test` (unless the caller overrides
//! them), in a Route 53 hosted zone the local cloud makes first, as an
//! account has its zone before it deploys. The platform's API custom domain
//! and its mappings are the local gateway's one host: each API of the
//! platform's account is served at its base path there (`/users/...`), an
//! API of another account at its own paths, and the web app's
//! `config.json` names those URLs. Certificates and alias records deploy on
//! the emulator; nothing resolves the names (no DNS, no TLS locally).

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use devstack_template::adapt::Plan;
use serde_json::{Value, json};

use crate::deploy::Stack;

/// The local cloud's domain.
pub const LOCAL_DOMAIN: &str = "devstack.test";

/// A service's parameter naming the platform's API host, where it maps
/// its API.
pub const API_DOMAIN_PARAMETER: &str = "ApiDomainName";

/// The domain parameters every stack gets by default: the platform's and
/// the web stack's `DomainName`, each service's `ApiDomainName`.
pub fn parameters() -> Vec<(String, String)> {
    vec![
        ("DomainName".to_owned(), LOCAL_DOMAIN.to_owned()),
        (
            API_DOMAIN_PARAMETER.to_owned(),
            format!("api.{LOCAL_DOMAIN}"),
        ),
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

/// Each service's `ApiUrl`, as its stack's output says it on AWS: a
/// mapped API at the one host under its base path, any other at its own
/// address (locally the gateway's, where every API answers at its own
/// paths; the output naming the API's AWS address is not deployed, as
/// the gateway, not the emulator, plays the API).
pub fn api_urls(endpoints: &mut devstack_api::Endpoints, stacks: &[Stack]) {
    let base = endpoints.api_base_url.clone();
    for (service, plan, ..) in stacks {
        let Some(svc) = endpoints.services.get_mut(service) else {
            continue;
        };
        if plan.routes.is_empty() {
            continue;
        }
        let url = match plan.api_mappings.first() {
            Some(m) => format!("{base}/{}", m.key),
            None => base.clone(),
        };
        svc.outputs.insert("ApiUrl".to_owned(), url);
    }
}

/// API Gateway maps only APIs of the custom domain's own account, and the
/// domain is the platform's: a stack in another account that maps its API
/// there fails as CloudFormation fails it, the domain not found in the
/// stack's account.
pub fn mapped_in_its_account(service: &str, plan: &Plan, account: &str) -> Result<()> {
    match plan.api_mappings.first() {
        Some(m) if account != kit::config::LOCAL_ACCOUNT => bail!(
            "stack {service}: its API mapping (base path {}) failed: NotFoundException: Invalid domain name identifier specified. The custom domain is the platform's, in account {}, and API Gateway maps only APIs of the domain's own account: a team in account {account} leaves ApiDomainName empty, and its API answers at its own ApiUrl",
            m.key,
            kit::config::LOCAL_ACCOUNT,
        ),
        _ => Ok(()),
    }
}
