//! The web app's `config.json` for a deployment on AWS, from the deployed
//! stacks' outputs: the platform's user pool and client, each service's
//! HTTP API, and the notifications service's WebSocket API. The local
//! cloud serves the same shape from its own endpoints.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde_json::{Value, json};

/// Outputs by stack name, then output key.
pub type Outputs = BTreeMap<String, BTreeMap<String, String>>;

pub fn config(
    region: &str,
    platform: &str,
    services: &[&str; 3],
    outputs: &Outputs,
) -> Result<Value> {
    let get = |stack: &str, key: &str| -> Result<String> {
        outputs
            .get(stack)
            .with_context(|| format!("no stack {stack} is deployed"))?
            .get(key)
            .cloned()
            .with_context(|| format!("stack {stack} has no output {key}"))
    };
    let [users, todos, notifications] = services;
    Ok(json!({
        "region": region,
        "cognitoEndpoint": format!("https://cognito-idp.{region}.amazonaws.com/"),
        "userPoolId": get(platform, "UserPoolId")?,
        "clientId": get(platform, "UserPoolClientId")?,
        "apis": {
            "users": get(users, "ApiUrl")?,
            "todos": get(todos, "ApiUrl")?,
            "notifications": get(notifications, "ApiUrl")?,
        },
        "socketUrl": get(notifications, "SocketUrl")?,
        "local": false,
    }))
}

/// Every stack's outputs.
pub async fn outputs(cf: &aws_sdk_cloudformation::Client) -> Result<Outputs> {
    let mut out = Outputs::new();
    let mut pages = cf.describe_stacks().into_paginator().send();
    while let Some(page) = pages.next().await {
        for stack in page?.stacks() {
            let map = stack
                .outputs()
                .iter()
                .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
                .collect();
            out.insert(stack.stack_name().unwrap_or_default().to_owned(), map);
        }
    }
    Ok(out)
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
                o(&[("UserPoolId", "eu-west-1_P"), ("UserPoolClientId", "c")]),
            ),
            ("users".to_owned(), o(&[("ApiUrl", "https://u.example")])),
            ("todos".to_owned(), o(&[("ApiUrl", "https://t.example")])),
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

    const SERVICES: [&str; 3] = ["users", "todos", "notifications"];

    #[test]
    fn the_config_comes_from_the_outputs() {
        let c = config("eu-west-1", "platform", &SERVICES, &deployed()).unwrap();
        assert_eq!(
            c["cognitoEndpoint"],
            "https://cognito-idp.eu-west-1.amazonaws.com/"
        );
        assert_eq!(c["clientId"], "c");
        assert_eq!(c["apis"]["todos"], "https://t.example");
        assert_eq!(c["socketUrl"], "wss://s.example/live");
        assert_eq!(c["local"], false);
    }

    #[test]
    fn a_missing_output_is_named() {
        let mut d = deployed();
        d.get_mut("notifications").unwrap().remove("SocketUrl");
        let err = config("eu-west-1", "platform", &SERVICES, &d)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "stack notifications has no output SocketUrl");
    }
}
