//! The local cloud's control API for `devstack deploy`: the request, the
//! report, and the client half that sends one. (The chaos half is in
//! [`crate::chaos`].)

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What the deploy command asks of the running local cloud.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub service: String,
    /// The service's SAM template, as the build saw it.
    pub template: PathBuf,
    /// Where the freshly built binaries are: `<target>/<profile>`, or a
    /// `sam build` output (`.aws-sam/build`, one folder per function).
    pub artifacts: Artifacts,
    /// The commit the binaries were built from, for the stack's tag.
    pub commit: String,
    /// How long one of a deployment configuration's minutes lasts here,
    /// in milliseconds (a gradual deployment's compressed clock; 1,000
    /// when unset: the template's minutes as seconds).
    #[serde(default)]
    pub minute_ms: Option<u64>,
}

/// A template minute on the compressed clock when the request names none.
pub const MINUTE_MS: u64 = 1000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case", tag = "kind", content = "dir")]
pub enum Artifacts {
    /// cargo's output folder: `<dir>/<binary name>`.
    Cargo(PathBuf),
    /// `sam build`'s output: `<dir>/<LogicalId>/bootstrap`.
    Sam(PathBuf),
}

impl Artifacts {
    pub fn binary(&self, logical_id: &str, binary: &str) -> PathBuf {
        match self {
            Artifacts::Cargo(dir) => dir.join(binary),
            Artifacts::Sam(dir) => dir.join(logical_id).join("bootstrap"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub service: String,
    pub commit: String,
    pub stack_ms: u64,
    /// Functions replaced at once (no `DeploymentPreference`).
    pub swapped: Vec<SwappedFunction>,
    /// Functions deployed gradually, each behind its alias.
    #[serde(default)]
    pub deployments: Vec<Deployment>,
    /// Why the deploy was rolled back (an alarm or a hook), if it was: the
    /// stack and every alias are as they were before it.
    #[serde(default)]
    pub rolled_back: Option<String>,
    pub total_ms: u64,
}

/// One function's gradual deployment: CodeDeploy's, on the compressed clock.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deployment {
    pub function: String,
    /// `CodeDeployDefault.LambdaCanary10Percent5Minutes`...
    pub config: String,
    pub from_version: u32,
    pub to_version: u32,
    /// Each shift of the alias's weights, when it happened.
    pub shifts: Vec<Shift>,
    /// Each alarm it watched, as it last stood.
    pub alarms: Vec<AlarmState>,
    /// Its lifecycle hooks (pre-traffic, then post-traffic), as they last
    /// stood.
    #[serde(default)]
    pub hooks: Vec<HookState>,
    /// The invocations each version ran during the deployment.
    pub old_version: Ran,
    pub new_version: Ran,
    /// `succeeded`, `rolled back` (its alarm or hook decided) or `stopped`
    /// (another function of the stack failed, and the stack's update with it).
    pub outcome: String,
    pub decided_by: Option<String>,
    pub ms: u64,
}

/// The new version's share of the alias's invocations from `at_ms` on
/// (milliseconds since the deployment began, on the compressed clock).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Shift {
    pub at_ms: u64,
    pub weight: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AlarmState {
    pub alarm: String,
    /// `OK`, `ALARM`, or `INSUFFICIENT_DATA` before its first datapoint;
    /// `NOT_EVALUATED` for a metric the local cloud does not record.
    pub state: String,
    /// Its last datapoint, or why it has none.
    pub reason: String,
}

/// A lifecycle hook of a deployment, as CodeDeploy lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HookState {
    /// The hook's function.
    pub hook: String,
    /// `BeforeAllowTraffic` (the pre-traffic hook) or `AfterAllowTraffic`
    /// (the post-traffic hook).
    pub event: String,
    /// `InProgress`, `Succeeded` or `Failed`.
    pub state: String,
    /// Why it failed; empty otherwise.
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ran {
    pub invocations: u64,
    pub errors: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SwappedFunction {
    pub function: String,
    pub binary: PathBuf,
    pub drained_ms: u64,
    pub total_ms: u64,
    pub waiting: usize,
}

#[cfg(feature = "client")]
pub use client::{ControlError, deploy};

/// The client half, with the `client` feature: reqwest is not built without it.
#[cfg(feature = "client")]
mod client {
    use super::{Report, Request};

    #[derive(Debug, thiserror::Error)]
    pub enum ControlError {
        #[error("reaching the local cloud at {url}: is `cargo xtask up` running?")]
        Unreachable {
            url: String,
            #[source]
            source: reqwest::Error,
        },
        #[error("{0}")]
        Refused(String),
        #[error("the local cloud's answer: {0}")]
        Answer(String),
    }

    /// `POST /deploy`: the running local cloud (at `control_url`) updates the
    /// service's stack and swaps its processes.
    pub async fn deploy(control_url: &str, request: &Request) -> Result<Report, ControlError> {
        let response = reqwest::Client::new()
            .post(format!("{control_url}/deploy"))
            .json(request)
            .send()
            .await
            .map_err(|source| ControlError::Unreachable {
                url: control_url.to_owned(),
                source,
            })?;
        let ok = response.status().is_success();
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| ControlError::Answer(e.to_string()))?;
        if !ok {
            return Err(ControlError::Refused(
                body["error"]
                    .as_str()
                    .unwrap_or("the deploy failed")
                    .to_owned(),
            ));
        }
        serde_json::from_value(body).map_err(|e| ControlError::Answer(e.to_string()))
    }
}
