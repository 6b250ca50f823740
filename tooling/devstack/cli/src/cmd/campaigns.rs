//! The campaigns: a run (`campaign`) and an execution's history
//! (`executions`).

use std::path::Path;

use anyhow::Result;
use devstack::cli::CampaignArgs;

use super::{read_endpoints, seconds};
use crate::Unaccounted;

pub(crate) async fn campaign(args: CampaignArgs, endpoints_file: &Path, json: bool) -> Result<()> {
    let e = read_endpoints(endpoints_file)?;
    devstack_client::walkthrough::token_for(&e, &args.admin).await?;
    devstack_cloud::cognito::join_group(&e, &args.admin, "admins").await?;
    let config = devstack_client::campaigns::Config {
        recipients: args.recipients,
        concurrency: args.concurrency,
        within: seconds("within", args.within)?,
    };
    let report = devstack_client::campaigns::run(&e, &args.admin, &config).await?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", devstack_client::campaigns::render(&report));
    }
    if report.missing + report.duplicated > 0 {
        return Err(Unaccounted.into());
    }
    Ok(())
}

pub(crate) async fn executions(endpoints_file: &Path, id: &str) -> Result<()> {
    let e = read_endpoints(endpoints_file)?;
    let arns = devstack_cloud::step_functions::executions_named(&e, id).await?;
    if arns.is_empty() {
        anyhow::bail!("no execution named {id} on this local cloud's state machines");
    }
    for arn in arns {
        let execution = devstack_sfn::history::fetch(&e.emulator_url, &arn).await?;
        println!("{}", devstack_sfn::render::render(&execution));
    }
    Ok(())
}
