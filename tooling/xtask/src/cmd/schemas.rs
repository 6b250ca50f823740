//! `cargo xtask schemas generate|check|diff`: the committed JSON Schemas
//! and generated documents against the event types and the git baseline.

use std::process::ExitCode;

use anyhow::{Context, Result};
use compat::{Mode, Policy};
use governance::schemas::{self, Baseline, Rules};
use xtask::cli::SchemasCmd;

use crate::{exit_code, root};

/// `schemas generate|check|diff`; `diff` compares two files anywhere, so
/// it alone needs no checkout.
pub(crate) fn schemas_cmd(command: SchemasCmd) -> Result<ExitCode> {
    match command {
        SchemasCmd::Generate => schemas_generate(&root()?),
        SchemasCmd::Check {
            base,
            no_baseline,
            mode,
            policy,
        } => schemas_check(
            &root()?,
            base,
            no_baseline,
            Rules {
                mode: mode.map(Into::into),
                policy: policy.into(),
            },
        ),
        SchemasCmd::Diff {
            old,
            new,
            mode,
            policy,
            json,
        } => schemas_diff(&old, &new, mode.into(), policy.into(), json),
    }
}

pub(crate) fn schemas_generate(root: &std::path::Path) -> Result<ExitCode> {
    let written = schemas::generate(root)?;
    for file in &written {
        println!("wrote {file}");
    }
    println!("schemas: {} file(s) rewritten", written.len());
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn schemas_diff(
    old: &std::path::Path,
    new: &std::path::Path,
    mode: Mode,
    policy: Policy,
    json: bool,
) -> Result<ExitCode> {
    let read = |path: &std::path::Path| -> Result<serde_json::Value> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
    };
    // Bad input is exit 2 (main's error path), distinct from "breaking".
    let findings = compat::compare(&read(old)?, &read(new)?, mode, policy)
        .context("not a usable JSON Schema")?;
    for finding in &findings {
        if json {
            println!("{}", finding.to_json());
        } else {
            println!("{finding}");
        }
    }
    if !json {
        let verdict = if findings.is_empty() {
            "compatible".to_owned()
        } else {
            format!("breaking: {} finding(s)", findings.len())
        };
        println!("{verdict} ({}, {})", mode.as_str(), policy.as_str());
    }
    Ok(exit_code(findings.is_empty()))
}

pub(crate) fn schemas_check(
    root: &std::path::Path,
    base: Option<String>,
    no_baseline: bool,
    rules: Rules,
) -> Result<ExitCode> {
    let baseline = match (base, no_baseline) {
        (_, true) => Baseline::None,
        (Some(rev), false) => Baseline::Git {
            repo: root.to_path_buf(),
            rev,
        },
        (None, false) => Baseline::auto(root),
    };
    let mut report = schemas::check_with(root, root, &baseline, rules)?;
    report.problems.extend(schemas::check_docs(root)?);
    print!("{}", report.render());
    Ok(exit_code(report.is_ok()))
}
