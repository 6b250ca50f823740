use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use xtask::cli::{Cli, Cmd};

mod cmd;
mod engine;
mod lanes;
mod scans;

use cmd::local::{bench, devstack, openapi, venv_cmd, web_cmd};
use cmd::new_service::new_service_cmd;
use cmd::pipeline::{affected_cmd, ci, deploy_tools, sam_build};
use cmd::schemas::schemas_cmd;
use cmd::test::test;

/// The checkout the command runs in, found from the current directory (never
/// the folder this binary was built from: checkouts may share a target dir).
pub(crate) fn root() -> Result<PathBuf> {
    Ok(repo::try_root()?)
}

fn main() -> ExitCode {
    repo::closed_pipe::end_quietly_when_the_reader_goes();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

pub(crate) fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Cmd::Schemas { command } => schemas_cmd(command),
        Cmd::Venv => venv_cmd(&root()?),
        Cmd::Test {
            service: None,
            cargo_args,
        } => test(&root()?, &cargo_args),
        Cmd::Test {
            service: Some(service),
            cargo_args,
        } => cmd::team::test(&root()?, &service, &cargo_args),
        Cmd::Scan => Ok(exit_code(scans::run(&root()?)?)),
        Cmd::NewService { name, item } => new_service_cmd(&root()?, &name, item.as_deref()),
        Cmd::Openapi => openapi(&root()?),
        Cmd::Web => web_cmd(&root()?),
        Cmd::Ci { check } => ci(&root()?, check),
        Cmd::Affected { base } => affected_cmd(&root()?, &base),
        Cmd::DeployTools => deploy_tools(&root()?),
        Cmd::SamBuild { service, arch } => sam_build(&root()?, &service, &arch),
        Cmd::CanIDeploy {
            service,
            repo,
            head,
            endpoints_file,
            ops,
        } => cmd::deploy_gate::can_i_deploy(
            &root()?,
            &service,
            &repo,
            &head,
            &cmd::deploy_gate::Stacks {
                endpoints_file,
                ops,
            },
        ),
        Cmd::Plan {
            repo,
            base,
            head,
            json,
            deployed,
            endpoints_file,
            ops,
        } => {
            let state =
                (deployed || endpoints_file.is_some()).then_some(cmd::deploy_gate::Stacks {
                    endpoints_file,
                    ops,
                });
            cmd::deploy_gate::plan(
                &root()?,
                &repo,
                base.as_deref(),
                &head,
                json,
                state.as_ref(),
            )
        }
        Cmd::ContractTags { service } => cmd::deploy_gate::contract_tags(&service),
        Cmd::Up { args } => devstack(&root()?, "up", &args, false),
        Cmd::Load { args } => devstack(&root()?, "load", &args, true),
        Cmd::Bench { args } => bench(&root()?, &args),
    }
}

/// A check's verdict as the process's.
pub(crate) fn exit_code(passed: bool) -> ExitCode {
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
