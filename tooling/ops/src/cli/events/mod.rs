//! `ops events`: the bus. Its archive replayed (`replay`), watched live
//! (`tail`), a file of events handed to one service (`deliver`).

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use super::{Cli, discover};
use crate::archive;
use crate::request_counts::Calls;

mod deliver;
mod replay;
mod tail;

#[derive(Subcommand)]
pub(crate) enum Events {
    /// Replay an archive's window to the whole bus, one rule or one
    /// service's consumers; waits for the outcome (Ctrl-C cancels it).
    Replay(replay::ReplayArgs),
    /// A replay's state and how far through its window it is.
    Status { name: String },
    /// Stop a replay.
    Cancel { name: String },
    /// Print events as they cross the bus, through a temporary rule and
    /// queue that are removed on exit.
    Tail(tail::TailArgs),
    /// Hand events from a file (a `users-snapshot`, a tail's `--json`) to
    /// one service's consumers directly, invoking each matching function:
    /// a late service's backfill beyond the archive's retention.
    Deliver(deliver::DeliverArgs),
    /// Remove taps whose process died (every tap sweeps before it opens).
    Sweep,
}

#[derive(Args)]
pub(crate) struct EventFilter {
    /// An EventBridge event pattern (JSON) the events must match.
    #[arg(long, conflicts_with_all = ["source", "detail_type"])]
    pattern: Option<String>,
    /// Shorthand for a pattern on `source` (repeatable).
    #[arg(long)]
    source: Vec<String>,
    /// Shorthand for a pattern on `detail-type` (repeatable).
    #[arg(long)]
    detail_type: Vec<String>,
}

pub(super) async fn run(cli: &Cli, command: &Events) -> Result<ExitCode> {
    let t = discover(cli).await.context("finding the bus")?;
    // Every request from here on is counted: a replay reports its calls.
    let calls = Calls::default();
    let t = t.counted(&calls)?;
    let lease = std::time::Duration::from_secs(cli.tap_lease_seconds);
    let eb = aws_sdk_eventbridge::Client::new(&t.conf);
    match command {
        Events::Replay(a) => {
            let started = std::time::Instant::now();
            let code = replay::run(cli, &t, a).await?;
            let tally = calls.snapshot();
            let by_operation: Vec<String> =
                tally.0.iter().map(|(op, n)| format!("{op} {n}")).collect();
            eprintln!(
                "{:.2} s, {} API call(s): {}",
                started.elapsed().as_secs_f64(),
                tally.total(),
                by_operation.join(", ")
            );
            Ok(code)
        }
        Events::Status { name } => {
            replay::print_status(cli, &archive::status(&eb, name).await?)?;
            Ok(ExitCode::SUCCESS)
        }
        Events::Cancel { name } => {
            println!("{name}: {}", archive::cancel(&eb, name).await?);
            Ok(ExitCode::SUCCESS)
        }
        Events::Tail(a) => tail::run(cli, &t, a, lease).await,
        Events::Deliver(a) => deliver::run(cli, &t, a).await,
        Events::Sweep => {
            let swept = crate::tap::sweep(&t.conf, &t.bus_name).await?;
            println!(
                "swept {} rule(s) and {} queue(s)",
                swept.rules, swept.queues
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

impl EventFilter {
    /// The pattern the flags spell, checked; `None` for no filter.
    fn pattern(&self) -> Result<Option<serde_json::Value>> {
        let pattern = match &self.pattern {
            Some(text) => serde_json::from_str(text).context("--pattern is not JSON")?,
            None if self.source.is_empty() && self.detail_type.is_empty() => return Ok(None),
            None => {
                let mut p = serde_json::Map::new();
                if !self.source.is_empty() {
                    p.insert("source".into(), serde_json::json!(self.source));
                }
                if !self.detail_type.is_empty() {
                    p.insert("detail-type".into(), serde_json::json!(self.detail_type));
                }
                serde_json::Value::Object(p)
            }
        };
        event_pattern::Pattern::parse(&pattern).context("--pattern")?;
        Ok(Some(pattern))
    }
}
