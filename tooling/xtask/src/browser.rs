//! The browser the web tests drive: Debian's Chromium and the ChromeDriver
//! built from the same sources (packages `chromium` and `chromium-driver`),
//! so the two always match. Installed here when missing; no test tool
//! downloads a browser of its own.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The browser and its driver, installed with apt-get if missing.
pub fn ensure() -> Result<(PathBuf, PathBuf)> {
    let present = || Path::new(CHROMIUM).is_file() && Path::new(CHROMEDRIVER).is_file();
    if !present() {
        eprintln!("==> browser: installing Debian's chromium and chromium-driver");
        let apt = |args: &[&str]| -> Result<bool> {
            let mut command = if is_root() {
                Command::new("apt-get")
            } else {
                let mut sudo = Command::new("sudo");
                sudo.args(["-n", "apt-get"]);
                sudo
            };
            Ok(command
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .context("starting apt-get")?
                .success())
        };
        let install = [
            "install",
            "-y",
            "--no-install-recommends",
            "chromium",
            "chromium-driver",
        ];
        // A fresh machine's package lists may be empty or stale.
        let installed = apt(&install)? || (apt(&["update"])? && apt(&install)?);
        if !installed {
            bail!(
                "could not install chromium and chromium-driver with apt-get; install them (Debian packages) and run again"
            );
        }
        if !present() {
            bail!("apt-get ran, but {CHROMIUM} or {CHROMEDRIVER} is still missing");
        }
    }
    Ok((CHROMIUM.into(), CHROMEDRIVER.into()))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
