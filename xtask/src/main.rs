use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use xtask::schemas::{self, Baseline};
use xtask::venv;

/// Project automation. `cargo xtask test` is the command CI runs.
#[derive(Parser)]
#[command(name = "cargo xtask", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Event contract schemas under events/schemas/.
    Schemas {
        #[command(subcommand)]
        command: SchemasCmd,
    },
    /// Create or update the project-local Python venv from requirements.txt.
    Venv,
    /// Run the whole system locally (the local cloud) until Ctrl-C:
    /// builds the function binaries, then `devstack up`.
    Up {
        /// Arguments for `devstack up` (see `cargo xtask up -- --help`).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Benchmarks of the local cloud with release binaries (slow to build).
    Bench {
        /// Arguments for `devstack bench`.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Every test: venv, schema check, cargo fmt/clippy-free test suite.
    Test {
        /// Extra arguments passed to `cargo test`.
        #[arg(last = true)]
        cargo_args: Vec<String>,
    },
}

#[derive(Subcommand)]
enum SchemasCmd {
    /// Rewrite the schema files from the Rust types.
    Generate,
    /// Fail when committed schemas are stale or a change breaks consumers.
    Check {
        /// Git revision to compare against (default: merge base with
        /// origin/main, else HEAD).
        #[arg(long, conflicts_with = "no_baseline")]
        base: Option<String>,
        /// Skip the breaking-change comparison against git.
        #[arg(long)]
        no_baseline: bool,
    },
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let root = root();
    match cli.command {
        Cmd::Schemas {
            command: SchemasCmd::Generate,
        } => {
            let written = schemas::generate(&root)?;
            for file in &written {
                println!("wrote {}/{file}", schemas::SCHEMAS_DIR);
            }
            println!("schemas: {} file(s) rewritten", written.len());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Schemas {
            command: SchemasCmd::Check { base, no_baseline },
        } => schemas_check(&root, base, no_baseline),
        Cmd::Venv => {
            let dir = venv::ensure(&root)?;
            println!("venv ready: {}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Test { cargo_args } => test(&root, &cargo_args),
        Cmd::Up { args } => devstack(&root, "up", &args, false),
        Cmd::Bench { args } => devstack(&root, "bench", &args, true),
    }
}

fn schemas_check(
    root: &std::path::Path,
    base: Option<String>,
    no_baseline: bool,
) -> Result<ExitCode> {
    let baseline = match (base, no_baseline) {
        (_, true) => Baseline::None,
        (Some(rev), false) => Baseline::Git {
            repo: root.to_path_buf(),
            rev,
        },
        (None, false) => Baseline::auto(root),
    };
    let report = schemas::check(
        &root.join(schemas::SCHEMAS_DIR),
        &root.join(schemas::EXAMPLES_DIR),
        &baseline,
    )?;
    print!("{}", report.render());
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn devstack(
    root: &std::path::Path,
    command: &str,
    args: &[String],
    release: bool,
) -> Result<ExitCode> {
    venv::ensure(root)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(&cargo);
    build
        .current_dir(root)
        .args(["build", "--workspace", "--bins"]);
    if release {
        build.arg("--release");
    }
    if !build.status().context("building the binaries")?.success() {
        return Ok(ExitCode::FAILURE);
    }
    let dir = root
        .join("target")
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
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn test(root: &std::path::Path, cargo_args: &[String]) -> Result<ExitCode> {
    let venv = venv::ensure(root)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let step = |name: &str, args: &[&str], extra: &[String]| -> Result<bool> {
        eprintln!("==> {name}");
        let status = Command::new(&cargo)
            .current_dir(root)
            .args(args)
            .args(extra)
            .env("PROJECT_VENV", &venv)
            .status()
            .with_context(|| format!("running {name}"))?;
        Ok(status.success())
    };
    eprintln!("==> schemas check");
    if schemas_check(root, None, false)? != ExitCode::SUCCESS {
        return Ok(ExitCode::FAILURE);
    }
    let ok = step("cargo fmt --check", &["fmt", "--all", "--", "--check"], &[])?
        && step(
            "cargo clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--quiet",
                "--",
                "-D",
                "warnings",
            ],
            &[],
        )?
        // The end-to-end tests run the real function binaries.
        && step("cargo build --bins", &["build", "--workspace", "--bins"], &[])?
        && step("cargo test", &["test", "--workspace"], cargo_args)?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
