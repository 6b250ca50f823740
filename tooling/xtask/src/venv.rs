//! The project-local Python environments, each installing exactly what its
//! requirements file pins: `.venv/` for the test tools (moto's server,
//! cfn-lint, aws-sam-translator) and `.venv-deploy/` for the deploy tools
//! (aws-sam-cli, cargo-lambda, ziglang), kept apart because aws-sam-cli
//! pins its own boto3 and cfn-lint ranges, and `.venv/scan/` for checkov
//! (`cargo xtask scan`), kept apart because checkov pins an older boto3,
//! packaging and networkx than moto's.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

pub const REQUIREMENTS: &str = "requirements.txt";
const STAMP: &str = "requirements.installed";
/// Written once the venv's modules are compiled to bytecode.
const COMPILED: &str = "bytecode.compiled";

pub const DEPLOY_REQUIREMENTS: &str = "requirements-deploy.txt";
pub const DEPLOY_DIR: &str = ".venv-deploy";

pub const SCAN_REQUIREMENTS: &str = "requirements-scan.txt";

pub fn dir(root: &Path) -> PathBuf {
    root.join(".venv")
}

pub fn bin(root: &Path, tool: &str) -> PathBuf {
    dir(root).join("bin").join(tool)
}

/// Creates or updates `.venv` so it holds exactly what `requirements.txt`
/// pins, its modules compiled to bytecode.
///
/// The tests start Python dozens of times (a moto server per local cloud,
/// cfn-lint, the SAM translator, schemathesis), and Python compiles a
/// module it imports only when no bytecode is on disk; where
/// `PYTHONDONTWRITEBYTECODE` is set (as on the machine measured here) it
/// never writes what it compiled, so every start compiled moto again.
/// Measured on one machine: moto's server ready after 1.36 CPU-s, then
/// 3.0 CPU-s importing the backends the local cloud uses; compiled once
/// (15 CPU-s, 8 s on two cores, at set-up), 0.38 and 1.3.
pub fn ensure(root: &Path) -> Result<PathBuf> {
    let venv = ensure_at(root, &dir(root), REQUIREMENTS)?;
    compile(&venv)?;
    Ok(venv)
}

/// Every module of `venv`'s site-packages as bytecode, once per install.
fn compile(venv: &Path) -> Result<()> {
    let marker = venv.join(COMPILED);
    let installed = std::fs::read(venv.join(STAMP))?;
    if std::fs::read(&marker).is_ok_and(|m| m == installed) {
        return Ok(());
    }
    let python = venv.join("bin/python");
    let out = Command::new(&python)
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ])
        .output()
        .context("asking the venv's Python for its site-packages")?;
    let site = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    eprintln!("venv: compiling {site} to bytecode");
    // compileall writes bytecode whatever PYTHONDONTWRITEBYTECODE says.
    let status = Command::new(&python)
        .args(["-m", "compileall", "-q", "-j", "0"])
        .arg(&site)
        .status()
        .context("starting compileall")?;
    // With -q, compileall prints only what failed. A file that does not
    // compile (a package's Python 2 example, say) stays source, as before;
    // the rest is compiled.
    if !status.success() {
        eprintln!(
            "venv: some modules did not compile (named above); Python compiles them on import"
        );
    }
    std::fs::write(marker, installed)?;
    Ok(())
}

/// The deploy tools' venv: `sam`, `cargo-lambda` and `python -m ziglang`
/// are in its `bin/`.
pub fn ensure_deploy(root: &Path) -> Result<PathBuf> {
    ensure_at(root, &root.join(DEPLOY_DIR), DEPLOY_REQUIREMENTS)
}

/// The scan tools' venv, a second venv inside `.venv/`: `checkov` is in
/// its `bin/`.
pub fn ensure_scan(root: &Path) -> Result<PathBuf> {
    ensure_at(root, &scan_dir(root), SCAN_REQUIREMENTS)
}

fn scan_dir(root: &Path) -> PathBuf {
    dir(root).join("scan")
}

/// A venv at `venv` holding exactly what `requirements` pins. A stamp copy
/// of the requirements makes the common case free.
///
/// uv installs, not pip: on fresh venvs with empty caches (one sitting)
/// pip took 30 CPU-s for requirements.txt and 30 for
/// requirements-scan.txt, uv 9 (pip installing uv included) and 2. The
/// set-up runs beside the build, which keeps both cores busy, so every
/// CPU-second saved here is half a second off the test command.
fn ensure_at(root: &Path, venv: &Path, requirements: &str) -> Result<PathBuf> {
    let python_bin = venv.join("bin/python");
    let wanted = std::fs::read_to_string(root.join(requirements))
        .with_context(|| format!("reading {requirements}"))?;
    let stamp = venv.join(STAMP);
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str())
        && python_bin.exists()
    {
        return Ok(venv.to_path_buf());
    }
    let uv = installer(root)?;
    if !python_bin.exists() {
        eprintln!("venv: creating {}", venv.display());
        run(Command::new(python())
            .args(["-m", "venv", "--without-pip"])
            .arg(venv))?;
    }
    eprintln!("venv: installing the pinned tools from {requirements}");
    run(Command::new(&uv)
        .args(["pip", "sync", "--quiet", "--python"])
        .arg(&python_bin)
        .arg(root.join(requirements)))?;
    std::fs::write(&stamp, wanted)?;
    Ok(venv.to_path_buf())
}

/// uv at the version requirements.txt pins, in `.venv/bin/`: the one pin
/// both installs it (pip, the first time) and keeps it (uv, as one of
/// `.venv`'s tools).
fn installer(root: &Path) -> Result<PathBuf> {
    let pins = std::fs::read_to_string(root.join(REQUIREMENTS))
        .with_context(|| format!("reading {REQUIREMENTS}"))?;
    let version = uv_pin(&pins).with_context(|| {
        format!("{REQUIREMENTS} pins no uv (a line `uv==<version>`), which installs every venv")
    })?;
    let uv = bin(root, "uv");
    // `uv 0.13.9 (x86_64-unknown-linux-gnu)`
    let found = Command::new(&uv).arg("--version").output().ok();
    let found = found.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    if found.as_deref().and_then(|f| f.split_whitespace().nth(1)) == Some(version) {
        return Ok(uv);
    }
    let venv = dir(root);
    if !venv.join("bin/python").exists() {
        eprintln!("venv: creating {}", venv.display());
        run(Command::new(python()).args(["-m", "venv"]).arg(&venv))?;
    }
    eprintln!("venv: installing uv {version} with pip");
    run(Command::new(venv.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--no-compile", &format!("uv=={version}")]))?;
    Ok(uv)
}

/// The version in a requirements file's `uv==<version>` line.
fn uv_pin(requirements: &str) -> Option<&str> {
    (requirements.lines())
        .find_map(|l| l.trim().strip_prefix("uv=="))
        .map(|v| v.split_whitespace().next().unwrap_or_default())
        .filter(|v| !v.is_empty())
}

/// The Python that creates the venvs: `PYTHON`, or `python3` on the PATH.
fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
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

#[cfg(test)]
mod tests {
    use super::uv_pin;

    #[test]
    fn the_uv_pin_is_read_from_its_line_alone() {
        let pins = "# uv==0.1.0 in a comment is not a pin\nurllib3==2.0\nuv==0.13.9\n";
        assert_eq!(uv_pin(pins), Some("0.13.9"));
        assert_eq!(uv_pin("uvicorn==0.30\n"), None);
        assert_eq!(uv_pin("uv==\n"), None);
    }
}
