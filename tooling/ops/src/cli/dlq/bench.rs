//! `ops dlq bench`: replaying dead letters to the bus, batched and
//! pipelined, against a naive one-at-a-time loop on the same data.

use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;

use crate::cli::Cli;
use crate::dead_letters::{self, Destination, ReplayOptions};
use crate::letter::Filter;
use crate::request_counts::{Calls, Tally};
use crate::targets::Targets;

#[derive(Args)]
pub(crate) struct BenchArgs {
    service: String,
    #[arg(long, default_value_t = 1000)]
    count: usize,
}

pub(super) async fn run(cli: &Cli, t: Targets, a: &BenchArgs) -> Result<ExitCode> {
    let (service, count) = (&a.service, a.count);
    let calls = Calls::default();
    // Both replays build their clients from the targets' configurations
    // (the service's account's too), so the wrappers installed here see
    // every request they send; the setup's calls are counted too and left
    // out by the snapshots around each phase.
    let t = t.counted(&calls)?;
    let svc = t.service(service)?;
    let sqs = aws_sdk_sqs::Client::new(t.conf_of(svc));
    let (depth, in_flight) = crate::queue::depth(&sqs, &svc.dlq_queue_url).await?;
    if depth + in_flight > 0 {
        bail!("the {service} DLQ is not empty; the bench needs it to itself");
    }
    let letters = dead_letters::bench_letters(count);
    crate::queue::send(&sqs, &svc.dlq_queue_url, &letters).await?;
    let naive = measure(&calls, dead_letters::naive_replay_to_bus(&t, svc, count)).await?;
    crate::queue::send(&sqs, &svc.dlq_queue_url, &letters).await?;
    let options = ReplayOptions {
        to: Destination::Bus,
        filter: Filter::default(),
        max: None,
        dry_run: false,
        rate: None,
        concurrency: 8,
        visibility: 60,
        progress: false,
    };
    let batched = dead_letters::replay(&t, svc, &options);
    let batched = measure(&calls, async { Ok(batched.await?.replayed) }).await?;
    if naive.replayed == 0 || batched.replayed == 0 {
        bail!(
            "nothing to compare: the naive loop replayed {} and the batched replay {} of {count}",
            naive.replayed,
            batched.replayed
        );
    }
    if cli.json {
        print_bench_json(count, &naive, &batched);
    } else {
        print_bench_table(count, &naive, &batched);
    }
    Ok(ExitCode::SUCCESS)
}

/// One replay of the bench: how many it replayed, how fast, and the API
/// calls it made.
struct Measured {
    replayed: usize,
    per_second: f64,
    calls: Tally,
}

impl Measured {
    fn calls_per_message(&self) -> f64 {
        self.calls.total() as f64 / self.replayed as f64
    }
}

/// Runs `replay` (which returns how many it replayed), timed, with the
/// calls counted since it started.
async fn measure(calls: &Calls, replay: impl Future<Output = Result<usize>>) -> Result<Measured> {
    let before = calls.snapshot();
    let started = std::time::Instant::now();
    let replayed = replay.await?;
    let per_second = replayed as f64 / started.elapsed().as_secs_f64();
    Ok(Measured {
        replayed,
        per_second,
        calls: calls.snapshot().since(&before),
    })
}

/// Per message, so that the two are comparable even when one replayed
/// fewer letters than the other.
fn calls_ratio(naive: &Measured, batched: &Measured) -> f64 {
    naive.calls_per_message() / batched.calls_per_message()
}

fn print_bench_json(count: usize, naive: &Measured, batched: &Measured) {
    println!(
        "{}",
        serde_json::json!({
            "count": count,
            "naive_per_second": naive.per_second,
            "batched_per_second": batched.per_second,
            "ratio": batched.per_second / naive.per_second,
            "naive_calls": naive.calls.total(),
            "batched_calls": batched.calls.total(),
            "naive_calls_per_message": naive.calls_per_message(),
            "batched_calls_per_message": batched.calls_per_message(),
            "calls_ratio": calls_ratio(naive, batched),
            "naive_by_operation": naive.calls,
            "batched_by_operation": batched.calls,
        })
    );
}

fn print_bench_table(count: usize, naive: &Measured, batched: &Measured) {
    println!("| replay {count} dead letters to the bus | messages/s | API calls | calls/message |");
    println!("|---|---|---|---|");
    println!(
        "| naive: receive 1, put 1, delete 1 | {:.0} | {} | {:.2} |",
        naive.per_second,
        naive.calls.total(),
        naive.calls_per_message()
    );
    println!(
        "| ops dlq replay: receive 10, PutEvents 10, delete 10 | {:.0} | {} | {:.2} |",
        batched.per_second,
        batched.calls.total(),
        batched.calls_per_message()
    );
    println!(
        "| ratio (target: ≥ 5× faster, ≥ 10× fewer calls) | {:.1}× faster | | {:.1}× fewer |",
        batched.per_second / naive.per_second,
        calls_ratio(naive, batched)
    );
    println!();
    println!("| API calls by operation | naive | batched |");
    println!("|---|---|---|");
    let operations: std::collections::BTreeSet<&String> =
        naive.calls.0.keys().chain(batched.calls.0.keys()).collect();
    for op in operations {
        let n = |t: &Tally| t.0.get(op).copied().unwrap_or(0);
        println!("| {op} | {} | {} |", n(&naive.calls), n(&batched.calls));
    }
}
