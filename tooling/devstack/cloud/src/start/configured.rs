//! What a deploy made of the functions, read once right after it: each
//! function's record (GetFunctionConfiguration) and each role's policies.
//! A cloud that deploys reads them before its state is kept; the kept
//! state carries them, so a cloud forked from it reads nothing of the
//! kind (those reads were most of such a cloud's start). A redeploy
//! changes them, so it reads its own.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use devstack_iam::policy::NamedPolicy;
use devstack_lambda::spec::Record;
use serde::{Deserialize, Serialize};

use crate::accounts::Accounts;
use crate::deploy::Stack;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Configured {
    /// By physical name.
    functions: BTreeMap<String, Record>,
    /// By role ARN: its identity policies.
    roles: BTreeMap<String, Vec<NamedPolicy>>,
}

impl Configured {
    /// Every function of `stacks`, then every role they run as.
    /// Each read in the stack's account.
    pub(super) async fn read(accounts: &Accounts, stacks: &[Stack]) -> Result<Configured> {
        let mut configured = Configured::default();
        for (service, plan, deployed, _) in stacks {
            let conf = accounts.conf(service);
            let iam = crate::iam::reads::Query::new(conf)?;
            for f in &plan.functions {
                let physical = deployed.physical(&f.logical_id)?;
                let record = Record::read(conf, physical).await?;
                if !configured.roles.contains_key(&record.role) {
                    let role = record.role.rsplit('/').next().unwrap_or(&record.role);
                    let policies = (iam.role_policies(role).await)
                        .with_context(|| format!("reading the policies of {}", record.role))?;
                    configured.roles.insert(record.role.clone(), policies);
                }
                configured.functions.insert(physical.to_owned(), record);
            }
        }
        Ok(configured)
    }

    pub(super) fn function(&self, physical: &str) -> Result<&Record> {
        (self.functions.get(physical))
            .with_context(|| format!("no record of the deployed function {physical}"))
    }

    /// `role_arn`'s policies as deployed.
    pub(super) fn policies(&self, role_arn: &str) -> Result<Vec<NamedPolicy>> {
        (self.roles.get(role_arn).cloned())
            .with_context(|| format!("no record of the deployed role {role_arn}"))
    }
}
