//! The web app (`web/`): TypeScript compiled by the pinned `tsc`, static
//! files copied, into `web/dist/`, which the local cloud serves.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

pub const DIR: &str = "web";

/// Installs the pinned toolchain if needed and builds the app.
pub fn build(root: &Path) -> Result<PathBuf> {
    crate::node::ensure_in(root, DIR)?;
    let dir = root.join(DIR);
    eprintln!("==> web: tsc and static files into {DIR}/dist");
    let status = Command::new("npm")
        .current_dir(&dir)
        .args(["run", "--silent", "build"])
        .status()
        .context("starting npm run build")?;
    if !status.success() {
        bail!("building the web app failed: {status}");
    }
    Ok(dir.join("dist"))
}
