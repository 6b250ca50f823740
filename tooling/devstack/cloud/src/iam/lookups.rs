//! What the judge reads to judge by, once per deploy: each account's
//! IAM (a role's policies and trust), the rules' creators, the secrets'
//! ARNs and the APIs its gates serve.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};

use anyhow::Result;
use devstack_iam::actions::{Names, Place};
use devstack_iam::policy::NamedPolicy;
use devstack_iam::sigv4::Arrived;
use kit::signed::json_protocol::{JsonApi, SECRETS_MANAGER};

use super::{InAccount, Judge, administrator, reads};

impl Judge {
    /// The CORS rules of `bucket`, read once per deploy.
    pub async fn bucket_cors(&self, bucket: &str) -> Vec<devstack_iam::cors::Rule> {
        self.resources
            .of(&format!("arn:aws:s3:::{bucket}"))
            .await
            .cors
            .clone()
    }

    /// The account that created the rule a rule operation names
    /// (DescribeRule's `CreatedBy`, read as the local cloud's
    /// administrator); none for any other request or a rule not made yet.
    pub(super) async fn rule_creator(
        &self,
        request: &Arrived<'_>,
        place: &Place,
    ) -> Option<String> {
        // Only a rule's operation names one: a PutEvents, on every
        // publisher's path, is not parsed again.
        let operation = request.header("x-amz-target")?.rsplit('.').next()?;
        if !devstack_iam::actions::RULE_OPERATIONS.contains(&operation) {
            return None;
        }
        let body: serde_json::Value = serde_json::from_slice(request.body).ok()?;
        let name = body["Name"].as_str().or(body["Rule"].as_str())?;
        let bus = body["EventBusName"].as_str().unwrap_or("default");
        let bus = match bus.starts_with("arn:") {
            true => bus.to_owned(),
            false => format!(
                "arn:aws:events:{}:{}:event-bus/{bus}",
                place.region, place.account
            ),
        };
        let described = self
            .events
            .call(
                "DescribeRule",
                &serde_json::json!({"Name": name, "EventBusName": bus}),
            )
            .await
            .ok()?;
        described["CreatedBy"].as_str().map(str::to_owned)
    }

    /// `account`'s IAM, STS and secrets: the administrator's own, or
    /// another account's, reached as an organisation's administrator
    /// reaches it.
    pub(super) async fn in_account(&self, account: &str) -> Result<Arc<InAccount>> {
        if let Some(known) = self
            .elsewhere
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(account)
        {
            return Ok(known.clone());
        }
        let conf = match account == self.place.account {
            true => self.conf.clone(),
            false => administrator(&self.conf, account).await?,
        };
        let reached = Arc::new(InAccount {
            query: reads::Query::new(&conf)?,
            secrets: JsonApi::new(&conf, SECRETS_MANAGER),
        });
        self.elsewhere
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account.to_owned(), reached.clone());
        Ok(reached)
    }

    /// A deploy may have changed the resources' policies (and made a
    /// secret anew, with a new ARN).
    pub fn forget_resources(&self) {
        self.resources.forget();
        self.secret_arns
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.role_policies
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.role_trusts
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// A target's role's trust policy, as EventBridge assumes the role,
    /// read from its account's IAM once per deploy.
    pub(super) async fn trust_of(&self, role_arn: &str) -> anyhow::Result<Arc<NamedPolicy>> {
        self.role_read(&self.role_trusts, role_arn, |at, role| async move {
            at.query.role_trust(&role).await
        })
        .await
    }

    /// A role's policies, read from its account's IAM once per deploy
    /// (a failed read is not kept).
    pub(super) async fn policies_of(
        &self,
        role_arn: &str,
    ) -> Result<Arc<Vec<NamedPolicy>>, String> {
        self.role_read(&self.role_policies, role_arn, |at, role| async move {
            at.query.role_policies(&role).await
        })
        .await
        .map_err(|e| format!("reading the policies of {role_arn}: {e:#}"))
    }

    /// What `read` makes of `role_arn` (given its account's reads and the
    /// role's name), kept in `cache` until the next deploy; a failed read
    /// is not kept.
    async fn role_read<T, Read, Reading>(
        &self,
        cache: &RwLock<HashMap<String, Arc<T>>>,
        role_arn: &str,
        read: Read,
    ) -> Result<Arc<T>>
    where
        Read: FnOnce(Arc<InAccount>, String) -> Reading,
        Reading: Future<Output = Result<T>>,
    {
        let known = (cache.read())
            .unwrap_or_else(|e| e.into_inner())
            .get(role_arn)
            .cloned();
        if let Some(known) = known {
            return Ok(known);
        }
        let account = role_arn.split(':').nth(4).unwrap_or_default();
        let role = role_arn.rsplit('/').next().unwrap_or(role_arn).to_owned();
        let read = Arc::new(read(self.in_account(account).await?, role).await?);
        (cache.write())
            .unwrap_or_else(|e| e.into_inner())
            .insert(role_arn.to_owned(), read.clone());
        Ok(read)
    }

    /// What a call names that only the local cloud can turn into an ARN:
    /// a secret by its name, an API by its gate's address.
    pub(super) async fn names(&self, service: &str, request: &Arrived<'_>, place: &Place) -> Known {
        let mut known = Known::default();
        if service == "events" {
            known.rule_creator = self.rule_creator(request, place).await;
            return known;
        }
        if service == "execute-api" {
            let host = request.header("host").unwrap_or_default();
            let api = self
                .api_hosts
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(host)
                .cloned();
            known.api = api.map(|id| (host.to_owned(), id));
        }
        if service != "secretsmanager" {
            return known;
        }
        let body: serde_json::Value = serde_json::from_slice(request.body).unwrap_or_default();
        let Some(id) = body["SecretId"]
            .as_str()
            .filter(|id| !id.starts_with("arn:"))
        else {
            return known;
        };
        if let Some(arn) = self.secret_arn_in(&place.account, id).await {
            known.secrets.insert(id.to_owned(), arn);
        }
        known
    }

    /// The ARN of the secret named `id` in `account`, where the caller's
    /// name for it is read.
    pub(super) async fn secret_arn_in(&self, account: &str, id: &str) -> Option<String> {
        let key = format!("{account}/{id}");
        let cached = (self.secret_arns.read())
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        if cached.is_some() {
            return cached;
        }
        let described = (self.in_account(account).await.ok()?.secrets)
            .call("DescribeSecret", &serde_json::json!({"SecretId": id}))
            .await
            .ok()?;
        let arn = described["ARN"].as_str()?.to_owned();
        (self.secret_arns.write())
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, arn.clone());
        Some(arn)
    }
}

/// What only the local cloud can name: secrets' ARNs, and the APIs its
/// gates serve.
#[derive(Default)]
pub(super) struct Known {
    secrets: HashMap<String, String>,
    api: Option<(String, String)>,
    /// The account that created the rule the request names, if it exists.
    rule_creator: Option<String>,
}

impl Names for Known {
    fn secret_arn(&self, name: &str) -> Option<String> {
        self.secrets.get(name).cloned()
    }
    fn api_id(&self, host: &str) -> Option<String> {
        self.api
            .as_ref()
            .filter(|(h, _)| h == host)
            .map(|(_, id)| id.clone())
    }
    fn rule_creator(&self, _rule_arn: &str) -> Option<String> {
        self.rule_creator.clone()
    }
}
