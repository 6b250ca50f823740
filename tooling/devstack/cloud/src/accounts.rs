//! The accounts the local cloud plays besides its own, as an
//! organisation's administrator reaches them: by assuming the access role
//! AWS Organizations makes in each member account. The engine acts in the
//! role's account for every call signed with its session.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

/// The role an organisation's management account assumes in a member
/// account.
pub const ACCESS_ROLE: &str = "OrganizationAccountAccessRole";

/// `conf` (the local cloud's administrator's) acting as `account`'s
/// administrator.
pub async fn administrator(conf: &SdkConfig, account: &str) -> Result<SdkConfig> {
    let role = format!("arn:aws:iam::{account}:role/{ACCESS_ROLE}");
    let session = crate::iam::reads::Query::new(conf)?
        .assume_role(&role, "administrator")
        .await
        .with_context(|| format!("reaching account {account}"))?;
    let credentials = Credentials::new(
        session.key_id,
        session.secret,
        Some(session.token),
        None,
        "organisation-access-role",
    );
    Ok(conf
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build())
}
