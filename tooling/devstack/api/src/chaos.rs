//! The fault proxy's control API as its callers see it: the settings,
//! outages and counts it answers with, and [`Remote`], its client. The
//! proxy itself is the cloud's (`devstack_cloud::chaos`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a faulty call looks like to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    Error,
    Throttle,
    Drop,
    /// Access denied: an error the SDK does not retry, so the function
    /// fails at once (a permission lost in a bad deploy). For outages.
    Denied,
}

impl Fault {
    /// The random faults: transient, what AWS does now and then.
    pub const ALL: [Fault; 3] = [Fault::Error, Fault::Throttle, Fault::Drop];
}

/// The random faults: a share of every call, of the kinds listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub enabled: bool,
    /// The share of calls that fail, 0 to 1.
    pub share: f64,
    /// Picked uniformly for each faulty call.
    #[serde(default = "all_kinds")]
    pub kinds: Vec<Fault>,
    /// Only these functions (`<service>/<LogicalId>`); empty: every one.
    #[serde(default)]
    pub functions: Vec<String>,
    /// Seeds the choice of calls and kinds (the order calls arrive in is
    /// the scheduler's, so a run is repeatable in its odds, not its calls).
    #[serde(default)]
    pub seed: Option<u64>,
}

fn all_kinds() -> Vec<Fault> {
    Fault::ALL.to_vec()
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            enabled: false,
            share: 0.0,
            kinds: all_kinds(),
            functions: Vec::new(),
            seed: None,
        }
    }
}

/// Every call of one function fails, until `until`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutageRequest {
    pub function: String,
    pub seconds: f64,
    #[serde(default = "error_kind")]
    pub kind: Fault,
}

fn error_kind() -> Fault {
    Fault::Error
}

/// What was injected since the local cloud started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Calls that went through the proxy.
    pub calls: u64,
    /// Random faults by kind.
    pub faults: BTreeMap<Fault, u64>,
    /// Random faults by function.
    pub by_function: BTreeMap<String, u64>,
    /// Calls failed by an outage, by function.
    pub outage: BTreeMap<String, u64>,
    /// Processes killed, by function.
    pub kills: BTreeMap<String, u64>,
}

impl Counts {
    pub fn faults_total(&self) -> u64 {
        self.faults.values().sum()
    }

    pub fn outage_total(&self) -> u64 {
        self.outage.values().sum()
    }

    pub fn kills_total(&self) -> u64 {
        self.kills.values().sum()
    }

    /// What happened between `before` and `self`.
    pub fn since(&self, before: &Counts) -> Counts {
        fn diff<K: Ord + Clone>(
            now: &BTreeMap<K, u64>,
            then: &BTreeMap<K, u64>,
        ) -> BTreeMap<K, u64> {
            now.iter()
                .map(|(k, v)| (k.clone(), v - then.get(k).copied().unwrap_or(0)))
                .filter(|(_, v)| *v > 0)
                .collect()
        }
        Counts {
            calls: self.calls - before.calls,
            faults: diff(&self.faults, &before.faults),
            by_function: diff(&self.by_function, &before.by_function),
            outage: diff(&self.outage, &before.outage),
            kills: diff(&self.kills, &before.kills),
        }
    }
}

/// `GET /chaos`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub settings: Settings,
    /// Function → milliseconds its outage has left.
    pub outages: BTreeMap<String, u64>,
    pub counts: Counts,
    /// Every function a fault can be aimed at.
    pub functions: Vec<String>,
}

/// SplitMix64: small, seedable and good enough to pick faults and plan a
/// load; no dependency for it.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(feature = "client")]
pub use client::{Remote, RemoteError};

/// The client half, with the `client` feature: reqwest is not built without it.
#[cfg(feature = "client")]
mod client {
    use reqwest::Method;

    use super::{OutageRequest, Settings, Status};

    /// The chaos control API from the outside (`control_url`), for `devstack
    /// load` and tests.
    pub struct Remote {
        pub control_url: String,
        pub http: reqwest::Client,
    }

    #[derive(Debug, thiserror::Error)]
    pub enum RemoteError {
        #[error("the control API at {url}: {source}")]
        Unreachable {
            url: String,
            #[source]
            source: reqwest::Error,
        },
        #[error("the control API refused {what}: {status} {body}")]
        Refused {
            what: String,
            status: u16,
            body: String,
        },
    }

    impl Remote {
        pub fn new(control_url: &str) -> Self {
            Self {
                control_url: control_url.trim_end_matches('/').to_owned(),
                http: reqwest::Client::new(),
            }
        }

        async fn send(
            &self,
            method: Method,
            path: &str,
            body: Option<serde_json::Value>,
        ) -> Result<Status, RemoteError> {
            let url = format!("{}{path}", self.control_url);
            let mut request = self.http.request(method.clone(), &url);
            if let Some(b) = body {
                request = request.json(&b);
            }
            let answer = request
                .send()
                .await
                .map_err(|source| RemoteError::Unreachable {
                    url: url.clone(),
                    source,
                })?;
            let status = answer.status().as_u16();
            let text = answer
                .text()
                .await
                .map_err(|source| RemoteError::Unreachable {
                    url: url.clone(),
                    source,
                })?;
            if !(200..300).contains(&status) {
                return Err(RemoteError::Refused {
                    what: format!("{method} {path}"),
                    status,
                    body: text,
                });
            }
            serde_json::from_str(&text).map_err(|e| RemoteError::Refused {
                what: format!("{method} {path}"),
                status,
                body: format!("unreadable answer ({e}): {text}"),
            })
        }

        pub async fn status(&self) -> Result<Status, RemoteError> {
            self.send(Method::GET, "/chaos", None).await
        }

        pub async fn configure(&self, settings: &Settings) -> Result<Status, RemoteError> {
            self.send(
                Method::PUT,
                "/chaos",
                Some(serde_json::to_value(settings).expect("settings serialize")),
            )
            .await
        }

        pub async fn calm(&self) -> Result<Status, RemoteError> {
            self.send(Method::DELETE, "/chaos", None).await
        }

        pub async fn outage(&self, request: &OutageRequest) -> Result<Status, RemoteError> {
            self.send(
                Method::POST,
                "/chaos/outage",
                Some(serde_json::to_value(request).expect("an outage serializes")),
            )
            .await
        }

        pub async fn kill(&self, function: &str) -> Result<Status, RemoteError> {
            self.send(Method::POST, &format!("/chaos/kill/{function}"), None)
                .await
        }
    }
}
