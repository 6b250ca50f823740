//! The user pool's people: an ID token (`token`) and an admin (`admin`).

use std::path::Path;

use anyhow::Result;

use super::read_endpoints;

pub(crate) async fn token(endpoints_file: &Path, email: &str, password: &str) -> Result<()> {
    let e = read_endpoints(endpoints_file)?;
    let token = devstack_client::cognito::id_token(&e, email, password).await?;
    println!("{token}");
    Ok(())
}

pub(crate) async fn admin(endpoints_file: &Path, email: &str) -> Result<()> {
    let e = read_endpoints(endpoints_file)?;
    devstack_cloud::cognito::join_group(&e, email, "admins").await?;
    println!("{email} is in the admins group; get a new token: devstack token --email {email}");
    Ok(())
}
