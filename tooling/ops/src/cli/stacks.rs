//! `ops stacks`: the deployed stacks and the commit each was built from.

use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{Cli, sdk};

/// The stacks of the caller's own account, then of each account a
/// `--role` reaches, and on the local cloud each team's own account: a
/// team's stack is found in its team's account.
pub(super) async fn run(cli: &Cli) -> Result<ExitCode> {
    let conf = sdk(cli).await?;
    let mut stacks = Vec::new();
    for (whose, reached) in super::every_account(cli, &conf).await? {
        let cf = aws_sdk_cloudformation::Client::new(&reached);
        let found = crate::stacks::deployed(&cf)
            .await
            .with_context(|| format!("reading the stacks of {whose} account"))?;
        stacks.extend(found);
    }
    // One account may be reached twice (a sandbox names itself).
    stacks
        .sort_by(|a, b| (&a.service, &a.stack, &a.commit).cmp(&(&b.service, &b.stack, &b.commit)));
    stacks.dedup_by(|a, b| a.stack == b.stack && a.service == b.service && a.commit == b.commit);
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
