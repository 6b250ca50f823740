//! The emulator's STS and IAM, read as a tool reads AWS's: signed
//! query-protocol calls ([`crate::query_call`]) with the administrator's keys,
//! so no STS or IAM client is built for the few calls a function's start
//! needs: a session of its role, and the role's policies.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use devstack_iam::policy::NamedPolicy;
use kit::signed::Signer;

use crate::query_call::texts;

/// A role session's credentials, as STS's AssumeRole hands them out.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub key_id: String,
    pub secret: String,
    pub token: String,
}

pub use devstack_api::endpoints::ACCESS_ROLE;

/// `conf` (the local cloud's administrator's) acting as `account`'s
/// administrator, as an organisation's administrator reaches a member
/// account: by assuming the access role AWS Organizations makes there.
/// The engine acts in the role's account for every call signed with its
/// session.
pub async fn administrator(conf: &SdkConfig, account: &str) -> Result<SdkConfig> {
    let role = format!("arn:aws:iam::{account}:role/{ACCESS_ROLE}");
    let session = Query::new(conf)?
        .assume_role(&role, "administrator")
        .await
        .with_context(|| format!("reaching account {account}"))?;
    let credentials = aws_credential_types::Credentials::new(
        session.key_id,
        session.secret,
        Some(session.token),
        None,
        "organisation-access-role",
    );
    Ok(conf
        .to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
        )
        .build())
}

pub struct Query {
    iam: Signer,
    sts: Signer,
    url: String,
    http: kit::outbound::Client,
    /// AWS's managed policies by ARN: the same few serve every function's
    /// role (SAM attaches them), and AWS never changes one in place.
    aws_managed: std::sync::RwLock<std::collections::HashMap<String, NamedPolicy>>,
}

impl Query {
    pub fn new(conf: &SdkConfig) -> Result<Self> {
        let url = crate::query_call::url(conf)
            .context("the local cloud's configuration names the emulator")?;
        Ok(Self {
            iam: Signer::new(conf, "iam"),
            sts: Signer::new(conf, "sts"),
            url,
            http: kit::outbound::Client::for_aws(),
            aws_managed: Default::default(),
        })
    }

    async fn call(&self, signer: &Signer, params: &[(&str, &str)]) -> Result<String> {
        crate::query_call::post(signer, &self.http, &self.url, params).await
    }

    /// A session of `role_arn`, as Lambda takes one for a function.
    pub async fn assume_role(&self, role_arn: &str, session: &str) -> Result<Credentials> {
        let xml = self
            .call(
                &self.sts,
                &[
                    ("Action", "AssumeRole"),
                    ("Version", "2011-06-15"),
                    ("RoleArn", role_arn),
                    ("RoleSessionName", session),
                    ("DurationSeconds", "43200"),
                ],
            )
            .await
            .with_context(|| format!("assuming {role_arn}"))?;
        credentials_in(&xml)
    }

    /// One IAM query action with its parameters: the answer's XML.
    async fn iam(&self, action: &str, params: &[(&str, &str)]) -> Result<String> {
        let mut all = vec![("Action", action), ("Version", "2010-05-08")];
        all.extend_from_slice(params);
        self.call(&self.iam, &all).await
    }

    /// The role's trust policy: who may assume it.
    pub async fn role_trust(&self, role: &str) -> Result<NamedPolicy> {
        let xml = self.iam("GetRole", &[("RoleName", role)]).await?;
        let document = decoded(&first(&xml, "AssumeRolePolicyDocument")?);
        Ok(NamedPolicy::parse_trust(
            format!("trust policy of {role}"),
            &document,
        )?)
    }

    /// The role's identity policies: inline, then attached managed ones
    /// (their default version), each named for the verdicts.
    pub async fn role_policies(&self, role: &str) -> Result<Vec<NamedPolicy>> {
        let mut policies = Vec::new();
        let xml = self.iam("ListRolePolicies", &[("RoleName", role)]).await?;
        for name in texts(&xml, "member")? {
            let params = [("RoleName", role), ("PolicyName", name.as_str())];
            let xml = self.iam("GetRolePolicy", &params).await?;
            let document = decoded(&first(&xml, "PolicyDocument")?);
            policies.push(NamedPolicy::parse(
                format!("role policy {name}"),
                &document,
            )?);
        }
        let xml = self
            .iam("ListAttachedRolePolicies", &[("RoleName", role)])
            .await?;
        for arn in texts(&xml, "PolicyArn")? {
            policies.push(self.managed_policy(&arn).await?);
        }
        Ok(policies)
    }

    /// A managed policy's default version; an AWS one is read once.
    async fn managed_policy(&self, arn: &str) -> Result<NamedPolicy> {
        let aws_own = arn.starts_with("arn:aws:iam::aws:policy/");
        if aws_own
            && let Some(known) = self
                .aws_managed
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(arn)
        {
            return Ok(known.clone());
        }
        let xml = self.iam("GetPolicy", &[("PolicyArn", arn)]).await?;
        let version = first(&xml, "DefaultVersionId")?;
        let params = [("PolicyArn", arn), ("VersionId", version.as_str())];
        let xml = self.iam("GetPolicyVersion", &params).await?;
        let document = decoded(&first(&xml, "Document")?);
        let name = arn.rsplit('/').next().unwrap_or(arn);
        let policy = NamedPolicy::parse(format!("managed policy {name}"), &document)?;
        if aws_own {
            self.aws_managed
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(arn.to_owned(), policy.clone());
        }
        Ok(policy)
    }
}

/// The credentials an AssumeRole answer hands out.
pub fn credentials_in(xml: &str) -> Result<Credentials> {
    let one = |name: &str| -> Result<String> {
        texts(xml, name)?
            .into_iter()
            .next()
            .with_context(|| format!("AssumeRole's answer has no {name}"))
    };
    Ok(Credentials {
        key_id: one("AccessKeyId")?,
        secret: one("SecretAccessKey")?,
        token: one("SessionToken")?,
    })
}

fn first(xml: &str, name: &str) -> Result<String> {
    texts(xml, name)?
        .into_iter()
        .next()
        .with_context(|| format!("no {name} in {xml}"))
}

/// IAM hands policy documents out URL-encoded.
fn decoded(document: &str) -> String {
    if document.trim_start().starts_with('{') {
        return document.to_owned();
    }
    percent_encoding::percent_decode_str(document)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_found_at_any_depth_and_documents_decoded() {
        let xml = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult><Credentials>
    <SessionToken>FQoG/token</SessionToken><SecretAccessKey>s3cr3t</SecretAccessKey>
    <AccessKeyId>ASIAEXAMPLE</AccessKeyId></Credentials>
  </AssumeRoleResult></AssumeRoleResponse>"#;
        assert_eq!(texts(xml, "AccessKeyId").unwrap(), ["ASIAEXAMPLE"]);
        assert_eq!(texts(xml, "SessionToken").unwrap(), ["FQoG/token"]);
        assert!(texts(xml, "Nothing").unwrap().is_empty());
        assert_eq!(
            decoded("%7B%22Statement%22%3A%5B%5D%7D"),
            r#"{"Statement":[]}"#
        );
        assert_eq!(decoded(r#"{"Statement":[]}"#), r#"{"Statement":[]}"#);
    }
}
