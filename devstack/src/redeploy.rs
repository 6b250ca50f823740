//! `devstack deploy <service>`: one service redeployed into a running local
//! cloud, the local `sam deploy`. The stack is updated on the emulator and
//! each function's process is swapped ([`Function::swap`]); the other
//! services keep running, and events that arrive meanwhile wait (tap
//! messages stay undeleted in SQS, stream records stay in the stream) and
//! reach the new process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::adapt::{Plan, adapt};
use crate::deploy::{TAG_COMMIT, TAG_SERVICE, update_stack};
use crate::runtime::{Function, Swapped};
use crate::workspace::Workspace;

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

impl From<Swapped> for SwappedFunction {
    fn from(s: Swapped) -> Self {
        Self {
            function: s.function,
            binary: s.binary,
            drained_ms: s.drained_ms,
            total_ms: s.total_ms,
            waiting: s.waiting,
        }
    }
}

/// What a running local cloud keeps to redeploy its services.
pub struct Control {
    pub conf: SdkConfig,
    /// `<service>/<LogicalId>` → the running function.
    pub functions: BTreeMap<String, Function>,
    /// The environment the local cloud adds to every function (emulator
    /// endpoint, region, credentials, log level).
    pub local_env: Vec<(String, String)>,
    /// Environment values the local cloud replaces ([`crate::adapt::socket_placeholder`]
    /// → its WebSocket API's `@connections` URL).
    pub substitutions: BTreeMap<String, String>,
    pub plans: BTreeMap<String, Plan>,
    /// One deploy at a time, as CloudFormation allows one update per stack.
    lock: Mutex<()>,
}

impl Control {
    pub fn new(
        conf: SdkConfig,
        functions: BTreeMap<String, Function>,
        local_env: Vec<(String, String)>,
        substitutions: BTreeMap<String, String>,
        plans: BTreeMap<String, Plan>,
    ) -> Self {
        Self {
            conf,
            functions,
            local_env,
            substitutions,
            plans,
            lock: Mutex::new(()),
        }
    }

    pub async fn redeploy(&self, request: &Request) -> Result<Report> {
        let _one = self.lock.lock().await;
        let started = Instant::now();
        let service = request.service.as_str();
        let running = self
            .plans
            .get(service)
            .with_context(|| format!("no service {service} runs here"))?;
        let template = crate::template::load(&request.template)?;
        let (adapted, plan) = adapt(service, &template)?;
        if let Some(what) = wiring_change(running, &plan) {
            bail!(
                "{service}: the {what} changed; the local cloud wires those at start, so restart it (`cargo xtask up`) to apply this template"
            );
        }
        // Every binary must exist before anything is touched.
        let mut binaries = Vec::new();
        for f in &plan.functions {
            let binary = request.artifacts.binary(&f.logical_id, &f.binary);
            if !binary.is_file() {
                bail!(
                    "{service}/{}: no binary at {}; build it first",
                    f.logical_id,
                    binary.display()
                );
            }
            binaries.push((f, binary));
        }
        let deployed = update_stack(
            &self.conf,
            service,
            &adapted,
            &[],
            &[(TAG_SERVICE, service), (TAG_COMMIT, &request.commit)],
        )
        .await?;
        let stack_ms = started.elapsed().as_millis() as u64;
        tracing::info!(target: "trail", stack = %service, commit = %request.commit, ms = stack_ms, "stack updated");
        let mut swapped = Vec::new();
        for (f, binary) in binaries {
            let name = format!("{service}/{}", f.logical_id);
            let function = self
                .functions
                .get(&name)
                .with_context(|| format!("{name} is not running"))?;
            let physical = deployed.physical(&f.logical_id)?;
            let mut env =
                crate::cloud::function_env(&self.conf, physical, &self.substitutions).await?;
            env.extend(self.local_env.iter().cloned());
            let done = function.swap(binary, env).await?;
            tracing::info!(target: "trail", function = %name, drained_ms = done.drained_ms, ms = done.total_ms, waiting = done.waiting, "swapped");
            swapped.push(done.into());
        }
        Ok(Report {
            service: service.to_owned(),
            commit: request.commit.clone(),
            stack_ms,
            swapped,
            total_ms: started.elapsed().as_millis() as u64,
        })
    }
}

/// What a redeploy cannot change in a running local cloud: the functions and
/// the event sources wired to them. Everything else (code, environment,
/// rule patterns, policies) it can.
pub fn wiring_change(running: &Plan, new: &Plan) -> Option<&'static str> {
    if running.functions != new.functions {
        Some("functions (names, binaries, timeouts or async settings)")
    } else if running.routes != new.routes {
        Some("HTTP routes")
    } else if running.rules != new.rules {
        Some("bus rules")
    } else if running.streams != new.streams {
        Some("stream mappings")
    } else if running.uploads != new.uploads {
        Some("bucket notifications")
    } else if running.subscriptions != new.subscriptions {
        Some("topic subscriptions")
    } else if running.sockets != new.sockets {
        Some("WebSocket APIs (routes or authorizers)")
    } else {
        None
    }
}

/// The control API of a running local cloud (its URL is `control_url` in
/// the endpoints file).
pub fn router(control: std::sync::Arc<Control>) -> axum::Router {
    use axum::Json;
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    async fn deploy(
        State(control): State<std::sync::Arc<Control>>,
        Json(request): Json<Request>,
    ) -> axum::response::Response {
        match control.redeploy(&request).await {
            Ok(report) => Json(report).into_response(),
            Err(e) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(serde_json::json!({ "error": format!("{e:#}") })),
            )
                .into_response(),
        }
    }
    axum::Router::new()
        .route("/deploy", axum::routing::post(deploy))
        .with_state(control)
}

/// The commit a tree was built from: `git rev-parse HEAD`, with `-dirty`
/// when the work tree has changes, so a tag never claims a commit the
/// binaries do not match.
pub fn commit_of(root: &Path) -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .current_dir(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "HEAD"]) {
        Some(head) => match git(&["status", "--porcelain", "--untracked-files=no"]) {
            Some(changes) if !changes.is_empty() => format!("{head}-dirty"),
            _ => head,
        },
        None => "unknown".to_owned(),
    }
}

/// Where the deploy command takes the binaries from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `cargo build --workspace --bins`, debug or release: in practice the
    /// service's own crate, unless a shared one changed too.
    Cargo { release: bool },
    /// The service's `sam build` output, as it is: the artifact that ships.
    Sam,
}

/// The deploy command's side: build the service alone, then ask the running
/// local cloud (at `control_url`) to update its stack and swap its processes.
pub async fn deploy(
    control_url: &str,
    workspace: &Workspace,
    service: &str,
    source: Source,
) -> Result<Report> {
    if workspace.package(service).is_none() {
        bail!(
            "{service} is not a crate of the workspace at {}",
            workspace.root.display()
        );
    }
    let artifacts = match source {
        Source::Cargo { release } => {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut build = tokio::process::Command::new(cargo);
            // The workspace's feature set, as `cargo xtask up` built it: only
            // what changed recompiles. `-p <service>` would resolve features
            // anew, rebuild shared dependencies and relink the binaries the
            // running local cloud uses. (`sam build` compiles one service.)
            build
                .current_dir(&workspace.root)
                .args(["build", "--quiet", "--workspace", "--bins"]);
            if release {
                build.arg("--release");
            }
            if !build
                .status()
                .await
                .context("running cargo build")?
                .success()
            {
                bail!("the build failed; nothing was deployed");
            }
            Artifacts::Cargo(
                workspace
                    .target_dir
                    .join(if release { "release" } else { "debug" }),
            )
        }
        Source::Sam => Artifacts::Sam(
            workspace
                .root
                .join("services")
                .join(service)
                .join(".aws-sam/build"),
        ),
    };
    let request = Request {
        service: service.to_owned(),
        template: workspace
            .root
            .join("services")
            .join(service)
            .join("template.yaml"),
        artifacts,
        commit: commit_of(&workspace.root),
    };
    let response = reqwest::Client::new()
        .post(format!("{control_url}/deploy"))
        .json(&request)
        .send()
        .await
        .with_context(|| {
            format!("reaching the local cloud at {control_url}: is `cargo xtask up` running?")
        })?;
    let ok = response.status().is_success();
    let body: serde_json::Value = response.json().await.context("the local cloud's answer")?;
    if !ok {
        bail!("{}", body["error"].as_str().unwrap_or("the deploy failed"));
    }
    Ok(serde_json::from_value(body)?)
}

/// The newest modification time under the folders a service builds from
/// (its own crate and the crates it depends on) and the shared build inputs.
pub fn sources_stamp(workspace: &Workspace, service: &str) -> Result<std::time::SystemTime> {
    let mut paths: Vec<PathBuf> = workspace
        .closure(service)
        .iter()
        .map(|p| workspace.root.join(&p.dir))
        .collect();
    paths.extend(
        crate::workspace::BUILD_INPUTS
            .iter()
            .map(|f| workspace.root.join(f)),
    );
    let mut newest = std::time::SystemTime::UNIX_EPOCH;
    while let Some(path) = paths.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if let Ok(m) = meta.modified() {
            newest = newest.max(m);
        }
        if meta.is_dir() {
            let skip = path
                .file_name()
                .is_some_and(|n| n == "target" || n == ".aws-sam" || n == "node_modules");
            if !skip {
                for entry in std::fs::read_dir(&path)?.flatten() {
                    paths.push(entry.path());
                }
            }
        }
    }
    Ok(newest)
}
