//! `ops events tail`: events as they cross the bus, through a leased tap.

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
    let pattern = a.filter.pattern()?.unwrap_or_else(crate::tail::everything);
    let json = cli.json;
    let options = crate::tail::Tail {
        conf: &t.conf,
        bus: &t.bus_name,
        pattern: &pattern,
        lease,
        until: crate::tail::Until {
            events: a.max_events,
            duration: a.seconds.map(std::time::Duration::from_secs),
        },
    };
    let seen = crate::tail::run(
        options,
        |tap| eprintln!("tailing {} through {tap} (Ctrl-C to stop)", t.bus_name),
        |event| {
            if json {
                println!("{}", serde_json::to_string(event)?);
            } else {
                println!("{}", crate::tail::pretty(event));
            }
            Ok(())
        },
        interrupted(),
    )
    .await?;
    eprintln!("{seen} event(s); the tap is removed");
    Ok(ExitCode::SUCCESS)
}
