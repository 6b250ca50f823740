//! `ops dlq replay`: re-deliver dead letters, each deleted only once its
//! re-delivery was accepted.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::cli::Cli;
use crate::dead_letters::{self, Destination, ReplayOptions};
use crate::letter::Filter;
use crate::targets::Targets;

#[derive(Args)]
pub(crate) struct ReplayArgs {
    service: String,
    #[arg(long, value_enum, default_value = "function")]
    to: Destination,
    /// Only this letter (its SQS message id, as `peek --json` shows it).
    #[arg(long)]
    message_id: Option<String>,
    #[arg(long)]
    detail_type: Option<String>,
    #[arg(long)]
    error_contains: Option<String>,
    /// RFC 3339; messages sent at or after.
    #[arg(long)]
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// RFC 3339; messages sent at or before.
    #[arg(long)]
    until: Option<chrono::DateTime<chrono::Utc>>,
    #[arg(long)]
    max: Option<usize>,
    /// Show what would happen; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Deliveries per second at most.
    #[arg(long)]
    rate: Option<f64>,
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Seconds a message stays invisible while replayed (after a crash
    /// it is back in the DLQ when this passes).
    #[arg(long, default_value_t = 60)]
    visibility: i32,
}

pub(super) async fn run(cli: &Cli, t: &Targets, a: &ReplayArgs) -> Result<ExitCode> {
    let options = a.options(std::io::stderr().is_terminal() && !cli.json);
    let report = dead_letters::replay(t, t.service(&a.service)?, &options).await?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for d in &report.details {
            println!("  {d}");
        }
        let verb = if a.dry_run {
            "would replay"
        } else {
            "replayed"
        };
        println!("| {verb} | failed again | skipped | left |");
        println!("|---|---|---|---|");
        println!(
            "| {} | {} | {} | {} |",
            report.replayed, report.failed_again, report.skipped, report.left
        );
    }
    Ok(if report.failed_again > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

impl ReplayArgs {
    fn options(&self, progress: bool) -> ReplayOptions {
        ReplayOptions {
            to: self.to,
            filter: Filter {
                message_id: self.message_id.clone(),
                detail_type: self.detail_type.clone(),
                error_contains: self.error_contains.clone(),
                since_ms: self.since.map(|t| t.timestamp_millis()),
                until_ms: self.until.map(|t| t.timestamp_millis()),
            },
            max: self.max,
            dry_run: self.dry_run,
            rate: self.rate,
            concurrency: self.concurrency,
            visibility: self.visibility,
            progress,
        }
    }
}
