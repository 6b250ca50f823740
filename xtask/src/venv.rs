//! The project-local Python environments, each installing exactly what its
//! requirements file pins: `.venv/` for the test tools (moto's server,
//! cfn-lint, aws-sam-translator) and `.venv-deploy/` for the deploy tools
//! (aws-sam-cli, cargo-lambda, ziglang), kept apart because aws-sam-cli
//! pins its own boto3 and cfn-lint ranges, and `.venv/scan/` for checkov
//! (`cargo xtask scan`), kept apart because checkov pins an older boto3,
//! packaging and networkx than moto's.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

pub const REQUIREMENTS: &str = "requirements.txt";
const STAMP: &str = "requirements.installed";

pub const DEPLOY_REQUIREMENTS: &str = "requirements-deploy.txt";
pub const DEPLOY_DIR: &str = ".venv-deploy";

pub const SCAN_REQUIREMENTS: &str = "requirements-scan.txt";

pub fn dir(root: &Path) -> PathBuf {
    root.join(".venv")
}

pub fn bin(root: &Path, tool: &str) -> PathBuf {
    dir(root).join("bin").join(tool)
}

/// Creates or updates `.venv` so it holds exactly what `requirements.txt`
/// pins.
pub fn ensure(root: &Path) -> Result<PathBuf> {
    ensure_at(root, &dir(root), REQUIREMENTS)
}

/// The deploy tools' venv: `sam`, `cargo-lambda` and `python -m ziglang`
/// are in its `bin/`.
pub fn ensure_deploy(root: &Path) -> Result<PathBuf> {
    ensure_at(root, &root.join(DEPLOY_DIR), DEPLOY_REQUIREMENTS)
}

/// The scan tools' venv, a second venv inside `.venv/`: `checkov` is in
/// its `bin/`.
pub fn ensure_scan(root: &Path) -> Result<PathBuf> {
    ensure_at(root, &scan_dir(root), SCAN_REQUIREMENTS)
}

fn scan_dir(root: &Path) -> PathBuf {
    dir(root).join("scan")
}

/// A venv at `venv` holding what `requirements` pins. A stamp copy of the
/// requirements makes the common case free.
fn ensure_at(root: &Path, venv: &Path, requirements: &str) -> Result<PathBuf> {
    let python_bin = venv.join("bin/python");
    let wanted = std::fs::read_to_string(root.join(requirements))
        .with_context(|| format!("reading {requirements}"))?;
    let stamp = venv.join(STAMP);
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str())
        && python_bin.exists()
    {
        return Ok(venv.to_path_buf());
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    if !python_bin.exists() {
        eprintln!("venv: creating {} with {python}", venv.display());
        run(Command::new(&python).arg("-m").arg("venv").arg(venv))?;
    }
    eprintln!("venv: installing the pinned tools from {requirements}");
    run(Command::new(&python_bin)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            // No bytecode for every file installed: Python compiles the
            // modules a tool imports when it first imports them. Measured
            // on fresh venvs: requirements.txt 67 -> 44 CPU-s,
            // requirements-scan.txt 52 -> 45.
            "--no-compile",
            "-r",
        ])
        .arg(root.join(requirements)))?;
    std::fs::write(&stamp, wanted)?;
    Ok(venv.to_path_buf())
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("starting {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{:?} failed: {status}", cmd.get_program());
    }
    Ok(())
}
