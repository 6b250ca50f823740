//! Which commit each service runs, and the contract it carries: the tags
//! every deploy puts on its stack (`sam deploy --tags`, `devstack deploy`).

use anyhow::{Context, Result};
use declarations::carried::{Carried, Stack};

/// Every live stack that carries the `service` and `commit` tags, sorted
/// by service.
pub async fn deployed(cf: &aws_sdk_cloudformation::Client) -> Result<Vec<Stack>> {
    let mut out = Vec::new();
    let mut pages = cf.describe_stacks().into_paginator().send();
    while let Some(page) = pages.next().await {
        for stack in page?.stacks() {
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
    }
    out.sort_by(|a, b| a.service.cmp(&b.service));
    Ok(out)
}
