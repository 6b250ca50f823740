//! `ops`: dead letters for on-call engineers. `ops dlq --help`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use ops::calls::Calls;
use ops::commands::{self, Destination, ReplayOptions};
use ops::letter::{Filter, Shape};
use ops::targets::{self, Targets};

#[derive(Parser)]
#[command(
    name = "ops",
    version,
    about = "Operate the services: dead letters first"
)]
struct Cli {
    /// The local cloud's endpoints file (default: .local/endpoints.json when
    /// it exists, else the deployed stacks on AWS).
    #[arg(long, global = true)]
    endpoints_file: Option<PathBuf>,
    /// The platform stack's name (AWS discovery).
    #[arg(long, global = true, default_value = "platform")]
    platform_stack: String,
    /// The service stacks (AWS discovery).
    #[arg(
        long,
        global = true,
        value_delimiter = ',',
        default_value = "users,todos,notifications"
    )]
    stacks: Vec<String>,
    /// Machine-readable output.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Top,
}

#[derive(Subcommand)]
enum Top {
    /// Dead-letter queues: one per service, fed by SNS.
    Dlq {
        #[command(subcommand)]
        command: Dlq,
    },
    /// The deployed stacks and the commit each was built from (their
    /// `service` and `commit` tags): what can-i-deploy compares against.
    Stacks,
    /// Print the web app's config.json for the deployed stacks (user pool,
    /// HTTP APIs, WebSocket API), to upload beside the app.
    WebConfig {
        /// The platform stack's name.
        #[arg(long, default_value = "platform")]
        platform: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum To {
    /// Re-invoke the function that failed, asynchronously (stream failures: re-run the records).
    Function,
    /// Put the original event back on the bus (consumers deduplicate on its event id).
    Bus,
}

#[derive(Subcommand)]
enum Dlq {
    /// Every service's DLQ: depth, in flight, oldest message age.
    List,
    /// Decoded messages, without consuming them.
    Peek {
        service: String,
        #[arg(long, default_value_t = 20)]
        max: usize,
        /// The raw bodies and attributes too.
        #[arg(long)]
        raw: bool,
    },
    /// Copy every message (body and attributes) to a JSON Lines file.
    Export {
        service: String,
        #[arg(long)]
        out: PathBuf,
        /// Delete each message once its copy is written and read back.
        #[arg(long = "move")]
        remove: bool,
    },
    /// Put an export back into the DLQ.
    Import {
        service: String,
        #[arg(long = "in")]
        input: PathBuf,
    },
    /// Re-deliver, deleting each message only after its re-delivery was accepted.
    Replay {
        service: String,
        #[arg(long, value_enum, default_value = "function")]
        to: To,
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
    },
    /// Throughput of replaying dead letters to the bus, batched and
    /// pipelined against a naive one-at-a-time loop, on the same data.
    Bench {
        service: String,
        #[arg(long, default_value_t = 1000)]
        count: usize,
    },
    /// Delete the messages an export holds (asks first; --yes to skip).
    Purge {
        service: String,
        #[arg(long)]
        export: Option<PathBuf>,
        #[arg(long)]
        yes: bool,
        /// Purge without an export.
        #[arg(long)]
        force: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The local cloud's endpoints file to work on: `--endpoints-file`, else
/// `.local/endpoints.json` when it exists and `AWS_ENDPOINT_URL` is unset;
/// `None` means AWS.
fn endpoints_file(cli: &Cli) -> Option<PathBuf> {
    let local = PathBuf::from(".local/endpoints.json");
    match &cli.endpoints_file {
        Some(f) => Some(f.clone()),
        None if local.exists() && std::env::var_os("AWS_ENDPOINT_URL").is_none() => Some(local),
        None => None,
    }
}

async fn discover(cli: &Cli) -> Result<Targets> {
    match endpoints_file(cli) {
        Some(f) => targets::from_endpoints_file(&f).await,
        None => {
            targets::from_cloudformation(kit::config::aws().await, &cli.platform_stack, &cli.stacks)
                .await
        }
    }
}

fn or_dash(v: &Option<impl ToString>) -> String {
    v.as_ref()
        .map_or_else(|| "-".to_owned(), ToString::to_string)
}

/// The SDK configuration for where the stacks are: the local cloud's
/// emulator, or AWS.
async fn sdk(cli: &Cli) -> Result<aws_config::SdkConfig> {
    Ok(match endpoints_file(cli) {
        Some(f) => targets::local_cloud(&f).await?.1,
        None => kit::config::aws().await,
    })
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let command = match &cli.command {
        Top::Stacks => {
            let cf = aws_sdk_cloudformation::Client::new(&sdk(&cli).await?);
            let stacks = ops::stacks::deployed(&cf).await?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&stacks)?);
            } else {
                println!("{:<15} {:<20} {:<42} STATUS", "SERVICE", "STACK", "COMMIT");
                for s in stacks {
                    println!(
                        "{:<15} {:<20} {:<42} {}",
                        s.service, s.stack, s.commit, s.status
                    );
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        Top::WebConfig { platform } => {
            let conf = sdk(&cli).await?;
            let region = conf.region().map(|r| r.to_string()).unwrap_or_default();
            let cf = aws_sdk_cloudformation::Client::new(&conf);
            let outputs = ops::web_config::outputs(&cf).await?;
            let services = ["users", "todos", "notifications"];
            let config = ops::web_config::config(&region, platform, &services, &outputs)?;
            println!("{}", serde_json::to_string_pretty(&config)?);
            return Ok(ExitCode::SUCCESS);
        }
        Top::Dlq { command } => command,
    };
    let t = discover(&cli).await.context("finding the DLQs")?;
    match command {
        Dlq::List => {
            let states = commands::list(&t).await?;
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
        }
        Dlq::Peek { service, max, raw } => {
            let svc = t.service(service)?;
            let sqs = aws_sdk_sqs::Client::new(&t.conf);
            let raws = ops::queue::peek(&sqs, &svc.dlq_queue_url, *max).await?;
            let rows: Vec<_> = raws
                .iter()
                .map(|r| (r, commands::describe(svc, r)))
                .collect();
            if cli.json {
                let out: Vec<_> = rows
                    .iter()
                    .map(|(r, (shape, s))| serde_json::json!({"summary": s, "decoded": shape, "raw": if *raw { serde_json::to_value(r).ok() } else { None }}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                for (r, (shape, s)) in rows {
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
                    } = &shape
                    {
                        println!(
                            "    stream records {} … {} ({} record(s))",
                            or_dash(start_sequence),
                            or_dash(end_sequence),
                            or_dash(batch_size)
                        );
                    }
                    if *raw {
                        println!("    raw: {}", serde_json::to_string(r)?);
                    }
                }
            }
        }
        Dlq::Export {
            service,
            out,
            remove,
        } => {
            let n = commands::export(&t, t.service(service)?, out, *remove).await?;
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({"exported": n, "file": out, "moved": remove})
                );
            } else {
                println!(
                    "exported {n} message(s) to {}{}",
                    out.display(),
                    if *remove {
                        " and deleted them from the DLQ"
                    } else {
                        ""
                    }
                );
            }
        }
        Dlq::Import { service, input } => {
            let raws = commands::read_export(input)?;
            let sqs = aws_sdk_sqs::Client::new(&t.conf);
            let n = ops::queue::send(&sqs, &t.service(service)?.dlq_queue_url, &raws).await?;
            println!("imported {n} of {} message(s)", raws.len());
            if n < raws.len() {
                return Ok(ExitCode::from(1));
            }
        }
        Dlq::Replay {
            service,
            to,
            detail_type,
            error_contains,
            since,
            until,
            max,
            dry_run,
            rate,
            concurrency,
            visibility,
        } => {
            let options = ReplayOptions {
                to: match to {
                    To::Function => Destination::Function,
                    To::Bus => Destination::Bus,
                },
                filter: Filter {
                    detail_type: detail_type.clone(),
                    error_contains: error_contains.clone(),
                    since_ms: since.map(|t| t.timestamp_millis()),
                    until_ms: until.map(|t| t.timestamp_millis()),
                },
                max: *max,
                dry_run: *dry_run,
                rate: *rate,
                concurrency: *concurrency,
                visibility: *visibility,
                progress: std::io::stderr().is_terminal() && !cli.json,
            };
            let report = commands::replay(&t, t.service(service)?, &options).await?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for d in &report.details {
                    println!("  {d}");
                }
                let verb = if *dry_run { "would replay" } else { "replayed" };
                println!("| {verb} | failed again | skipped | left |");
                println!("|---|---|---|---|");
                println!(
                    "| {} | {} | {} | {} |",
                    report.replayed, report.failed_again, report.skipped, report.left
                );
            }
            if report.failed_again > 0 {
                return Ok(ExitCode::from(1));
            }
        }
        Dlq::Bench { service, count } => {
            let calls = Calls::default();
            // Both replays build their clients from `t.conf`, so the wrapper
            // installed here sees every request they send; the setup's calls
            // are counted too and left out by the snapshots around each phase.
            let mut t = t;
            t.conf = calls.counting(&t.conf)?;
            let svc = t.service(service)?;
            let sqs = aws_sdk_sqs::Client::new(&t.conf);
            let (depth, in_flight) = ops::queue::depth(&sqs, &svc.dlq_queue_url).await?;
            if depth + in_flight > 0 {
                bail!("the {service} DLQ is not empty; the bench needs it to itself");
            }
            let letters = commands::bench_letters(*count);
            ops::queue::send(&sqs, &svc.dlq_queue_url, &letters).await?;
            let before = calls.snapshot();
            let started = std::time::Instant::now();
            let naive = commands::naive_replay_to_bus(&t, svc, *count).await?;
            let naive_rate = naive as f64 / started.elapsed().as_secs_f64();
            let naive_calls = calls.snapshot().since(&before);
            ops::queue::send(&sqs, &svc.dlq_queue_url, &letters).await?;
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
            let before = calls.snapshot();
            let started = std::time::Instant::now();
            let report = commands::replay(&t, svc, &options).await?;
            let batched_rate = report.replayed as f64 / started.elapsed().as_secs_f64();
            let batched_calls = calls.snapshot().since(&before);
            if naive == 0 || report.replayed == 0 {
                bail!(
                    "nothing to compare: the naive loop replayed {naive} and the batched replay {} of {count}",
                    report.replayed
                );
            }
            let naive_per_message = naive_calls.total() as f64 / naive as f64;
            let batched_per_message = batched_calls.total() as f64 / report.replayed as f64;
            // Per message, so that the two are comparable even when one
            // replayed fewer letters than the other.
            let calls_ratio = naive_per_message / batched_per_message;
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "count": count,
                        "naive_per_second": naive_rate,
                        "batched_per_second": batched_rate,
                        "ratio": batched_rate / naive_rate,
                        "naive_calls": naive_calls.total(),
                        "batched_calls": batched_calls.total(),
                        "naive_calls_per_message": naive_per_message,
                        "batched_calls_per_message": batched_per_message,
                        "calls_ratio": calls_ratio,
                        "naive_by_operation": naive_calls,
                        "batched_by_operation": batched_calls,
                    })
                );
            } else {
                println!(
                    "| replay {count} dead letters to the bus | messages/s | API calls | calls/message |"
                );
                println!("|---|---|---|---|");
                println!(
                    "| naive: receive 1, put 1, delete 1 | {naive_rate:.0} | {} | {naive_per_message:.2} |",
                    naive_calls.total()
                );
                println!(
                    "| ops dlq replay: receive 10, PutEvents 10, delete 10 | {batched_rate:.0} | {} | {batched_per_message:.2} |",
                    batched_calls.total()
                );
                println!(
                    "| ratio (target: ≥ 5× faster, ≥ 10× fewer calls) | {:.1}× faster | | {calls_ratio:.1}× fewer |",
                    batched_rate / naive_rate
                );
                println!();
                println!("| API calls by operation | naive | batched |");
                println!("|---|---|---|");
                let operations: std::collections::BTreeSet<&String> =
                    naive_calls.0.keys().chain(batched_calls.0.keys()).collect();
                for op in operations {
                    let n = |t: &ops::calls::Tally| t.0.get(op).copied().unwrap_or(0);
                    println!("| {op} | {} | {} |", n(&naive_calls), n(&batched_calls));
                }
            }
        }
        Dlq::Purge {
            service,
            export,
            yes,
            force,
        } => {
            let svc = t.service(service)?;
            if !yes {
                if !std::io::stdin().is_terminal() {
                    bail!("refusing to purge {service} without --yes when no one can answer");
                }
                eprint!("purge the {service} DLQ? type the service name to confirm: ");
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer)?;
                if answer.trim() != service {
                    bail!("not confirmed");
                }
            }
            match commands::purge(&t, svc, export.as_deref(), *force).await {
                Ok(n) => println!("purged {n} message(s)"),
                Err(e) => {
                    eprintln!("{e:#}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
