//! `devstack`: the whole system on one machine. See `devstack --help`.

mod bench;
mod cmd;
mod cost;
mod loop_bench;
mod stat;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use devstack::cli::{Cli, Cmd};

use cmd::campaigns::{campaign, executions};
use cmd::deploy::deploy;
use cmd::identity::{admin, token};
use cmd::read_endpoints;
use cmd::telemetry::{least_privilege, metrics, trace};
use cmd::traffic::{bench, burst, load};
use cmd::up::{engine, up};

fn main() -> ExitCode {
    repo::closed_pipe::end_quietly_when_the_reader_goes();
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("trail=info,devstack=info,warn"));
    // Colour only for a person at a terminal: a trail redirected to a file
    // or read by a tool gets plain text (and NO_COLOR is honoured).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_target(false);
    if cli.json {
        builder.json().init();
    } else {
        builder.compact().init();
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        // The report said so already.
        Err(e) if e.is::<Unaccounted>() => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `devstack load` found effects lost or duplicated.
#[derive(Debug)]
pub(crate) struct Unaccounted;

impl std::fmt::Display for Unaccounted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("effects lost or duplicated")
    }
}

impl std::error::Error for Unaccounted {}

async fn run(cli: Cli) -> Result<()> {
    let (file, json) = (&cli.endpoints_file, cli.json);
    match cli.command {
        Cmd::Up(args) => up(args, file).await,
        Cmd::Trace { id } => trace(&id, file, json),
        Cmd::Metrics => metrics(file, json),
        Cmd::LeastPrivilege { dirs } => least_privilege(file, dirs, json),
        Cmd::Token { email, password } => token(file, &email, &password).await,
        Cmd::Deploy(args) => deploy(args, file).await,
        Cmd::Walkthrough => devstack_client::walkthrough::run(&read_endpoints(file)?).await,
        Cmd::Admin { email } => admin(file, &email).await,
        Cmd::Executions { id } => executions(file, &id).await,
        Cmd::RotateSenderKey { parameter } => {
            let e = read_endpoints(file)?;
            devstack_cloud::sender::rotate(&e, &parameter).await?;
            println!("rotated: the sender has a new key, and {parameter} holds it");
            Ok(())
        }
        Cmd::Load(args) => load(args, file, json).await,
        Cmd::Bench(args) => bench(args, json).await,
        Cmd::LoopBench(args) => loop_bench::loop_bench(args, file, json).await,
        Cmd::Campaign(args) => campaign(args, file, json).await,
        Cmd::Burst { events, within } => burst(events, within, file, json).await,
        Cmd::Engine { socket, owner } => engine(&socket, owner),
        Cmd::Conformance { check } => cmd::conformance::conformance(check),
    }
}
