//! The local cloud and what it serves: `up`, `load` and `bench` through
//! the devstack binary, the browser bench, the apps' builds (`web`), the
//! OpenAPI documents and the Python venv.

use std::process::{Command, ExitCode};

use anyhow::{Context, Result};
use repo::workspace::Workspace;
use xtask::{browser, venv, web};

use super::service_names;
use crate::exit_code;

pub(crate) fn venv_cmd(root: &std::path::Path) -> Result<ExitCode> {
    let dir = venv::ensure(root)?;
    println!("venv ready: {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn openapi(root: &std::path::Path) -> Result<ExitCode> {
    // The document is built by each service's own unit test, so this
    // tool never compiles the services (or their SDK clients) itself.
    let status = repo::cargo::command()
        .current_dir(root)
        .env("OPENAPI_WRITE", "1")
        .args(["test", "-q", "--lib"])
        .args(repo::SERVICES.iter().flat_map(|s| ["-p", *s]))
        .arg("openapi::")
        .status()?;
    if !status.success() {
        anyhow::bail!("generating the OpenAPI documents failed");
    }
    for service in service_names() {
        println!("wrote {}/{service}/openapi.json", repo::paths::SERVICES_DIR);
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn web_cmd(root: &std::path::Path) -> Result<ExitCode> {
    let dist = web::build(root)?;
    println!("web app built: {}", dist.display());
    let console = web::build_console(root)?;
    println!("console built: {}", console.display());
    Ok(ExitCode::SUCCESS)
}

/// The local cloud's benchmarks, then the browser bench.
pub(crate) fn bench(root: &std::path::Path, args: &[String]) -> Result<ExitCode> {
    let status = devstack(root, "bench", args, true)?;
    if status != ExitCode::SUCCESS {
        return Ok(status);
    }
    web_bench(root)
}

pub(crate) fn devstack(
    root: &std::path::Path,
    command: &str,
    args: &[String],
    release: bool,
) -> Result<ExitCode> {
    venv::ensure(root)?;
    web::build(root)?;
    web::build_console(root)?;
    let mut build = repo::cargo::command();
    build
        .current_dir(root)
        .args(["build", "--workspace", "--bins"]);
    if release {
        build.arg("--release");
    }
    if !build.status().context("building the binaries")?.success() {
        return Ok(ExitCode::FAILURE);
    }
    // Wherever cargo put them: CARGO_TARGET_DIR, a config file, the default.
    let dir = Workspace::load(root)?
        .target_dir
        .join(if release { "release" } else { "debug" });
    let status = Command::new(dir.join("devstack"))
        .current_dir(root)
        .arg(command)
        .arg("--bin-dir")
        .arg(&dir)
        .args(args)
        .env("PROJECT_VENV", venv::dir(root))
        .status()
        .context("starting devstack")?;
    Ok(exit_code(status.success()))
}

/// Completion → congratulation rendered in a real browser, against the
/// release functions `devstack` (bench) just built.
pub(crate) fn web_bench(root: &std::path::Path) -> Result<ExitCode> {
    let (chromium, chromedriver) = browser::ensure()?;
    let status = repo::cargo::command()
        .current_dir(root)
        .args(["bench", "-p", "tests", "--bench", "web"])
        .env("PROJECT_VENV", venv::dir(root))
        .env("CHROMIUM", chromium)
        .env("CHROMEDRIVER", chromedriver)
        .status()
        .context("running the browser bench")?;
    Ok(exit_code(status.success()))
}
