//! `cargo xtask test <service>`: what a team runs before it pushes. The
//! same build as the whole command (so neither rebuilds for the other),
//! then the service's own tests, the contract crates' and the
//! cross-service tests that exercise the service; the rest is named as
//! left to CI.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use xtask::team_loop::system_tests;
use xtask::{browser, venv, web};

use crate::cmd::test::{ci_build, clippy_as_compiler, compile, run_tests, timed};
use crate::exit_code;
use crate::lanes::{Prepared, Selection};

/// The packages whose test binaries a team's run takes: the service's and
/// the contracts' (the event types and the declarations).
fn packages(root: &Path, service: &str) -> Vec<PathBuf> {
    vec![
        repo::service_dir_in(root, service),
        root.join(repo::paths::EVENTS_DIR),
        root.join(repo::paths::DECLARATIONS_DIR),
    ]
}

pub(crate) fn test(root: &Path, service: &str, cargo_args: &[String]) -> Result<ExitCode> {
    if !repo::SERVICES.contains(&service) {
        bail!(
            "{service} is not a service (the services: {})",
            repo::SERVICES.join(", ")
        );
    }
    let started = std::time::Instant::now();
    let mut build = clippy_as_compiler()?.to_vec();
    build.extend(ci_build());
    let prepared = prepare(root)?;
    if !compile(root, &build)? {
        return Ok(ExitCode::FAILURE);
    }
    let (packages, system) = (packages(root, service), system_tests(service));
    let selection = Selection::Team {
        packages: &packages,
        system: &system,
    };
    let passed = run_tests(root, cargo_args, &build, &prepared, &selection)?;
    eprintln!(
        "==> the {service} team's tests: {} in {:.0} s",
        if passed { "ok" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    eprintln!(
        "==> left to CI (`cargo xtask test`): the other test binaries, the rest of `all`, the doctests, the document checks and the scans"
    );
    Ok(exit_code(passed))
}

/// What the chosen tests run with: the venv (the engine), the browser,
/// and the apps the local cloud serves, built only when missing (a
/// team's loop changes its service, not them).
fn prepare(root: &Path) -> Result<Prepared> {
    let venv = timed("set-up: python venv", || venv::ensure(root))?;
    if !root.join(repo::paths::WEB_DIST).is_dir() {
        timed("set-up: web app", || web::build(root))?;
    }
    if !root.join(repo::paths::CONSOLE_DIST).is_dir() {
        timed("set-up: console", || web::build_console(root))?;
    }
    let (chromium, chromedriver) = timed("set-up: browser", browser::ensure)?;
    Ok(Prepared {
        venv,
        chromium,
        chromedriver,
    })
}
