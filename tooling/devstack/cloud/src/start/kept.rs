//! Deployed state kept for the next cloud of the same templates: right
//! after a deploy, before any function runs, the emulator is asked to
//! keep its state under the templates' key (a copy of its process that
//! serves forks, beside the engine). A later cloud whose key matches is
//! a fork of that copy, with every stack, the user pool and the zone
//! already there, and reads from [`Kept`] what the deploy would have
//! told it, and what the deploying cloud read of its functions and roles
//! ([`Configured`]). The web stack is in it too; only the files the site
//! bucket serves are put there by each cloud. A changed template, parameter, stack choice or commit is
//! another key, and deploys afresh.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use devstack_template::adapt::adapt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::configured::Configured;
use crate::cognito;
use crate::deploy::{Deployed, Stack};
use crate::web::Site;

/// The sender's URL as deployed: the stand-in's port is this cloud's
/// own, so functions get the real one through the substitutions.
pub(crate) const SENDER_PLACEHOLDER: &str = "http://sender.devstack.invalid";
/// The web app's origin as deployed (a bucket's CORS rule), replaced by
/// this cloud's own origin after the deploy ([`place_web_origin`]).
pub(crate) const WEB_ORIGIN_PLACEHOLDER: &str = "http://web.devstack.invalid";

/// What a deploy told the local cloud, beyond what is in the emulator.
#[derive(Debug, Serialize, Deserialize)]
struct Kept {
    /// The platform's template with its zone (a parameter the deploy set).
    platform: Value,
    user_pool_id: String,
    client_id: String,
    triggers: BTreeMap<String, String>,
    #[serde(default)]
    identity: Option<cognito::IdentityPool>,
    bus_name: String,
    stacks: BTreeMap<String, Deployed>,
    configured: Configured,
    site: Site,
}

/// What the start goes on with after a deploy, or after a fork of a kept
/// state.
pub(super) struct Deploy {
    /// The platform's template with its zone.
    pub platform: Value,
    pub pool: cognito::Pool,
    pub bus_name: String,
    pub stacks: Vec<Stack>,
    pub configured: Configured,
    pub site: Site,
}

/// Asks the emulator at `url` to keep its state under `key`.
pub(super) async fn keep(url: &str, key: &str, deploy: &Deploy) -> Result<()> {
    let kept = Kept {
        platform: deploy.platform.clone(),
        user_pool_id: deploy.pool.user_pool_id.clone(),
        client_id: deploy.pool.client_id.clone(),
        triggers: deploy.pool.triggers.clone(),
        identity: deploy.pool.identity.clone(),
        bus_name: deploy.bus_name.clone(),
        stacks: (deploy.stacks.iter())
            .map(|(service, _, deployed, _)| (service.clone(), deployed.clone()))
            .collect(),
        configured: deploy.configured.clone(),
        site: deploy.site.clone(),
    };
    let body = devstack_emulator::keep_body(key, &serde_json::to_value(&kept)?)
        .map_err(anyhow::Error::msg)?;
    let answer = reqwest::Client::builder()
        .no_proxy()
        .build()?
        .post(format!("{}/devstack/keep", url.trim_end_matches('/')))
        .json(&body)
        .send()
        .await
        .context("keeping the deployed state")?;
    anyhow::ensure!(
        answer.status().is_success(),
        "keeping the deployed state: the emulator answered {}",
        answer.status()
    );
    // The copy renames its socket into place once it listens; the next
    // cloud, started right after this one, looks for it.
    let socket = devstack_emulator::kept_socket(key).map_err(anyhow::Error::msg)?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !socket.exists() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    tracing::info!(target: "trail", key, "deployed state kept for the next cloud of these templates");
    Ok(())
}

/// What the deploy would have returned, for an emulator forked from a
/// kept state: the plans from the templates (as a deploy makes them), the
/// rest from [`Kept`].
pub(super) fn restore(
    state: Value,
    emulator_url: &str,
    services: Vec<(&str, Value)>,
) -> Result<Deploy> {
    let mut kept: Kept = serde_json::from_value(state).context("the kept state's record")?;
    let mut stacks = Vec::with_capacity(services.len());
    for (service, template) in services {
        let (adapted, plan) = adapt(service, &template)?;
        let deployed = (kept.stacks.remove(service))
            .with_context(|| format!("the kept state has no stack {service}"))?;
        stacks.push((service.to_owned(), plan, deployed, adapted));
    }
    let mut pool = cognito::Pool::on(
        emulator_url,
        kept.user_pool_id,
        kept.client_id,
        kept.triggers,
    );
    pool.identity = kept.identity;
    Ok(Deploy {
        platform: kept.platform,
        pool,
        bus_name: kept.bus_name,
        stacks,
        configured: kept.configured,
        site: kept.site,
    })
}

/// This cloud's web origin where the deploy put the placeholder: every
/// bucket's CORS rule that names it.
pub(super) async fn place_web_origin(
    accounts: &crate::accounts::Accounts,
    stacks: &[Stack],
    origin: &str,
) -> Result<()> {
    for (service, _, deployed, adapted) in stacks {
        let s3 = crate::deploy::path_style_s3(accounts.conf(service));
        let buckets = (adapted["Resources"].as_object().into_iter().flatten())
            .filter(|(_, r)| r["Properties"]["CorsConfiguration"].is_object())
            .map(|(logical, _)| logical);
        for logical in buckets {
            let bucket = deployed.physical(logical)?;
            let cors = s3.get_bucket_cors().bucket(bucket).send().await;
            let Ok(cors) = cors else { continue };
            let mut rules = cors.cors_rules.unwrap_or_default();
            let mut placed = false;
            for rule in &mut rules {
                for o in &mut rule.allowed_origins {
                    if o == WEB_ORIGIN_PLACEHOLDER {
                        *o = origin.to_owned();
                        placed = true;
                    }
                }
            }
            if !placed {
                continue;
            }
            let configuration = aws_sdk_s3::types::CorsConfiguration::builder()
                .set_cors_rules(Some(rules))
                .build()?;
            s3.put_bucket_cors()
                .bucket(bucket)
                .cors_configuration(configuration)
                .send()
                .await
                .with_context(|| format!("{service}: {bucket}'s CORS rule for {origin}"))?;
        }
    }
    Ok(())
}
