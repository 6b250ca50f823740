//! The workspace's crates and the path dependencies between them, as cargo
//! reports them (`cargo metadata`), never as a second hand-written list:
//! what a service's build compiles, what `--watch` watches, and (included
//! by xtask) what a change affects and what a workflow's path filter holds.
//! Depends on std and serde_json only.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("cargo metadata failed: {0}")]
    Cargo(String),
    #[error("cargo metadata: {0}")]
    Shape(String),
}

#[derive(Debug, Clone)]
pub struct Package {
    pub name: String,
    /// The package's folder, relative to the workspace root: its sources
    /// (for `events`, its schemas, examples and the `declarations` crate
    /// too).
    pub dir: PathBuf,
    /// Workspace crates it needs to build and run (normal and build
    /// dependencies), by folder relative to the root.
    pub path_deps: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    /// Where cargo puts its output: `CARGO_TARGET_DIR`, a config file or
    /// `<root>/target`, as cargo itself resolves it.
    pub target_dir: PathBuf,
    pub packages: Vec<Package>,
}

impl Workspace {
    /// Asks cargo about the workspace that `dir` belongs to.
    pub fn load(dir: &Path) -> Result<Workspace, WorkspaceError> {
        Self::from_metadata(&metadata(dir, &["--no-deps"])?)
    }

    pub fn from_metadata(v: &serde_json::Value) -> Result<Workspace, WorkspaceError> {
        let path = |key: &str| {
            v[key]
                .as_str()
                .map(PathBuf::from)
                .ok_or_else(|| WorkspaceError::Shape(format!("no {key}")))
        };
        let root = path("workspace_root")?;
        let target_dir = path("target_directory")?;
        let relative = |p: &Path| p.strip_prefix(&root).map(Path::to_path_buf).ok();
        let mut packages = Vec::new();
        for p in v["packages"].as_array().into_iter().flatten() {
            let manifest = PathBuf::from(p["manifest_path"].as_str().unwrap_or_default());
            let Some(dir) = manifest.parent().and_then(relative) else {
                continue;
            };
            let path_deps = p["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["kind"].as_str() != Some("dev"))
                .filter_map(|d| d["path"].as_str())
                .filter_map(|d| relative(Path::new(d)))
                .collect();
            packages.push(Package {
                name: p["name"].as_str().unwrap_or_default().to_owned(),
                dir,
                path_deps,
            });
        }
        Ok(Workspace {
            root,
            target_dir,
            packages,
        })
    }

    pub fn package(&self, name: &str) -> Option<&Package> {
        self.packages.iter().find(|p| p.name == name)
    }

    /// The package and every workspace crate it builds with, transitively.
    pub fn closure(&self, name: &str) -> Vec<&Package> {
        let mut seen: Vec<&Package> = Vec::new();
        let mut todo: Vec<&Package> = self.package(name).into_iter().collect();
        while let Some(p) = todo.pop() {
            if seen.iter().any(|s| s.dir == p.dir) {
                continue;
            }
            for dep in &p.path_deps {
                if let Some(d) = self.packages.iter().find(|q| &q.dir == dep) {
                    todo.push(d);
                }
            }
            seen.push(p);
        }
        seen.sort_by(|a, b| a.dir.cmp(&b.dir));
        seen
    }

    /// The packages that compile `file` (relative to the root): the one
    /// whose folder holds it, the deepest one when folders nest.
    pub fn compilers(&self, file: &Path) -> Vec<&Package> {
        self.packages
            .iter()
            .filter(|p| !p.dir.as_os_str().is_empty() && file.starts_with(&p.dir))
            .max_by_key(|p| p.dir.components().count())
            .into_iter()
            .collect()
    }
}

/// Where cargo keeps each dependency whose name starts with `prefix`
/// (`aws-sdk-`), as `(name, folder)`: the sources the lockfile resolved
/// for this machine, read in place (`cargo metadata` with the dependency
/// graph, offline). Only this platform's: a build fetches only those, and
/// the graph of every platform needs crates no build here fetched (a
/// test run once failed on `android_system_properties` when the scans'
/// `cargo fetch` had not yet run).
pub fn dependency_dirs(dir: &Path, prefix: &str) -> Result<Vec<(String, PathBuf)>, WorkspaceError> {
    let host = host_tuple()?;
    let v = metadata(dir, &["--filter-platform", &host])?;
    let mut found: Vec<(String, PathBuf)> = v["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["source"].is_string())
        .filter_map(|p| {
            let name = p["name"].as_str()?;
            let manifest = Path::new(p["manifest_path"].as_str()?);
            let dir = manifest.parent()?.to_path_buf();
            name.starts_with(prefix).then(|| (name.to_owned(), dir))
        })
        .collect();
    found.sort();
    found.dedup_by(|a, b| a.0 == b.0);
    Ok(found)
}

/// The platform this machine builds for (`x86_64-unknown-linux-gnu`).
fn host_tuple() -> Result<String, WorkspaceError> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = std::process::Command::new(rustc)
        .args(["--print", "host-tuple"])
        .output()
        .map_err(|e| WorkspaceError::Cargo(format!("running rustc: {e}")))?;
    let host = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || host.is_empty() {
        return Err(WorkspaceError::Cargo(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    Ok(host)
}

/// `cargo metadata` of the workspace `dir` is in, offline, with `extra`
/// arguments.
fn metadata(dir: &Path, extra: &[&str]) -> Result<serde_json::Value, WorkspaceError> {
    let out = crate::cargo::command()
        .current_dir(dir)
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(extra)
        .output()
        .map_err(|e| WorkspaceError::Cargo(e.to_string()))?;
    if !out.status.success() {
        return Err(WorkspaceError::Cargo(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| WorkspaceError::Shape(e.to_string()))
}

/// Files outside any crate that change every build: the lockfile, the root
/// manifest (the shared dependency table and profiles), the toolchain and
/// cargo's config.
pub const BUILD_INPUTS: &[&str] = &[
    "Cargo.lock",
    "Cargo.toml",
    "rust-toolchain.toml",
    ".cargo/config.toml",
];
