//! `devstack deploy`'s side: build one service alone, then ask the running
//! local cloud to update its stack and swap its processes (through the
//! control API's client, `devstack_api::control`); `--watch` rebuilds when
//! the service's sources change.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use devstack_api::control::{Artifacts, Report, Request};
use repo::git::commit_of;
use repo::workspace::Workspace;

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
/// local cloud (at `control_url`) to update its stack and deploy its
/// functions (gradually where the template says so, a template minute
/// lasting `minute_ms`).
pub async fn deploy(
    control_url: &str,
    workspace: &Workspace,
    service: &str,
    source: Source,
    minute_ms: Option<u64>,
) -> Result<Report> {
    if workspace.package(service).is_none() {
        bail!(
            "{service} is not a crate of the workspace at {}",
            workspace.root.display()
        );
    }
    let artifacts = match source {
        Source::Cargo { release } => {
            let mut build = tokio::process::Command::from(repo::cargo::command());
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
        Source::Sam => {
            Artifacts::Sam(repo::service_dir_in(&workspace.root, service).join(".aws-sam/build"))
        }
    };
    let request = Request {
        service: service.to_owned(),
        template: repo::template_in(&workspace.root, service),
        artifacts,
        commit: commit_of(&workspace.root),
        minute_ms,
    };
    Ok(devstack_api::control::deploy(control_url, &request).await?)
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
        repo::workspace::BUILD_INPUTS
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
