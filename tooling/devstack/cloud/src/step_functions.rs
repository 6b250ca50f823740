//! Step Functions in the local cloud: the state machines the stacks
//! created, made runnable on moto's interpreter (`devstack_sfn`), and
//! executions found by name for `devstack executions`.

use anyhow::{Context, Result};

/// The executions a campaign (or any execution name) has, by ARN, on the
/// running local cloud's state machines; an ARN is taken as given.
pub async fn executions_named(
    endpoints: &devstack_api::Endpoints,
    name: &str,
) -> Result<Vec<String>> {
    if name.starts_with("arn:") {
        return Ok(vec![name.to_owned()]);
    }
    // Each account once, as the first stack it holds names it.
    let mut found = Vec::new();
    for holders in endpoints.accounts().values() {
        let conf = ops::targets::administrator(endpoints, holders[0]).await;
        found.extend(named_in(&aws_sdk_sfn::Client::new(&conf), name).await?);
    }
    Ok(found)
}

/// The executions named `name` of the state machines `sfn`'s account
/// holds.
async fn named_in(sfn: &aws_sdk_sfn::Client, name: &str) -> Result<Vec<String>> {
    let machines = sfn
        .list_state_machines()
        .send()
        .await
        .context("listing state machines")?;
    let mut found = Vec::new();
    for m in machines.state_machines() {
        let arn = m
            .state_machine_arn()
            .replace(":stateMachine:", ":execution:")
            + ":"
            + name;
        if sfn
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .is_ok()
        {
            found.push(arn);
        }
    }
    Ok(found)
}

/// The state machines the stacks created, on moto's interpreter (moto's
/// CloudFormation leaves them where executions never run; see
/// `devstack_sfn::machines`), before anything can start an execution.
pub(crate) async fn make_machines_runnable(
    conf: &aws_config::SdkConfig,
    moto_url: &str,
    stacks: &[crate::deploy::Stack],
) -> Result<()> {
    let mut arns = Vec::new();
    for (_, plan, deployed, _) in stacks {
        for machine in &plan.state_machines {
            arns.push(deployed.physical(&machine.logical_id)?.to_owned());
        }
    }
    if arns.is_empty() {
        return Ok(());
    }
    let sfn = aws_sdk_sfn::Client::new(conf);
    let runnable = devstack_sfn::machines::make_runnable(&sfn, moto_url, &arns).await?;
    for m in runnable {
        tracing::info!(target: "trail", machine = %m.name, "state machine runnable");
    }
    Ok(())
}
