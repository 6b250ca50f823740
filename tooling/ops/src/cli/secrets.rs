//! `ops secrets`: store a secret a stack reads by name.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use super::{Cli, sdk};

#[derive(Subcommand)]
pub(crate) enum Secrets {
    /// An SSM SecureString parameter, e.g. campaigns' sender API key
    /// (`/campaigns/sender-api-key`).
    PutParameter { name: String },
    /// A Secrets Manager secret, e.g. campaigns' webhook signing secret
    /// (`campaigns/sender-signing-secret`).
    PutSecret { name: String },
}

pub(super) async fn run(cli: &Cli, command: &Secrets) -> Result<ExitCode> {
    let mut stdin = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut stdin)?;
    let value = crate::secret_store::value_of(&stdin)?;
    let conf = sdk(cli).await?;
    match command {
        Secrets::PutParameter { name } => {
            let version = crate::secret_store::put_parameter(&conf, name, value).await?;
            println!("{name}: version {version} (SecureString)");
        }
        Secrets::PutSecret { name } => {
            let version = crate::secret_store::put_secret(&conf, name, value).await?;
            println!("{name}: version {version} is current");
        }
    }
    Ok(ExitCode::SUCCESS)
}
