//! `ops web-config`: the web app's config.json for the deployed stacks.

use std::process::ExitCode;

use anyhow::Result;

use super::{Cli, sdk};

pub(super) async fn run(cli: &Cli, platform: &str) -> Result<ExitCode> {
    let conf = sdk(cli).await?;
    let region = conf.region().map(|r| r.to_string()).unwrap_or_default();
    let cf = aws_sdk_cloudformation::Client::new(&conf);
    let outputs = crate::web_config::outputs(&cf).await?;
    let config = crate::web_config::config(&region, platform, repo::SERVICES, &outputs)?;
    println!("{}", serde_json::to_string_pretty(&config)?);
    Ok(ExitCode::SUCCESS)
}
