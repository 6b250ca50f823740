//! The security scans, pinned and offline, each failing on something new:
//! checkov over the CloudFormation templates (against the reasoned skip
//! list `tooling/security/checkov-skips.toml`), detect-secrets over the files git
//! knows (against the audited `.secrets.baseline`) and cargo-deny over the
//! lockfile (advisories from the RustSec snapshot beside the checkout,
//! licences and sources, `deny.toml`). `cargo xtask scan` runs them; so
//! does the test command.
//!
//! Only 127.0.0.1 may be reached while they run: checkov gets its
//! no-download switches, detect-secrets `--no-verify`, cargo-deny
//! `--offline` and a database it need not fetch (the `cargo fetch` before
//! it reaches crates.io, as the build does).

mod checkov;
mod deny;
mod secrets;

pub(crate) use deny::snapshot as advisory_snapshot;

use std::path::Path;
use std::time::Instant;

use anyhow::Result;

type Scan = fn(&Path) -> Result<bool>;

/// Every scan, one after the other (all run, so one report shows every
/// finding): whether all passed. An error is a scan that could not run.
pub fn run(root: &Path) -> Result<bool> {
    let scans: [(&str, Scan); 3] = [
        ("checkov", checkov::run),
        ("detect-secrets", secrets::run),
        ("cargo-deny", deny::run),
    ];
    let mut all = true;
    for (name, scan) in scans {
        eprintln!("==> scan: {name}");
        let started = Instant::now();
        let passed = scan(root)?;
        let verdict = if passed { "passed" } else { "FAILED" };
        eprintln!(
            "{name}: {verdict} ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
        all &= passed;
    }
    Ok(all)
}

/// The path of `path` relative to `root`, with `/` separators, as the
/// scanners' reports name files.
fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}
