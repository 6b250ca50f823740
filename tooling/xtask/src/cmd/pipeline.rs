//! The pipeline's commands (CI and deploys): the generated workflows and
//! CODEOWNERS (`ci`), what a change affects, the deploy tools and `sam
//! build`.

use std::process::{Command, ExitCode};

use anyhow::{Context, Result};
use repo::workspace::Workspace;
use xtask::{affected, owners, team_accounts, venv, workflows};

use super::service_names;

pub(crate) fn affected_cmd(root: &std::path::Path, base: &str) -> Result<ExitCode> {
    let workspace = Workspace::load(root)?;
    let files = affected::changed_files(root, base)?;
    for unit in affected::units(&workspace, &service_names(), &files) {
        println!("{unit}");
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn deploy_tools(root: &std::path::Path) -> Result<ExitCode> {
    let dir = venv::ensure_deploy(root)?;
    println!(
        "deploy tools ready: {}/bin (sam, cargo-lambda)",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The files `cargo xtask ci` writes: the workflows, CODEOWNERS and the
/// platform template's team accounts.
pub(crate) fn pipeline_files(root: &std::path::Path) -> Result<Vec<(String, String)>> {
    let mut files = workflows::generate(&Workspace::load(root)?, &service_names());
    files.push((owners::FILE.to_owned(), owners::generated()));
    let platform = repo::template_in(root, repo::PLATFORM);
    let text = std::fs::read_to_string(&platform)
        .with_context(|| format!("reading {}", platform.display()))?;
    let relative = platform.strip_prefix(root)?.to_string_lossy().into_owned();
    files.push((relative, team_accounts::spliced(&text, &service_names())?));
    Ok(files)
}

/// Writes the workflows and CODEOWNERS, or with `check` only reports the
/// ones that differ.
pub(crate) fn ci(root: &std::path::Path, check: bool) -> Result<ExitCode> {
    let files = pipeline_files(root)?;
    if check {
        return Ok(report_stale(root, &files));
    }
    let stale = workflows::stale(root, &files);
    for (file, text) in files.iter().filter(|(f, _)| stale.contains(f)) {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().expect("a file has a folder"))?;
        std::fs::write(&path, text)?;
        println!("wrote {file}");
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn report_stale(root: &std::path::Path, files: &[(String, String)]) -> ExitCode {
    let stale = workflows::stale(root, files);
    if stale.is_empty() {
        eprintln!("{} generated file(s) up to date", files.len());
        return ExitCode::SUCCESS;
    }
    for file in &stale {
        eprintln!("stale: {file}");
    }
    eprintln!("run `cargo xtask ci` and commit the result");
    ExitCode::FAILURE
}

pub(crate) fn sam_build(root: &std::path::Path, service: &str, arch: &str) -> Result<ExitCode> {
    if !service_names().contains(&service) {
        anyhow::bail!(
            "no service {service}; known: {}",
            service_names().join(", ")
        );
    }
    let tools = venv::ensure_deploy(root)?.join("bin");
    let dir = repo::service_dir_in(root, service);
    let path = std::env::join_paths(std::iter::once(tools.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))?;
    let started = std::time::Instant::now();
    let status = Command::new(tools.join("sam"))
        .current_dir(&dir)
        .args(["build", "--beta-features", "--parameter-overrides"])
        .arg(format!("Architecture={arch}"))
        .env("PATH", path)
        .env("SAM_CLI_TELEMETRY", "0")
        .status()
        .context("starting sam")?;
    if !status.success() {
        return Ok(ExitCode::FAILURE);
    }
    let took = started.elapsed();
    println!("sam build {service} ({arch}): {:.0} s", took.as_secs_f64());
    let build = dir.join(".aws-sam/build");
    let mut rows: Vec<(String, u64)> = Vec::new();
    for entry in std::fs::read_dir(&build)?.flatten() {
        let bootstrap = entry.path().join("bootstrap");
        if let Ok(meta) = std::fs::metadata(&bootstrap) {
            rows.push((entry.file_name().to_string_lossy().into_owned(), meta.len()));
        }
    }
    rows.sort();
    println!("{:<32} {:>10}", "FUNCTION", "BYTES");
    for (function, bytes) in rows {
        println!("{function:<32} {bytes:>10}  ({:.2} MB)", bytes as f64 / 1e6);
    }
    Ok(ExitCode::SUCCESS)
}
