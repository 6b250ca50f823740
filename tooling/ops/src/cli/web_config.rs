//! `ops web-config`: the web app's config.json for the deployed stacks.

use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{Cli, sdk};

/// The outputs are read in every account a team's stack may be in
/// ([`super::every_account`]): the platform's, and each team's.
pub(super) async fn run(cli: &Cli, platform: &str) -> Result<ExitCode> {
    let conf = sdk(cli).await?;
    let region = conf.region().map(|r| r.to_string()).unwrap_or_default();
    let mut outputs = crate::web_config::Outputs::new();
    for (whose, reached) in super::every_account(cli, &conf).await? {
        let cf = aws_sdk_cloudformation::Client::new(&reached);
        let found = (crate::web_config::outputs(&cf).await)
            .with_context(|| format!("reading the stacks of {whose} account"))?;
        outputs.extend(found);
    }
    let config = crate::web_config::config(&region, platform, repo::SERVICES, &outputs)?;
    println!("{}", serde_json::to_string_pretty(&config)?);
    Ok(ExitCode::SUCCESS)
}
