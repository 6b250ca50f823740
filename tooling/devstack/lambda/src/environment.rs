//! A function's environment as the local cloud starts it, at start and at
//! a redeploy alike, so a swapped process keeps what the first one had.

use std::collections::BTreeMap;

use anyhow::Result;
use aws_config::SdkConfig;

/// A function's environment as the local cloud starts it: as deployed, then
/// its endpoint, its own port of the fault proxy. A redeploy builds it
/// here too, so a swapped process keeps its port.
pub async fn function_env(
    conf: &SdkConfig,
    physical: &str,
    substitutions: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>> {
    let mut env = deployed_env(conf, physical, substitutions).await?;
    env.extend(endpoint_env(physical, substitutions));
    Ok(env)
}

/// A function's environment as deployed, with the values only the local
/// cloud knows (`substitutions`) filled in: what Lambda's API reports.
pub async fn deployed_env(
    conf: &SdkConfig,
    physical: &str,
    substitutions: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>> {
    let record = crate::spec::Record::read(conf, physical).await?;
    Ok(record.environment(substitutions))
}

/// The substitution key under which a function's proxy URL is kept
/// ([`function_env`] reads it, so a redeploy keeps it).
pub fn endpoint_key(physical: &str) -> String {
    format!("devstack:fault-proxy:{physical}")
}

/// The endpoints a function is started with: its own proxy port, for
/// every service (EventBridge included: the proxy hands those calls to
/// the bus proxy).
pub fn endpoint_env(
    physical: &str,
    substitutions: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    match substitutions.get(&endpoint_key(physical)) {
        Some(url) => vec![
            ("AWS_ENDPOINT_URL".to_owned(), url.clone()),
            ("AWS_ENDPOINT_URL_EVENTBRIDGE".to_owned(), url.clone()),
        ],
        None => Vec::new(),
    }
}
