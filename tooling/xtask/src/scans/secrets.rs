//! detect-secrets over the files git knows (tracked, and new ones it does
//! not ignore, so a secret is caught before its first commit), judged
//! against the committed baseline: every baseline entry must be audited as
//! a false positive, and a finding the baseline lacks is new and fails.
//!
//! The scan reuses the baseline's own settings (plugins, limits, excluded
//! files) by running `detect-secrets scan --baseline` on a scratch copy:
//! that command rewrites the baseline it is given, and the committed one
//! must never change under a test run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use xtask::venv;

pub const BASELINE: &str = ".secrets.baseline";

/// A baseline, as detect-secrets writes it (only what the check reads).
#[derive(Debug, Deserialize)]
struct Baseline {
    results: BTreeMap<String, Vec<Secret>>,
}

#[derive(Debug, Deserialize)]
struct Secret {
    #[serde(rename = "type")]
    kind: String,
    filename: String,
    hashed_secret: String,
    line_number: u64,
    /// Set by `detect-secrets audit`: `false` is a false positive.
    is_secret: Option<bool>,
}

/// A finding's identity: line numbers move, the file, kind and hash do not.
type Key<'a> = (&'a str, &'a str, &'a str);

impl Secret {
    fn key(&self) -> Key<'_> {
        (&self.filename, &self.kind, &self.hashed_secret)
    }
}

impl Baseline {
    fn read(path: &Path) -> Result<Baseline> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not a baseline", path.display()))
    }

    fn secrets(&self) -> impl Iterator<Item = &Secret> {
        self.results.values().flatten()
    }
}

pub fn run(root: &Path) -> Result<bool> {
    let committed = Baseline::read(&root.join(BASELINE))?;
    let unaudited = report_unaudited(&committed);
    let files = known_files(root)?;
    let found = scan(root, &files)?;
    let known: BTreeSet<Key> = committed.secrets().map(Secret::key).collect();
    let now: BTreeSet<Key> = found.secrets().map(Secret::key).collect();
    let new: Vec<&Secret> = found
        .secrets()
        .filter(|s| !known.contains(&s.key()))
        .collect();
    for s in &new {
        println!("NEW    {}:{} {}", s.filename, s.line_number, s.kind);
    }
    if !new.is_empty() {
        println!("       remove the secret; a false positive gets `# pragma: allowlist secret`,");
        println!(
            "       or a refreshed and audited {BASELINE} (see {}, The scans)",
            repo::paths::SECURITY_PAGE
        );
    }
    let stale = known.difference(&now).count();
    if stale > 0 {
        println!(
            "note: {stale} baseline finding(s) no longer found; refresh {BASELINE} to drop them"
        );
    }
    println!(
        "detect-secrets: {} files, {} baseline entries ({unaudited} not audited as false positives), {} new, {stale} gone",
        files.len(),
        known.len(),
        new.len(),
    );
    Ok(new.is_empty() && unaudited == 0)
}

/// Prints each baseline entry not audited as a false positive: a real
/// secret there has leaked already, an unaudited one nobody has judged.
fn report_unaudited(baseline: &Baseline) -> usize {
    let mut count = 0;
    for s in baseline.secrets().filter(|s| s.is_secret != Some(false)) {
        let why = match s.is_secret {
            Some(true) => "marked a real secret: rotate it, remove it, refresh the baseline",
            _ => "not audited: run `.venv/bin/detect-secrets audit .secrets.baseline`",
        };
        println!(
            "BASELINE {}:{} {}: {why}",
            s.filename, s.line_number, s.kind
        );
        count += 1;
    }
    count
}

/// The files git tracks or would (untracked, not ignored) that exist.
fn known_files(root: &Path) -> Result<Vec<String>> {
    let listed = repo::git::run(
        root,
        &[
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
    )?;
    let files: BTreeSet<&str> = listed
        .split('\0')
        .filter(|f| !f.is_empty() && root.join(f).is_file())
        .collect();
    Ok(files.into_iter().map(str::to_owned).collect())
}

/// detect-secrets over `files` with the baseline's settings, without
/// verifying anything over the network (`--no-verify`).
fn scan(root: &Path, files: &[String]) -> Result<Baseline> {
    let bin = venv::ensure(root)?.join("bin/detect-secrets");
    let scratch = Scratch::copy_of(&root.join(BASELINE))?;
    let status = Command::new(&bin)
        .current_dir(root)
        .args(["scan", "--no-verify", "--baseline"])
        .arg(&scratch.0)
        .args(files)
        .stdin(Stdio::null())
        .status()
        .context("starting detect-secrets")?;
    if !status.success() {
        bail!("detect-secrets scan failed ({status}); its messages are above");
    }
    Baseline::read(&scratch.0)
}

/// A copy of the baseline in the temporary folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn copy_of(baseline: &Path) -> Result<Scratch> {
        let path = std::env::temp_dir().join(format!("xtask-secrets-{}.json", std::process::id()));
        std::fs::copy(baseline, &path)
            .with_context(|| format!("copying {} to {}", baseline.display(), path.display()))?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
