//! `ops events deliver`: a file of events to one service's consumers,
//! through Invoke (a backfill beyond the archive's retention).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::cli::Cli;
use crate::targets::Targets;

#[derive(Args)]
pub(crate) struct DeliverArgs {
    /// The service whose consumers receive the events.
    #[arg(long)]
    consumer: String,
    /// JSON Lines: one event each, as EventBridge delivers it.
    #[arg(long = "in")]
    input: PathBuf,
    /// Show where each event would go; invoke nothing.
    #[arg(long)]
    dry_run: bool,
    /// Deliver kinds the service's contracts do not declare.
    #[arg(long)]
    force: bool,
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

pub(super) async fn run(cli: &Cli, t: &Targets, a: &DeliverArgs) -> Result<ExitCode> {
    let service = t.service(&a.consumer)?;
    let events = crate::deliver::read(&a.input)?;
    if !a.force {
        crate::deliver::check_declared(
            &crate::contracts::Contracts::built_in(),
            &a.consumer,
            &events,
        )?;
    }
    if a.dry_run {
        let routes = crate::deliver::routes(service, &events);
        let mut per_function: std::collections::BTreeMap<&str, usize> = Default::default();
        for c in routes.iter().flatten() {
            *per_function.entry(c.function.as_str()).or_default() += 1;
        }
        println!("{} event(s); would invoke:", events.len());
        for (function, n) in per_function {
            println!("  {function}: {n}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let report =
        crate::deliver::deliver(t.lambda_of(service), service, &events, a.concurrency).await;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for f in &report.failed {
            println!("  failed: {f}");
        }
        println!("| events | invocations | no matching consumer | failed |");
        println!("|---|---|---|---|");
        println!(
            "| {} | {} | {} | {} |",
            report.events,
            report.invocations,
            report.unrouted,
            report.failed.len()
        );
    }
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
