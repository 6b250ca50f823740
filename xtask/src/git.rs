//! git, as the tools here ask it: one runner, its errors carrying the
//! command and git's own message.

use std::path::Path;
use std::process::{Command, Output};

use anyhow::{Context, Result, bail};

fn output(repo: &Path, args: &[&str]) -> Result<Output> {
    Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .context("running git")
}

/// `git -C repo args…`: its standard output, or an error with its stderr.
pub fn run(repo: &Path, args: &[&str]) -> Result<String> {
    let out = output(repo, args)?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// A file as committed at `rev`, or `None` when it is not in that commit.
pub fn show(repo: &Path, rev: &str, file: &str) -> Result<Option<String>> {
    let out = output(repo, &["show", &format!("{rev}:{file}")])?;
    if out.status.success() {
        return Ok(Some(String::from_utf8(out.stdout)?));
    }
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("does not exist") || err.contains("exists on disk, but not in") {
        return Ok(None);
    }
    bail!("git show {rev}:{file}: {}", err.trim())
}
