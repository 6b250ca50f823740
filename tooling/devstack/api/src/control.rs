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
}

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
    pub swapped: Vec<SwappedFunction>,
    pub total_ms: u64,
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
