//! `ops`: operate the deployed services (dead letters, the bus's archive
//! and tail, deliveries, stacks, secrets, the web app's config), on AWS or
//! the local cloud. Each command lives in `ops::cli`; this only parses
//! and runs it.

use std::process::ExitCode;

use clap::Parser;
use ops::cli::Cli;

fn main() -> ExitCode {
    repo::closed_pipe::end_quietly_when_the_reader_goes();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(ops::cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
