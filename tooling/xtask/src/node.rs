//! The project-local Node tools (`tooling/node/`): the official AsyncAPI parser
//! and Mermaid's parser, pinned by `package-lock.json` and installed with
//! `npm ci`. A stamp copy of the lockfile makes the common case free.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

pub const DIR: &str = repo::paths::NODE_TOOLS;
const LOCKFILE: &str = "package-lock.json";
const STAMP: &str = ".installed-package-lock.json";

/// Installs exactly what the lockfile pins, unless it already is.
pub fn ensure(root: &Path) -> Result<PathBuf> {
    ensure_in(root, DIR)
}

/// [`ensure`] for the Node project in `folder` (relative to the root).
pub fn ensure_in(root: &Path, folder: &str) -> Result<PathBuf> {
    let dir = root.join(folder);
    let modules = dir.join("node_modules");
    let wanted = std::fs::read_to_string(dir.join(LOCKFILE))
        .with_context(|| format!("reading {folder}/{LOCKFILE}"))?;
    let stamp = modules.join(STAMP);
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(modules);
    }
    eprintln!("node: installing the pinned packages from {folder}/{LOCKFILE}");
    // Scripts stay off: nothing here needs a postinstall, and none may
    // download a browser or a binary.
    let status = Command::new("npm")
        .current_dir(&dir)
        .args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .status()
        .context("starting npm (Node.js 20 or later with npm is needed)")?;
    if !status.success() {
        bail!("npm ci in {folder} failed: {status}");
    }
    std::fs::write(&stamp, wanted)?;
    Ok(modules)
}

/// Runs `node tooling/node/<script> args…` from the workspace root and says
/// whether it passed. Exit code 2 is the script's "bad usage": an error here.
pub fn run(root: &Path, script: &str, args: &[impl AsRef<OsStr>]) -> Result<bool> {
    ensure(root)?;
    let status = Command::new("node")
        .current_dir(root)
        .arg(Path::new(DIR).join(script))
        .args(args)
        .status()
        .with_context(|| format!("starting node {script}"))?;
    match status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => bail!("node {script} failed: {status}"),
    }
}
