//! `ops web-config`: the web app's `config.json` for a deployment on AWS,
//! from the deployed stacks' outputs in every account: the platform's user
//! pool, client and identity pool, each service's HTTP API, the
//! notifications service's WebSocket API and the todos service's bucket of
//! users' files. The local cloud serves the same shape from its own
//! endpoints.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::Cli;

/// The outputs are read in every account a team's stack may be in
/// ([`super::every_account`]): the platform's, and each team's.
pub(super) async fn run(cli: &Cli, platform: &str) -> Result<ExitCode> {
    let accounts = super::every_account(cli).await?;
    let region = (accounts.first())
        .and_then(|(_, caller)| caller.region())
        .map(|r| r.to_string())
        .unwrap_or_default();
    let mut all = Outputs::new();
    for (whose, reached) in accounts {
        let cf = aws_sdk_cloudformation::Client::new(&reached);
        let found = (outputs(&cf).await)
            .with_context(|| format!("reading the stacks of {whose} account"))?;
        all.extend(found);
    }
    let config = config(&region, platform, repo::SERVICES, &all)?;
    println!("{}", serde_json::to_string_pretty(&config)?);
    Ok(ExitCode::SUCCESS)
}

/// Outputs by stack name, then output key.
pub type Outputs = BTreeMap<String, BTreeMap<String, String>>;

/// The service whose stack serves the WebSocket API, checked against
/// `repo::SERVICES` when ops is compiled.
const SOCKET_SERVICE: &str = service("notifications");

/// The service whose bucket holds the users' files, which browsers list
/// and read with the identity pool's credentials.
const FILES_SERVICE: &str = service("todos");

/// `name`, which must be one of `repo::SERVICES`: a renamed or removed
/// service fails the build here rather than the command on AWS.
const fn service(name: &'static str) -> &'static str {
    let mut i = 0;
    while i < repo::SERVICES.len() {
        if same(repo::SERVICES[i], name) {
            return name;
        }
        i += 1;
    }
    panic!("not one of repo::SERVICES")
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The config for the stacks named `platform` and `services` (each
/// service's stack is named after it); the web app finds each service's
/// HTTP API under its name in `apis`.
pub fn config(region: &str, platform: &str, services: &[&str], outputs: &Outputs) -> Result<Value> {
    let get = |stack: &str, key: &str| -> Result<String> {
        outputs
            .get(stack)
            .with_context(|| format!("no stack {stack} is deployed"))?
            .get(key)
            .cloned()
            .with_context(|| format!("stack {stack} has no output {key}"))
    };
    let user_pool_id = get(platform, "UserPoolId")?;
    let client_id = get(platform, "UserPoolClientId")?;
    let apis = services
        .iter()
        .map(|s| Ok((s.to_string(), Value::from(get(s, "ApiUrl")?))))
        .collect::<Result<serde_json::Map<_, _>>>()?;
    let mut config = json!({
        "region": region,
        "cognitoEndpoint": format!("https://cognito-idp.{region}.amazonaws.com/"),
        "userPoolId": user_pool_id,
        "clientId": client_id,
        "apis": apis,
        "socketUrl": get(SOCKET_SERVICE, "SocketUrl")?,
        "identityPoolId": get(platform, "IdentityPoolId")?,
        "filesBucket": get(FILES_SERVICE, "BucketName")?,
        "local": false,
    });
    // Only a platform deployed with an outside provider has these.
    if let (Ok(domain), Ok(provider)) = (
        get(platform, "AuthDomainUrl"),
        get(platform, "FederatedProviderName"),
    ) {
        config["federation"] =
            json!({"domainUrl": domain, "provider": provider, "label": provider});
    }
    Ok(config)
}

/// Every stack's outputs.
pub async fn outputs(cf: &aws_sdk_cloudformation::Client) -> Result<Outputs> {
    Ok((crate::targets::every_stack(cf).await?.iter())
        .map(|stack| {
            let name = stack.stack_name().unwrap_or_default().to_owned();
            (name, crate::targets::outputs_of(stack))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployed() -> Outputs {
        let o = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        [
            (
                "platform".to_owned(),
                o(&[
                    ("UserPoolId", "eu-west-1_P"),
                    ("UserPoolClientId", "c"),
                    ("IdentityPoolId", "eu-west-1:1-2"),
                ]),
            ),
            ("users".to_owned(), o(&[("ApiUrl", "https://u.example")])),
            (
                "todos".to_owned(),
                o(&[("ApiUrl", "https://t.example"), ("BucketName", "files")]),
            ),
            (
                "campaigns".to_owned(),
                o(&[("ApiUrl", "https://c.example")]),
            ),
            (
                "notifications".to_owned(),
                o(&[
                    ("ApiUrl", "https://n.example"),
                    ("SocketUrl", "wss://s.example/live"),
                ]),
            ),
        ]
        .into()
    }

    #[test]
    fn the_config_comes_from_the_outputs() {
        let c = config("eu-west-1", "platform", repo::SERVICES, &deployed()).unwrap();
        assert_eq!(
            c["cognitoEndpoint"],
            "https://cognito-idp.eu-west-1.amazonaws.com/"
        );
        assert_eq!(c["clientId"], "c");
        assert_eq!(c["apis"]["todos"], "https://t.example");
        assert_eq!(c["socketUrl"], "wss://s.example/live");
        assert_eq!(c["identityPoolId"], "eu-west-1:1-2");
        assert_eq!(c["filesBucket"], "files");
        assert_eq!(c["local"], false);
        assert!(c.get("federation").is_none());
    }

    #[test]
    fn a_platform_with_an_outside_provider_offers_it() {
        let mut d = deployed();
        let platform = d.get_mut("platform").unwrap();
        platform.insert(
            "AuthDomainUrl".into(),
            "https://p.auth.eu-west-1.amazoncognito.com".into(),
        );
        platform.insert("FederatedProviderName".into(), "Okta".into());
        let c = config("eu-west-1", "platform", repo::SERVICES, &d).unwrap();
        assert_eq!(
            c["federation"]["domainUrl"],
            "https://p.auth.eu-west-1.amazoncognito.com"
        );
        assert_eq!(c["federation"]["provider"], "Okta");
    }

    #[test]
    fn a_missing_output_is_named() {
        let mut d = deployed();
        d.get_mut("notifications").unwrap().remove("SocketUrl");
        let err = config("eu-west-1", "platform", repo::SERVICES, &d)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "stack notifications has no output SocketUrl");
    }
}
