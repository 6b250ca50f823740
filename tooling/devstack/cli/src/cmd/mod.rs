//! One module per command (or group of commands), as `ops` has them; the
//! clap definitions are `devstack::cli`, the dispatch is `main`.

pub(crate) mod campaigns;
pub(crate) mod conformance;
pub(crate) mod deploy;
pub(crate) mod identity;
pub(crate) mod telemetry;
pub(crate) mod traffic;
pub(crate) mod up;

use std::path::{Path, PathBuf};

use anyhow::Result;
use devstack_api::Endpoints;

/// `devstack up` records beside its endpoints file.
pub(crate) fn telemetry_dir(endpoints_file: &Path) -> PathBuf {
    endpoints_file
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join("telemetry")
}

/// What the running (or last) local cloud recorded.
pub(crate) fn recorded_dir(endpoints_file: &Path) -> PathBuf {
    match read_endpoints(endpoints_file) {
        Ok(e) if !e.telemetry_dir.is_empty() => PathBuf::from(e.telemetry_dir),
        _ => telemetry_dir(endpoints_file),
    }
}

pub(crate) fn read_endpoints(path: &Path) -> Result<Endpoints> {
    if !path.is_file() {
        anyhow::bail!("{} not found: is `cargo xtask up` running?", path.display());
    }
    Ok(Endpoints::read(path)?)
}

pub(crate) async fn wait_for_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

pub(crate) fn seconds(what: &str, s: f64) -> Result<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(s)
        .map_err(|_| anyhow::anyhow!("--{what} {s}: not a number of seconds"))
}
