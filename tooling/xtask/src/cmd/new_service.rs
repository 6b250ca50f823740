//! `cargo xtask new-service`: a service from the skeleton, registered.

use std::process::ExitCode;

use anyhow::Result;
use xtask::new_service;

pub(crate) fn new_service_cmd(
    root: &std::path::Path,
    name: &str,
    item: Option<&str>,
) -> Result<ExitCode> {
    let names = new_service::Names::new(name, item)?;
    let created = new_service::create(root, &names)?;
    for file in created.files.iter().chain(&created.registered) {
        println!(
            "wrote {}",
            file.strip_prefix(root).unwrap_or(file).display()
        );
    }
    // The skeleton's lines are as long as the names make them.
    let status = repo::cargo::command()
        .current_dir(root)
        .args(["fmt", "--package", name, "--package", "events"])
        .args(["--package", "declarations"])
        .status()?;
    if !status.success() {
        anyhow::bail!("cargo fmt --package {name} failed");
    }
    // A new run of this tool, built with the new service in the list: the
    // running one compiled the contracts of the services it knew.
    for step in [&["openapi"][..], &["ci"], &["schemas", "generate"]] {
        let status = repo::cargo::command()
            .current_dir(root)
            .args(["run", "--quiet", "--package", "xtask", "--"])
            .args(step)
            .status()?;
        if !status.success() {
            anyhow::bail!(
                "cargo xtask {} failed after creating {name}",
                step.join(" ")
            );
        }
    }
    println!(
        "{name}: created. Next: its events ({}), its domain, `cargo xtask test`.",
        repo::paths::event_types_file(name)
    );
    Ok(ExitCode::SUCCESS)
}
