//! The whole test command as a new machine runs it: a clone of HEAD with
//! an empty `CARGO_HOME`, its own target (`CARGO_TARGET_DIR`), no `.venv`
//! and `CI=true`, each step as the command timed it. The scratch folder
//! is deleted afterwards. (Chromium stays installed: the bench cannot
//! take the machine's packages away.)

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::Row;
use super::steps;

pub(crate) async fn run(root: &Path, scratch: Option<&Path>) -> Result<Vec<Row>> {
    let scratch = match scratch {
        Some(dir) => dir.to_owned(),
        None => std::env::temp_dir().join(format!("loop-bench-fresh-{}", std::process::id())),
    };
    if scratch.exists() {
        bail!(
            "{} exists: the fresh run needs a folder of its own",
            scratch.display()
        );
    }
    let scratch = Scratch(scratch);
    clone_and_test(root, &scratch.0).await
}

/// The clone, its `CARGO_HOME` and its target: gigabytes, deleted however
/// the run ends.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            eprintln!("could not delete {}: {e}", self.0.display());
        }
    }
}

async fn clone_and_test(root: &Path, scratch: &Path) -> Result<Vec<Row>> {
    let clone = scratch.join("clone");
    // What CI's machine has beside its checkout (the advisory snapshot in
    // `../shared/`), beside the clone too.
    let beside = root.join(repo::paths::SHARED);
    if beside.is_dir() {
        std::fs::create_dir_all(scratch)?;
        std::os::unix::fs::symlink(beside.canonicalize()?, scratch.join("shared"))?;
    }
    let cloned = std::process::Command::new("git")
        .args(["clone", "--quiet", "--no-hardlinks"])
        .arg(root)
        .arg(&clone)
        .status()
        .context("running git clone")?;
    if !cloned.success() {
        bail!("git clone of {} failed", root.display());
    }
    let mut cargo = repo::cargo::command();
    cargo
        .current_dir(&clone)
        .args(["xtask", "test"])
        .env("CARGO_HOME", scratch.join("cargo-home"))
        .env("CARGO_TARGET_DIR", scratch.join("target"))
        .env("CI", "true")
        .env_remove("PROJECT_VENV")
        .env_remove("CARGO_INCREMENTAL");
    let log = steps::log_in(root, "fresh");
    let started = Instant::now();
    let (passed, text) = steps::run_logged(cargo, &log).await?;
    let mut rows = vec![Row {
        what: "fresh clone: cargo xtask test".into(),
        seconds: started.elapsed().as_secs_f64(),
        note: steps::outcome(passed, &log),
    }];
    rows.extend(steps::timed(&text).into_iter().map(|(name, seconds)| Row {
        what: format!("  {name}"),
        seconds,
        note: String::new(),
    }));
    Ok(rows)
}
