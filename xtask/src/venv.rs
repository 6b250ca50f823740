//! The project-local Python environment (`.venv/`) with the pinned tools:
//! moto's server, cfn-lint and aws-sam-translator.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

pub const REQUIREMENTS: &str = "requirements.txt";
const STAMP: &str = "requirements.installed";

pub fn dir(root: &Path) -> PathBuf {
    root.join(".venv")
}

pub fn bin(root: &Path, tool: &str) -> PathBuf {
    dir(root).join("bin").join(tool)
}

/// Creates or updates `.venv` so it holds exactly what `requirements.txt`
/// pins. A stamp copy of the requirements makes the common case free.
pub fn ensure(root: &Path) -> Result<PathBuf> {
    let venv = dir(root);
    let wanted = std::fs::read_to_string(root.join(REQUIREMENTS))
        .with_context(|| format!("reading {REQUIREMENTS}"))?;
    let stamp = venv.join(STAMP);
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str())
        && bin(root, "python").exists()
    {
        return Ok(venv);
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    if !bin(root, "python").exists() {
        eprintln!("venv: creating {} with {python}", venv.display());
        run(Command::new(&python).arg("-m").arg("venv").arg(&venv))?;
    }
    eprintln!("venv: installing the pinned tools from {REQUIREMENTS}");
    run(Command::new(bin(root, "python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(root.join(REQUIREMENTS)))?;
    std::fs::write(&stamp, wanted)?;
    Ok(venv)
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
