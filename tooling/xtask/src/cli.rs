//! `cargo xtask` as clap defines it: every subcommand, its arguments and
//! their help. In the library so that the docs test reads it
//! (`Cli::command()`); `main.rs` parses with it and runs each command.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use compat::{Mode, Policy};

/// Project automation. `cargo xtask test` is the command CI runs.
#[derive(Parser)]
#[command(name = "cargo xtask", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Event contract schemas, in `events/schemas/`.
    Schemas {
        #[command(subcommand)]
        command: SchemasCmd,
    },
    /// Create or update the project-local Python venv from requirements.txt.
    Venv,
    /// Rewrite each service's `openapi.json` from its API types and routes
    /// (the services' `openapi` unit tests check it is current).
    Openapi,
    /// Build the web app (web/ → web/dist/) and the local cloud's console
    /// (tooling/devstack/console/page/ → its dist/) with their pinned toolchain.
    Web,
    /// Run the whole system locally (the local cloud) until Ctrl-C:
    /// builds the function binaries, then `devstack up`.
    Up {
        /// Arguments for `devstack up` (see `cargo xtask up -- --help`).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Benchmarks of the local cloud with release binaries (slow to build),
    /// then the browser bench (completion → congratulation rendered).
    Bench {
        /// Arguments for `devstack bench`.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// The full load run, a bench: release binaries, then `devstack load`
    /// on a fresh local cloud of its own with fault proxies (pass
    /// `-- --chaos --users 50 --todos 2000` and so on).
    Load {
        /// Arguments for `devstack load`.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Write the per-service GitHub Actions workflows and CODEOWNERS from
    /// the dependency graph and the declared contracts.
    Ci {
        /// Change nothing; fail when the committed files differ.
        #[arg(long)]
        check: bool,
    },
    /// Print the services (and `platform`, `contracts`) a change touches,
    /// one per line: files changed since REV's merge base with HEAD,
    /// committed or not, through the cargo dependency graph.
    Affected {
        #[arg(long)]
        base: String,
    },
    /// Install the pinned deploy tools (aws-sam-cli, cargo-lambda, ziglang)
    /// into .venv-deploy/ from requirements-deploy.txt.
    DeployTools,
    /// `sam build` one service with the pinned tools, then print the time
    /// and each function's artifact size.
    SamBuild {
        service: String,
        /// The functions' CPU (the template's Architecture parameter).
        #[arg(long, default_value = "x86_64", value_parser = ["x86_64", "arm64"])]
        arch: String,
    },
    /// Whether SERVICE at HEAD may be deployed next to the deployed stacks:
    /// exit 0 yes, 1 no (each breaking producer–consumer pair listed, and
    /// each deploy plan step that must ship first), 2 when it cannot tell.
    CanIDeploy {
        service: String,
        /// The git repository to read contracts from.
        #[arg(long, default_value = ".")]
        repo: PathBuf,
        /// The revision to deploy.
        #[arg(long, default_value = "HEAD")]
        head: String,
        /// Read the stacks from this local cloud (its endpoints file)
        /// instead of AWS.
        #[arg(long)]
        endpoints_file: Option<PathBuf>,
        /// The ops binary to list stacks with (default: `cargo ops`).
        #[arg(long)]
        ops: Option<PathBuf>,
    },
    /// The order teams ship a contract change in: for each event whose
    /// schema or roles change between two revisions, its producer,
    /// consumers (each rule judged), compatibility both ways, and the steps
    /// stage by stage (or expand and contract). Exit 0 when any order is
    /// safe, 1 when an order or expand/contract is required, 2 when it
    /// cannot tell (an unreadable schema, an unknown revision).
    Plan {
        /// The git repository to read contracts from.
        #[arg(long, default_value = ".")]
        repo: PathBuf,
        /// Where the change starts (default: the merge base of HEAD with
        /// origin/main, else main).
        #[arg(long)]
        base: Option<String>,
        /// Where the change ends.
        #[arg(long, default_value = "HEAD")]
        head: String,
        /// Print the plan as JSON.
        #[arg(long)]
        json: bool,
        /// Mark steps done from what the deployed stacks carry (their
        /// contract tags), read from AWS or `--endpoints-file`.
        #[arg(long)]
        deployed: bool,
        /// Read the stacks from this local cloud (its endpoints file)
        /// instead of AWS; implies `--deployed`.
        #[arg(long)]
        endpoints_file: Option<PathBuf>,
        /// The ops binary to list stacks with (default: `cargo ops`).
        #[arg(long)]
        ops: Option<PathBuf>,
    },
    /// The contract tags a deploy of SERVICE puts on its stack, as `sam
    /// deploy --tags` takes them (`key=value`, one per line).
    ContractTags { service: String },
    /// A new service in the house shape, from tooling/xtask/templates/service/:
    /// its crate, template and tests under services/NAME, registered in the
    /// workspace and repo::SERVICES; then its OpenAPI document, the
    /// workflows, CODEOWNERS and the contract documents are regenerated.
    NewService {
        /// Lowercase letters, plural: `campaigns`.
        name: String,
        /// What one of its items is called (default: NAME without its s).
        #[arg(long)]
        item: Option<String>,
    },
    /// The security scans, offline: checkov over the templates (against
    /// tooling/security/checkov-skips.toml), detect-secrets (against
    /// .secrets.baseline), cargo-deny (deny.toml). The test command runs
    /// them too.
    Scan,
    /// Every test: venv, schema check, cargo fmt/clippy-free test suite.
    /// With a service: that team's own run before it pushes (its tests,
    /// the contracts', the cross-service tests that exercise it).
    Test {
        /// A service: run only what its team needs before it pushes.
        service: Option<String>,
        /// Extra arguments passed to `cargo test`.
        #[arg(last = true)]
        cargo_args: Vec<String>,
    },
}

#[derive(Subcommand)]
pub enum SchemasCmd {
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
        /// Compare every version in this mode instead of the one it declares.
        #[arg(long, value_enum)]
        mode: Option<CliMode>,
        /// How undeclared object properties count.
        #[arg(long, value_enum, default_value_t = CliPolicy::Lenient)]
        policy: CliPolicy,
    },
    /// Compare two JSON Schema files: exit 0 when compatible, 1 when
    /// breaking, 2 on bad input.
    Diff {
        old: PathBuf,
        new: PathBuf,
        #[arg(long, value_enum, default_value_t = CliMode::Full)]
        mode: CliMode,
        #[arg(long, value_enum, default_value_t = CliPolicy::Lenient)]
        policy: CliPolicy,
        /// One JSON object per finding, one per line.
        #[arg(long)]
        json: bool,
    },
}

/// BACKWARD: new readers read old events; FORWARD: old readers read new
/// events; FULL: both.
#[derive(Clone, Copy, ValueEnum)]
pub enum CliMode {
    Backward,
    Forward,
    Full,
}

impl From<CliMode> for Mode {
    fn from(m: CliMode) -> Mode {
        match m {
            CliMode::Backward => Mode::Backward,
            CliMode::Forward => Mode::Forward,
            CliMode::Full => Mode::Full,
        }
    }
}

/// STRICT: pure inclusion (an open object accepts any undeclared property);
/// LENIENT: writers send only the properties a struct declares.
#[derive(Clone, Copy, ValueEnum)]
pub enum CliPolicy {
    Strict,
    Lenient,
}

impl From<CliPolicy> for Policy {
    fn from(p: CliPolicy) -> Policy {
        match p {
            CliPolicy::Strict => Policy::Strict,
            CliPolicy::Lenient => Policy::Lenient,
        }
    }
}
