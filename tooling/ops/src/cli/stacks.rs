//! `ops stacks`: the deployed stacks, the commit each service runs and
//! the contract it carries, read from the tags every deploy puts on its
//! stack (`sam deploy --tags`, `devstack deploy`).

use std::process::ExitCode;

use anyhow::{Context, Result};
use declarations::carried::{Carried, Stack};

use super::Cli;

/// The stacks of the caller's own account, then of each account a
/// `--role` reaches, and on the local cloud each team's own account: a
/// team's stack is found in its team's account.
pub(super) async fn run(cli: &Cli) -> Result<ExitCode> {
    let mut stacks = Vec::new();
    for (whose, reached) in super::every_account(cli).await? {
        let cf = aws_sdk_cloudformation::Client::new(&reached);
        let found = deployed(&cf)
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

/// Every live stack that carries the `service` and `commit` tags.
pub async fn deployed(cf: &aws_sdk_cloudformation::Client) -> Result<Vec<Stack>> {
    let mut out = Vec::new();
    for stack in crate::targets::every_stack(cf).await? {
        let status = stack
            .stack_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        if status == "DELETE_COMPLETE" {
            continue;
        }
        let tags: Vec<(&str, &str)> = (stack.tags().iter())
            .filter_map(|t| Some((t.key()?, t.value()?)))
            .collect();
        let tag = |key: &str| tags.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        let name = stack.stack_name().unwrap_or_default();
        if let (Some(service), Some(commit)) = (tag("service"), tag("commit")) {
            out.push(Stack {
                stack: name.to_owned(),
                service: service.to_owned(),
                commit: commit.to_owned(),
                status,
                carries: Carried::from_tags(tags.iter().copied())
                    .with_context(|| format!("stack {name}'s contract tags"))?,
            });
        }
    }
    Ok(out)
}
