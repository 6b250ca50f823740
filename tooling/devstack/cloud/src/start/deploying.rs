//! A cloud's deploy when no kept state matches: the user pool, then the
//! platform stack, the service stacks together, the web stack, and what
//! the deploy made of the functions and roles, read once ([`Configured`]).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use devstack_template::adapt::adapt;
use repo::PLATFORM;
use serde_json::Value;

use super::configured::Configured;
use super::kept::Deploy;
use super::phases::Phases;
use crate::accounts::Accounts;
use crate::cognito;
use crate::deploy::{Stack, TAG_COMMIT, TAG_SERVICE, apply, borrowed, create_tagged, service_tags};

/// `platform`, the `services` and `web` templates deployed on the
/// emulator at `emulator_url`, each in its account.
pub(super) async fn deploy(
    accounts: &Accounts,
    emulator_url: &str,
    (platform, services, web): (Value, Vec<(&str, Value)>, Value),
    commit: &str,
    phases: &mut Phases,
) -> Result<Deploy> {
    let conf = accounts.platform();
    let platform = crate::custom_domain::with_zone(conf, platform).await?;
    let (pool, outputs) = deploy_platform(conf, emulator_url, &platform, commit, phases).await?;
    let bus_name = outputs.get("BusName").cloned().unwrap_or_default();
    phases.mark("platform stack");
    let services = services
        .into_iter()
        .map(|(s, t)| (s, from_the_platform(t, &outputs)))
        .collect();
    let stacks = deploy_services(accounts, services, commit).await?;
    for stack in &stacks {
        let conf = accounts.conf(&stack.0);
        crate::step_functions::make_machines_runnable(
            conf,
            emulator_url,
            std::slice::from_ref(stack),
        )
        .await?;
    }
    let configured = Configured::read(accounts, &stacks).await?;
    let site = crate::web::deploy_stack(conf, web, &platform, (&stacks, commit)).await?;
    Ok(Deploy {
        platform,
        pool,
        bus_name,
        stacks,
        configured,
        site,
    })
}

/// A service's template with the parameters it takes from the platform
/// (an export does not cross accounts), where no override gave them: the
/// platform's outputs of those names, as the deploy workflows pass them.
fn from_the_platform(template: Value, outputs: &BTreeMap<String, String>) -> Value {
    let given = |name: &str| !template["Parameters"][name]["Default"].is_null();
    let values: Vec<(String, String)> = (repo::FROM_THE_PLATFORM.into_iter())
        .filter(|name| !given(name))
        .filter_map(|name| Some((name.to_owned(), outputs.get(name)?.clone())))
        .collect();
    devstack_template::adapt::with_parameters(template, &values)
}

/// The user pool first (the platform exports its ids, which services
/// import), then the platform stack. Returns the pool and the platform's
/// outputs.
async fn deploy_platform(
    conf: &SdkConfig,
    emulator_url: &str,
    platform: &serde_json::Value,
    commit: &str,
    phases: &mut Phases,
) -> Result<(cognito::Pool, BTreeMap<String, String>)> {
    let (mut adapted, platform_plan) = adapt(PLATFORM, platform)?;
    let pool_plan = platform_plan
        .user_pools
        .first()
        .context("the platform has no user pool")?;
    let cognito =
        kit::signed::json_protocol::JsonApi::new(conf, kit::signed::json_protocol::COGNITO_IDP);
    let pool = cognito::create(
        &cognito,
        emulator_url,
        (
            &format!("{PLATFORM}-{}", pool_plan.pool),
            &pool_plan.pool_properties["AutoVerifiedAttributes"],
        ),
        &pool_plan.groups,
        &pool_plan.triggers,
    )
    .await?;
    devstack_template::adapt::bind_user_pool(
        &mut adapted,
        pool_plan,
        &pool.user_pool_id,
        &pool.client_id,
    );
    phases.mark("user pool");
    let deployed = create_tagged(
        conf,
        PLATFORM,
        &adapted,
        &[],
        &[(TAG_SERVICE, PLATFORM), (TAG_COMMIT, commit)],
    )
    .await?;
    let mut pool = pool;
    if let Some(plan) = platform_plan.identity_pools.first() {
        let role = deployed.physical(&plan.authenticated_role)?;
        pool.identity = Some(cognito::IdentityPool {
            id: plan.id.clone(),
            role_arn: format!("arn:aws:iam::{}:role/{role}", kit::config::LOCAL_ACCOUNT),
            tags: plan.principal_tags.clone(),
            server_side_token_check: plan.server_side_token_check,
        });
    }
    Ok((pool, deployed.outputs))
}

/// The service stacks take only the platform's outputs, so they deploy
/// together, each in its team's account.
async fn deploy_services(
    accounts: &Accounts,
    services: Vec<(&str, serde_json::Value)>,
    commit: &str,
) -> Result<Vec<Stack>> {
    let deploying = services.into_iter().map(|(service, template)| async move {
        let conf = accounts.conf(service);
        let (adapted, plan) = adapt(service, &template)?;
        crate::custom_domain::mapped_in_its_account(service, &plan, accounts.account(service))?;
        let tags = service_tags(service, commit)?;
        let deployed = create_tagged(conf, service, &adapted, &[], &borrowed(&tags)).await?;
        apply(conf, &plan, &deployed).await?;
        tracing::info!(target: "trail", stack = %service, functions = plan.functions.len(), "deployed");
        anyhow::Ok((service.to_string(), plan, deployed, adapted))
    });
    futures_util::future::try_join_all(deploying).await
}
