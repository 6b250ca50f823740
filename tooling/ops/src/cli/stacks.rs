//! `ops stacks`: the deployed stacks and the commit each was built from.

use std::process::ExitCode;

use anyhow::Result;

use super::{Cli, sdk};

pub(super) async fn run(cli: &Cli) -> Result<ExitCode> {
    let cf = aws_sdk_cloudformation::Client::new(&sdk(cli).await?);
    let stacks = crate::stacks::deployed(&cf).await?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&stacks)?);
    } else {
        println!("{:<15} {:<20} {:<42} STATUS", "SERVICE", "STACK", "COMMIT");
        for s in stacks {
            println!(
                "{:<15} {:<20} {:<42} {}",
                s.service, s.stack, s.commit, s.status
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
