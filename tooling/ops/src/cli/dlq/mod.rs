//! `ops dlq`: each service's dead-letter queue, listed, peeked, exported,
//! imported, replayed (`replay`), benchmarked (`bench`) and purged.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use super::{Cli, discover, or_dash};
use crate::dead_letters;
use crate::letter::{Raw, Shape, Summary};
use crate::targets::Targets;

mod bench;
mod replay;

#[derive(Subcommand)]
pub(crate) enum Dlq {
    /// Every service's DLQ: depth, in flight, oldest message age.
    List,
    /// Decoded messages, without consuming them.
    Peek(PeekArgs),
    /// Copy every message (body and attributes) to a JSON Lines file.
    Export(ExportArgs),
    /// Put an export back into the DLQ.
    Import(ImportArgs),
    /// Re-deliver, deleting each message only after its re-delivery was accepted.
    Replay(replay::ReplayArgs),
    /// Throughput of replaying dead letters to the bus, batched and
    /// pipelined against a naive one-at-a-time loop, on the same data.
    Bench(bench::BenchArgs),
    /// Delete the messages an export holds (asks first; --yes to skip).
    Purge(PurgeArgs),
}

// The argument structs carry no doc comment: clap would take it for the
// subcommand's about, which the variant's comment above gives.

#[derive(Args)]
pub(crate) struct PeekArgs {
    service: String,
    #[arg(long, default_value_t = 20)]
    max: usize,
    /// The raw bodies and attributes too.
    #[arg(long)]
    raw: bool,
}

#[derive(Args)]
pub(crate) struct ExportArgs {
    service: String,
    #[arg(long)]
    out: PathBuf,
    /// Delete each message once its copy is written and read back.
    #[arg(long = "move")]
    remove: bool,
}

#[derive(Args)]
pub(crate) struct ImportArgs {
    service: String,
    #[arg(long = "in")]
    input: PathBuf,
}

#[derive(Args)]
pub(crate) struct PurgeArgs {
    service: String,
    #[arg(long)]
    export: Option<PathBuf>,
    #[arg(long)]
    yes: bool,
    /// Purge without an export.
    #[arg(long)]
    force: bool,
}

pub(super) async fn run(cli: &Cli, command: &Dlq) -> Result<ExitCode> {
    let t = discover(cli).await.context("finding the DLQs")?;
    match command {
        Dlq::List => list(cli, &t).await,
        Dlq::Peek(a) => peek(cli, &t, a).await,
        Dlq::Export(a) => export(cli, &t, a).await,
        Dlq::Import(a) => import(&t, a).await,
        Dlq::Replay(a) => replay::run(cli, &t, a).await,
        Dlq::Bench(a) => bench::run(cli, t, a).await,
        Dlq::Purge(a) => purge(&t, a).await,
    }
}

async fn list(cli: &Cli, t: &Targets) -> Result<ExitCode> {
    let states = dead_letters::list(t).await?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&states)?);
    } else {
        println!(
            "{:<15} {:>6} {:>9} {:>12}",
            "SERVICE", "DEPTH", "IN FLIGHT", "OLDEST (s)"
        );
        for s in states {
            println!(
                "{:<15} {:>6} {:>9} {:>12}",
                s.service,
                s.depth,
                s.in_flight,
                or_dash(&s.oldest_age_seconds)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn peek(cli: &Cli, t: &Targets, a: &PeekArgs) -> Result<ExitCode> {
    let svc = t.service(&a.service)?;
    let sqs = aws_sdk_sqs::Client::new(t.conf_of(svc));
    let raws = crate::queue::peek(&sqs, &svc.dlq_queue_url, a.max).await?;
    let rows: Vec<_> = raws
        .iter()
        .map(|r| (r, dead_letters::describe(svc, r)))
        .collect();
    if cli.json {
        let out: Vec<_> = rows
            .iter()
            .map(|(r, (shape, s))| serde_json::json!({"summary": s, "decoded": shape, "raw": if a.raw { serde_json::to_value(r).ok() } else { None }}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for (r, (shape, s)) in rows {
            print_letter(r, &shape, &s, a.raw)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One peeked letter as text: its summary, then the error message, the
/// stream records a stream failure stands for, and with `raw` the message.
fn print_letter(r: &Raw, shape: &Shape, s: &Summary, raw: bool) -> Result<()> {
    println!(
        "{} [{}] {} {} event={} correlation={} function={} code={} receives={} age={}s\n    {}",
        s.message_id,
        s.shape,
        or_dash(&s.source),
        or_dash(&s.detail_type),
        or_dash(&s.event_id),
        or_dash(&s.correlation_id),
        or_dash(&s.function),
        or_dash(&s.error_code),
        or_dash(&s.receive_count),
        or_dash(&s.age_seconds),
        or_dash(&s.error_message)
    );
    if let Shape::StreamFailure {
        start_sequence,
        end_sequence,
        batch_size,
        ..
    } = shape
    {
        println!(
            "    stream records {} … {} ({} record(s))",
            or_dash(start_sequence),
            or_dash(end_sequence),
            or_dash(batch_size)
        );
    }
    if raw {
        println!("    raw: {}", serde_json::to_string(r)?);
    }
    Ok(())
}

async fn export(cli: &Cli, t: &Targets, a: &ExportArgs) -> Result<ExitCode> {
    let n = dead_letters::export(t, t.service(&a.service)?, &a.out, a.remove).await?;
    if cli.json {
        println!(
            "{}",
            serde_json::json!({"exported": n, "file": a.out, "moved": a.remove})
        );
    } else {
        println!(
            "exported {n} message(s) to {}{}",
            a.out.display(),
            if a.remove {
                " and deleted them from the DLQ"
            } else {
                ""
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn import(t: &Targets, a: &ImportArgs) -> Result<ExitCode> {
    let raws = dead_letters::read_export(&a.input)?;
    let svc = t.service(&a.service)?;
    let sqs = aws_sdk_sqs::Client::new(t.conf_of(svc));
    let n = crate::queue::send(&sqs, &svc.dlq_queue_url, &raws).await?;
    println!("imported {n} of {} message(s)", raws.len());
    Ok(if n < raws.len() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn purge(t: &Targets, a: &PurgeArgs) -> Result<ExitCode> {
    let svc = t.service(&a.service)?;
    if !a.yes {
        confirm_purge(&a.service)?;
    }
    match dead_letters::purge(t, svc, a.export.as_deref(), a.force).await {
        Ok(n) => println!("purged {n} message(s)"),
        Err(e) => {
            eprintln!("{e:#}");
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks on the terminal for the service's name; with no terminal to ask
/// on, refuses rather than purging unconfirmed.
fn confirm_purge(service: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("refusing to purge {service} without --yes when no one can answer");
    }
    eprint!("purge the {service} DLQ? type the service name to confirm: ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if answer.trim() != service {
        bail!("not confirmed");
    }
    Ok(())
}
