//! The endpoints file: the machine-readable description of a running local
//! cloud, written by `devstack up` and read by everything that drives it
//! (the walkthrough, the load, the bench, the ops CLI, the tests), typed on
//! both sides.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The role an organisation's management account assumes in a member
/// account: how the local cloud's administrator, and any tool of its,
/// reaches a team's account.
pub const ACCESS_ROLE: &str = "OrganizationAccountAccessRole";

#[derive(Debug, thiserror::Error)]
pub enum EndpointsError {
    #[error("reading the endpoints file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the endpoints file {path} is not a local cloud's: {source}")]
    Shape {
        path: String,
        #[source]
        source: serde_json::Error,
    },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServiceEndpoints {
    pub stack: String,
    /// The account its stack is deployed in.
    #[serde(default)]
    pub account: String,
    pub table: String,
    pub dlq_topic_arn: String,
    pub dlq_queue_url: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, String>,
    /// Logical id → physical function name.
    pub functions: BTreeMap<String, String>,
    /// WebSocket API (logical id) → its `ws://` URL (connect with
    /// `?token=<ID token>`); its `@connections` API is under the same URL.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sockets: BTreeMap<String, String>,
    /// Which function receives which async events: what the ops CLI needs
    /// to re-deliver a dead letter to the function that failed it.
    pub consumers: Vec<Consumer>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Consumer {
    /// Physical function name.
    pub function: String,
    /// `rule` (with its EventBridge pattern) or `upload` (S3 notifications).
    pub trigger: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<serde_json::Value>,
    /// The rule's physical name, for a `rule` trigger: what an archive
    /// replay aimed at this consumer names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// The machine-readable description of a running local cloud.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Endpoints {
    pub api_base_url: String,
    pub emulator_url: String,
    /// The user pool's API as people and apps call it: the emulator's,
    /// with the pool's Lambda triggers played around sign-up and
    /// confirmation (moto runs none). Sign up here, not at the emulator.
    pub cognito_url: String,
    pub lambda_endpoint: String,
    pub region: String,
    pub user_pool_id: String,
    pub client_id: String,
    /// The identity pool that exchanges the user pool's ID tokens for
    /// browsers' AWS sessions, at `cognito_url`
    /// (`AWSCognitoIdentityService.*`); empty without one.
    #[serde(default)]
    pub identity_pool_id: String,
    /// S3 as a browser reaches it (the gate in front of the emulator,
    /// where presigned URLs point): signed calls are judged there.
    #[serde(default)]
    pub s3_url: String,
    pub issuer: String,
    pub jwks_url: String,
    pub bus_name: String,
    /// The account of the platform's stack: the bus, the user pool.
    #[serde(default)]
    pub platform_account: String,
    /// The local cloud's own API: `POST /deploy` redeploys one service.
    pub control_url: String,
    /// The notifications service's WebSocket API: live push to browsers.
    pub socket_url: String,
    /// The web app, with its `config.json` for this local cloud.
    pub web_url: String,
    /// The console: the service map, the live trail and the dead letters
    /// of this cloud (loopback, no sign-in).
    #[serde(default)]
    pub console_url: String,
    /// Hops, EMF metrics and function logs (`devstack trace`, `devstack
    /// metrics`).
    pub telemetry_dir: String,
    /// The third-party email sender's stand-in (`devstack-sender`): its API,
    /// and its `/_sandbox` control routes (stats, key rotation).
    #[serde(default)]
    pub sender_url: String,
    /// The outside identity provider's stand-in (`devstack-idp`): its
    /// issuer, whose discovery document names the rest. Managed login
    /// (`/oauth2/authorize` ...) is at `cognito_url`. Empty without one.
    #[serde(default)]
    pub idp_url: String,
    /// The provider's name in the user pool (`identity_provider=`).
    #[serde(default)]
    pub federated_provider: String,
    /// The local cloud's own certificate authority (PEM), which signs the
    /// one address it serves over HTTPS: managed login's revocation
    /// endpoint, as the pool's discovery document names it. Trust it to
    /// revoke with a client that requires HTTPS there. Empty without a
    /// managed login.
    #[serde(default)]
    pub ca_certificate: String,
    pub services: BTreeMap<String, ServiceEndpoints>,
}

impl Endpoints {
    /// Each function's physical name → its name in the telemetry records,
    /// `<service>/<LogicalId>`.
    pub fn function_ids(&self) -> BTreeMap<String, String> {
        (self.services.iter())
            .flat_map(|(service, s)| {
                (s.functions.iter()).map(move |(logical, physical)| {
                    (physical.clone(), format!("{service}/{logical}"))
                })
            })
            .collect()
    }

    /// The role that ARN names in `service`'s account when it is not the
    /// platform's (`None`: the administrator's own account holds it).
    pub fn access_role(&self, service: &str) -> Option<String> {
        let account = &self.services.get(service)?.account;
        (!account.is_empty() && *account != self.platform_account)
            .then(|| format!("arn:aws:iam::{account}:role/{ACCESS_ROLE}"))
    }

    /// Each account and what it holds: `platform` (the bus, the user
    /// pool) first where it is, then its services.
    pub fn accounts(&self) -> BTreeMap<&str, Vec<&str>> {
        let mut held: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        if !self.platform_account.is_empty() {
            held.entry(&self.platform_account)
                .or_default()
                .push("platform");
        }
        for (name, s) in self.services.iter().filter(|(_, s)| !s.account.is_empty()) {
            held.entry(&s.account).or_default().push(name);
        }
        held
    }

    /// The endpoints file a running local cloud wrote.
    pub fn read(path: &Path) -> Result<Self, EndpointsError> {
        let text = std::fs::read_to_string(path).map_err(|source| EndpointsError::Read {
            path: path.display().to_string(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| EndpointsError::Shape {
            path: path.display().to_string(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_account_names_what_it_holds_the_platform_first() {
        let service = |account: &str| ServiceEndpoints {
            account: account.into(),
            ..ServiceEndpoints::default()
        };
        let e = Endpoints {
            platform_account: "111".into(),
            services: [
                ("todos".to_owned(), service("222")),
                ("notifications".to_owned(), service("111")),
                ("users".to_owned(), service("222")),
            ]
            .into(),
            ..Endpoints::default()
        };
        assert_eq!(
            e.accounts(),
            BTreeMap::from([
                ("111", vec!["platform", "notifications"]),
                ("222", vec!["todos", "users"]),
            ])
        );
    }

    #[test]
    fn the_file_reads_back_as_written() {
        let mut e = Endpoints {
            api_base_url: "http://127.0.0.1:1".into(),
            ..Endpoints::default()
        };
        e.services.insert(
            "users".into(),
            ServiceEndpoints {
                stack: "users".into(),
                functions: [("ApiFunction".to_owned(), "users-Api".to_owned())].into(),
                consumers: vec![Consumer {
                    function: "users-Api".into(),
                    trigger: "rule".into(),
                    pattern: Some(serde_json::json!({"source": ["app.users"]})),
                    rule: Some("users-Rule".into()),
                }],
                ..ServiceEndpoints::default()
            },
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("endpoints.json");
        std::fs::write(&path, serde_json::to_string_pretty(&e).unwrap()).unwrap();
        let back = Endpoints::read(&path).unwrap();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&e).unwrap()
        );
        assert_eq!(back.services["users"].functions["ApiFunction"], "users-Api");
        std::fs::write(&path, "{\"api_base_url\": 3}").unwrap();
        let err = Endpoints::read(&path).unwrap_err().to_string();
        assert!(err.contains("not a local cloud's"), "{err}");
    }
}
