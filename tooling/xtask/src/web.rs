//! The browser apps, each TypeScript compiled by the pinned `tsc` with its
//! static files copied into `<dir>/dist/`, which the local cloud serves:
//! the web app (`web/`) and the local cloud's console (`tooling/devstack/console/page/`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

pub const DIR: &str = repo::paths::WEB_DIR;
pub const CONSOLE_DIR: &str = repo::paths::CONSOLE_DIR;

/// Installs the web app's pinned toolchain if needed and builds it.
pub fn build(root: &Path) -> Result<PathBuf> {
    build_in(root, DIR)
}

/// The same for the console.
pub fn build_console(root: &Path) -> Result<PathBuf> {
    build_in(root, CONSOLE_DIR)
}

fn build_in(root: &Path, folder: &str) -> Result<PathBuf> {
    crate::node::ensure_in(root, folder)?;
    let dir = root.join(folder);
    eprintln!("==> {folder}: tsc and static files into {folder}/dist");
    let status = Command::new("npm")
        .current_dir(&dir)
        .args(["run", "--silent", "build"])
        .status()
        .context("starting npm run build")?;
    if !status.success() {
        bail!("building {folder}/ failed: {status}");
    }
    Ok(dir.join("dist"))
}
