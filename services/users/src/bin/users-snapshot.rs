//! Prints the users who exist now as `UserRegistered` events, one JSON
//! line each, in the shape EventBridge delivers (`users::snapshot`); feed
//! them to one consumer with `ops events deliver`. An ops tool, not a
//! function: it reads the table with the caller's credentials.

use anyhow::{Context, Result};

#[tokio::main]
async fn main() -> Result<()> {
    let table = std::env::args()
        .nth(1)
        .context("usage: users-snapshot <users table name>")?;
    let conf = kit::config::aws().await;
    let region = conf.region().map(|r| r.to_string()).unwrap_or_default();
    let store = users::store::Store::new(aws_sdk_dynamodb::Client::new(&conf), table);
    let profiles = store.profiles().await.context("reading the users table")?;
    let correlation = format!("snapshot-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ"));
    for entry in users::snapshot::registrations(&profiles, &correlation)? {
        println!("{}", serde_json::to_string(&entry.delivered(&region)?)?);
    }
    eprintln!("{} user(s), correlation {correlation}", profiles.len());
    Ok(())
}
