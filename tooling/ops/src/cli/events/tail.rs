//! `ops events tail`: events as they cross the bus, through a leased tap.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::EventFilter;
use crate::cli::{Cli, interrupted};
use crate::targets::Targets;

#[derive(Args)]
pub(crate) struct TailArgs {
    #[command(flatten)]
    filter: EventFilter,
    /// Stop after this many events.
    #[arg(long)]
    max_events: Option<usize>,
    /// Stop after this many seconds.
    #[arg(long)]
    seconds: Option<u64>,
}

pub(super) async fn run(
    cli: &Cli,
    t: &Targets,
    a: &TailArgs,
    lease: std::time::Duration,
) -> Result<ExitCode> {
    let pattern = a
        .filter
        .pattern()?
        .unwrap_or_else(crate::bus_watch::everything);
    let json = cli.json;
    let options = crate::bus_watch::Tail {
        conf: &t.conf,
        bus: &t.bus_name,
        pattern: &pattern,
        lease,
        until: crate::bus_watch::Until {
            events: a.max_events,
            duration: a.seconds.map(std::time::Duration::from_secs),
        },
    };
    let tailed = crate::bus_watch::run(
        options,
        |tap| eprintln!("tailing {} through {tap} (Ctrl-C to stop)", t.bus_name),
        |event| {
            let line = if json {
                serde_json::to_string(event)?
            } else {
                crate::bus_watch::pretty(event)
            };
            writeln!(std::io::stdout().lock(), "{line}")?;
            Ok(())
        },
        interrupted(),
    )
    .await;
    match tailed {
        Ok(seen) => {
            eprintln!("{seen} event(s); the tap is removed");
            Ok(ExitCode::SUCCESS)
        }
        // `ops events tail | head -3`: the tap is removed before this
        // returns, and the tail ends as a Unix tool whose reader went.
        Err(e) if reader_went(&e) => Ok(ExitCode::from(repo::closed_pipe::EXIT_STATUS)),
        Err(e) => Err(e),
    }
}

fn reader_went(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
