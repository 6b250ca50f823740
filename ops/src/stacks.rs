//! Which commit each service runs: the `service` and `commit` tags every
//! deploy puts on its stack (`sam deploy --tags`, `devstack deploy`).

use anyhow::Result;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Deployed {
    pub stack: String,
    pub service: String,
    pub commit: String,
    pub status: String,
}

/// Every live stack that carries both tags, sorted by service.
pub async fn deployed(cf: &aws_sdk_cloudformation::Client) -> Result<Vec<Deployed>> {
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
            let tag = |key: &str| {
                stack
                    .tags()
                    .iter()
                    .find(|t| t.key() == Some(key))
                    .and_then(|t| t.value())
                    .map(str::to_owned)
            };
            if let (Some(service), Some(commit)) = (tag("service"), tag("commit")) {
                out.push(Deployed {
                    stack: stack.stack_name().unwrap_or_default().to_owned(),
                    service,
                    commit,
                    status,
                });
            }
        }
    }
    out.sort_by(|a, b| a.service.cmp(&b.service));
    Ok(out)
}
