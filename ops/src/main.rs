//! `ops`: dead letters for on-call engineers. `ops dlq --help`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use ops::archive;
use ops::calls::{Calls, Tally};
use ops::commands::{self, Destination, ReplayOptions};
use ops::letter::{Filter, Raw, Shape, Summary};
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
    #[arg(long, global = true, default_value = repo::PLATFORM)]
    platform_stack: String,
    /// The service stacks (AWS discovery).
    #[arg(
        long,
        global = true,
        value_delimiter = ',',
        default_value = default_stacks()
    )]
    stacks: Vec<String>,
    /// Machine-readable output.
    #[arg(long, global = true)]
    json: bool,
    /// How long a tap (tail, dry run) outlives its last renewal when its
    /// process is killed; the next run sweeps it after that.
    #[arg(long, global = true, default_value_t = 120, hide = true)]
    tap_lease_seconds: u64,
    #[command(subcommand)]
    command: Top,
}

/// `repo::SERVICES` written as `--stacks` takes them: one comma-separated
/// value, so that the help shows the default as one would type it
/// (`default_values_t` would show it space-separated).
fn default_stacks() -> &'static str {
    static JOINED: OnceLock<String> = OnceLock::new();
    JOINED.get_or_init(|| repo::SERVICES.join(","))
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
    /// Store a secret a stack reads by name (CloudFormation cannot create
    /// an SSM SecureString); the value is read from stdin. Run it again to
    /// rotate: the functions pick the new value up without a deploy.
    Secrets {
        #[command(subcommand)]
        command: Secrets,
    },
    /// The bus: replay its archive to chosen rules, watch it live.
    Events {
        #[command(subcommand)]
        command: Events,
    },
    /// Print the web app's config.json for the deployed stacks (user pool,
    /// HTTP APIs, WebSocket API), to upload beside the app.
    WebConfig {
        /// The platform stack's name.
        #[arg(long, default_value = repo::PLATFORM)]
        platform: String,
    },
}

#[derive(Subcommand)]
enum Secrets {
    /// An SSM SecureString parameter, e.g. campaigns' sender API key
    /// (`/campaigns/sender-api-key`).
    PutParameter { name: String },
    /// A Secrets Manager secret, e.g. campaigns' webhook signing secret
    /// (`campaigns/sender-signing-secret`).
    PutSecret { name: String },
}

#[derive(Subcommand)]
enum Events {
    /// Replay an archive's window to the whole bus, one rule or one
    /// service's consumers; waits for the outcome (Ctrl-C cancels it).
    Replay(EventsReplayArgs),
    /// A replay's state and how far through its window it is.
    Status { name: String },
    /// Stop a replay.
    Cancel { name: String },
    /// Print events as they cross the bus, through a temporary rule and
    /// queue that are removed on exit.
    Tail(TailArgs),
    /// Hand events from a file (a `users-snapshot`, a tail's `--json`) to
    /// one service's consumers directly, invoking each matching function:
    /// a late service's backfill beyond the archive's retention.
    Deliver(DeliverArgs),
    /// Remove taps whose process died (every tap sweeps before it opens).
    Sweep,
}

#[derive(Args)]
struct DeliverArgs {
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

#[derive(Args)]
struct EventFilter {
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

#[derive(Args)]
#[command(group = clap::ArgGroup::new("aim").required(true).args(["bus", "rule", "consumer"]))]
struct EventsReplayArgs {
    /// The archive (default: the bus's only archive).
    #[arg(long)]
    archive: Option<String>,
    /// RFC 3339: the window's start.
    #[arg(long)]
    from: chrono::DateTime<chrono::Utc>,
    /// RFC 3339: the window's end (default: now).
    #[arg(long)]
    to: Option<chrono::DateTime<chrono::Utc>>,
    /// Every rule on the bus.
    #[arg(long)]
    bus: bool,
    /// One rule, by name.
    #[arg(long)]
    rule: Option<String>,
    /// One service's consumers (the rules that target its functions).
    #[arg(long)]
    consumer: Option<String>,
    #[command(flatten)]
    filter: EventFilter,
    /// Count what each rule would receive; deliver nothing.
    #[arg(long)]
    dry_run: bool,
    /// Replay to a consumer events its contracts do not declare.
    #[arg(long)]
    force: bool,
    /// The replay's name (default: ops-<time>).
    #[arg(long)]
    name: Option<String>,
    /// Dry run: how long the tap must stay quiet after the replay ends.
    #[arg(long, default_value_t = 3)]
    settle_seconds: u64,
}

#[derive(Args)]
struct TailArgs {
    #[command(flatten)]
    filter: EventFilter,
    /// Stop after this many events.
    #[arg(long)]
    max_events: Option<usize>,
    /// Stop after this many seconds.
    #[arg(long)]
    seconds: Option<u64>,
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
    Peek(PeekArgs),
    /// Copy every message (body and attributes) to a JSON Lines file.
    Export(ExportArgs),
    /// Put an export back into the DLQ.
    Import(ImportArgs),
    /// Re-deliver, deleting each message only after its re-delivery was accepted.
    Replay(ReplayArgs),
    /// Throughput of replaying dead letters to the bus, batched and
    /// pipelined against a naive one-at-a-time loop, on the same data.
    Bench(BenchArgs),
    /// Delete the messages an export holds (asks first; --yes to skip).
    Purge(PurgeArgs),
}

// The argument structs carry no doc comment: clap would take it for the
// subcommand's about, which the variant's comment above gives.

#[derive(Args)]
struct PeekArgs {
    service: String,
    #[arg(long, default_value_t = 20)]
    max: usize,
    /// The raw bodies and attributes too.
    #[arg(long)]
    raw: bool,
}

#[derive(Args)]
struct ExportArgs {
    service: String,
    #[arg(long)]
    out: PathBuf,
    /// Delete each message once its copy is written and read back.
    #[arg(long = "move")]
    remove: bool,
}

#[derive(Args)]
struct ImportArgs {
    service: String,
    #[arg(long = "in")]
    input: PathBuf,
}

#[derive(Args)]
struct ReplayArgs {
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
}

#[derive(Args)]
struct BenchArgs {
    service: String,
    #[arg(long, default_value_t = 1000)]
    count: usize,
}

#[derive(Args)]
struct PurgeArgs {
    service: String,
    #[arg(long)]
    export: Option<PathBuf>,
    #[arg(long)]
    yes: bool,
    /// Purge without an export.
    #[arg(long)]
    force: bool,
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
    match &cli.command {
        Top::Stacks => stacks(&cli).await,
        Top::WebConfig { platform } => web_config(&cli, platform).await,
        Top::Dlq { command } => dlq(&cli, command).await,
        Top::Secrets { command } => secrets(&cli, command).await,
        Top::Events { command } => events(&cli, command).await,
    }
}

async fn events(cli: &Cli, command: &Events) -> Result<ExitCode> {
    let mut t = discover(cli).await.context("finding the bus")?;
    // Every request from here on is counted: a replay reports its calls.
    let calls = Calls::default();
    t.conf = calls.counting(&t.conf)?;
    let lease = std::time::Duration::from_secs(cli.tap_lease_seconds);
    let eb = aws_sdk_eventbridge::Client::new(&t.conf);
    match command {
        Events::Replay(a) => {
            let started = std::time::Instant::now();
            let code = events_replay(cli, &t, a).await?;
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
            print_status(cli, &archive::status(&eb, name).await?)?;
            Ok(ExitCode::SUCCESS)
        }
        Events::Cancel { name } => {
            println!("{name}: {}", archive::cancel(&eb, name).await?);
            Ok(ExitCode::SUCCESS)
        }
        Events::Tail(a) => tail(cli, &t, a, lease).await,
        Events::Deliver(a) => deliver(cli, &t, a).await,
        Events::Sweep => {
            let swept = ops::tap::sweep(&t.conf, &t.bus_name).await?;
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
        ops::pattern::Pattern::parse(&pattern).context("--pattern")?;
        Ok(Some(pattern))
    }
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
async fn interrupted() {
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    match term {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            tokio::signal::ctrl_c().await.ok();
        }
    }
}

async fn deliver(cli: &Cli, t: &Targets, a: &DeliverArgs) -> Result<ExitCode> {
    let service = t.service(&a.consumer)?;
    let events = ops::deliver::read(&a.input)?;
    if !a.force {
        ops::deliver::check_declared(&ops::contracts::Contracts::built_in(), &a.consumer, &events)?;
    }
    if a.dry_run {
        let routes = ops::deliver::routes(service, &events);
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
    let report = ops::deliver::deliver(&t.lambda, service, &events, a.concurrency).await;
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

async fn tail(
    cli: &Cli,
    t: &Targets,
    a: &TailArgs,
    lease: std::time::Duration,
) -> Result<ExitCode> {
    let pattern = a.filter.pattern()?.unwrap_or_else(ops::tail::everything);
    let json = cli.json;
    let options = ops::tail::Tail {
        conf: &t.conf,
        bus: &t.bus_name,
        pattern: &pattern,
        lease,
        until: ops::tail::Until {
            events: a.max_events,
            duration: a.seconds.map(std::time::Duration::from_secs),
        },
    };
    let seen = ops::tail::run(
        options,
        |tap| eprintln!("tailing {} through {tap} (Ctrl-C to stop)", t.bus_name),
        |event| {
            if json {
                println!("{}", serde_json::to_string(event)?);
            } else {
                println!("{}", ops::tail::pretty(event));
            }
            Ok(())
        },
        interrupted(),
    )
    .await?;
    eprintln!("{seen} event(s); the tap is removed");
    Ok(ExitCode::SUCCESS)
}

async fn events_replay(cli: &Cli, t: &Targets, a: &EventsReplayArgs) -> Result<ExitCode> {
    let eb = aws_sdk_eventbridge::Client::new(&t.conf);
    let aim = match (&a.rule, &a.consumer) {
        (Some(rule), _) => archive::Aim::Rule(rule.clone()),
        (None, Some(service)) => archive::Aim::Consumer(service.clone()),
        (None, None) => archive::Aim::Bus,
    };
    let filter = a.filter.pattern()?;
    let receivers = archive::receivers(t, &aim).await?;
    if !a.force {
        let kinds = filter.as_ref().and_then(archive::kinds_of);
        archive::check_declared(
            &ops::contracts::Contracts::built_in(),
            &receivers,
            kinds.as_deref(),
        )?;
    }
    let plan = archive::Plan {
        name: a.name.clone().unwrap_or_else(archive::replay_name),
        archive: archive::archive(&eb, &t.bus_name, a.archive.as_deref()).await?,
        from: a.from,
        to: a.to.unwrap_or_else(chrono::Utc::now),
        filter_arns: match aim {
            archive::Aim::Bus => Vec::new(),
            _ => receivers.iter().map(|r| r.rule_arn.clone()).collect(),
        },
    };
    if a.dry_run {
        return dry_run(cli, t, a, &plan, filter.as_ref(), receivers).await;
    }
    if let Some(filter) = &filter {
        if matches!(aim, archive::Aim::Bus) {
            bail!(
                "a filtered replay goes through each receiving rule's own copy; aim it with --rule or --consumer"
            );
        }
        let lease = std::time::Duration::from_secs(cli.tap_lease_seconds);
        let waited = archive::replay_narrowed(
            &t.conf,
            &t.bus_name,
            &plan,
            &receivers,
            filter,
            lease,
            interrupted(),
        )
        .await?;
        print_status(cli, &waited)?;
        return Ok(if waited.succeeded() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    archive::start(&eb, &plan).await?;
    eprintln!(
        "replay {} of {} ({} → {}) to {} rule(s): {}",
        plan.name,
        plan.archive.name,
        plan.from,
        plan.to,
        receivers.len(),
        receivers
            .iter()
            .map(|r| r.rule.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let waited = tokio::select! {
        s = archive::wait(&eb, &plan.name, print_progress, &mut []) => s?,
        () = interrupted() => {
            eprintln!("interrupted: cancelling {}", plan.name);
            archive::cancel(&eb, &plan.name).await?;
            archive::status(&eb, &plan.name).await?
        }
    };
    print_status(cli, &waited)?;
    Ok(if waited.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_progress(s: &archive::Status) {
    let pct = s
        .progress
        .map_or_else(|| "-".to_owned(), |p| format!("{:.0}%", p * 100.0));
    eprintln!(
        "  {}: {} replayed up to {}",
        s.state,
        pct,
        or_dash(&s.last_replayed)
    );
}

fn print_status(cli: &Cli, s: &archive::Status) -> Result<()> {
    if cli.json {
        println!("{}", serde_json::to_string_pretty(s)?);
    } else {
        println!(
            "{} {}{} window {} → {}, replayed up to {}",
            s.name,
            s.state,
            s.reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
            or_dash(&s.from),
            or_dash(&s.to),
            or_dash(&s.last_replayed)
        );
    }
    Ok(())
}

async fn dry_run(
    cli: &Cli,
    t: &Targets,
    a: &EventsReplayArgs,
    plan: &archive::Plan,
    filter: Option<&serde_json::Value>,
    receivers: Vec<archive::Receiver>,
) -> Result<ExitCode> {
    let capture = archive::Capture {
        lease: std::time::Duration::from_secs(cli.tap_lease_seconds),
        settle: std::time::Duration::from_secs(a.settle_seconds),
    };
    let found = archive::dry_run(
        &t.conf,
        &t.bus_name,
        plan,
        filter,
        receivers,
        capture,
        interrupted(),
    )
    .await?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&found)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "dry run {}: {} event(s) in {} → {}{}; nothing was delivered",
        found.replay,
        found.events,
        plan.from,
        plan.to,
        if filter.is_some() {
            " match the filter"
        } else {
            ""
        }
    );
    println!("| rule | service | function | would receive |");
    println!("|---|---|---|---|");
    for (r, n) in &found.by_rule {
        println!(
            "| {} | {} | {} | {n} |",
            r.rule,
            or_dash(&r.service),
            or_dash(&r.function)
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn secrets(cli: &Cli, command: &Secrets) -> Result<ExitCode> {
    let mut stdin = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut stdin)?;
    let value = ops::secrets::value_of(&stdin)?;
    let conf = sdk(cli).await?;
    match command {
        Secrets::PutParameter { name } => {
            let version = ops::secrets::put_parameter(&conf, name, value).await?;
            println!("{name}: version {version} (SecureString)");
        }
        Secrets::PutSecret { name } => {
            let version = ops::secrets::put_secret(&conf, name, value).await?;
            println!("{name}: version {version} is current");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn stacks(cli: &Cli) -> Result<ExitCode> {
    let cf = aws_sdk_cloudformation::Client::new(&sdk(cli).await?);
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
    Ok(ExitCode::SUCCESS)
}

async fn web_config(cli: &Cli, platform: &str) -> Result<ExitCode> {
    let conf = sdk(cli).await?;
    let region = conf.region().map(|r| r.to_string()).unwrap_or_default();
    let cf = aws_sdk_cloudformation::Client::new(&conf);
    let outputs = ops::web_config::outputs(&cf).await?;
    let config = ops::web_config::config(&region, platform, repo::SERVICES, &outputs)?;
    println!("{}", serde_json::to_string_pretty(&config)?);
    Ok(ExitCode::SUCCESS)
}

async fn dlq(cli: &Cli, command: &Dlq) -> Result<ExitCode> {
    let t = discover(cli).await.context("finding the DLQs")?;
    match command {
        Dlq::List => list(cli, &t).await,
        Dlq::Peek(a) => peek(cli, &t, a).await,
        Dlq::Export(a) => export(cli, &t, a).await,
        Dlq::Import(a) => import(&t, a).await,
        Dlq::Replay(a) => replay(cli, &t, a).await,
        Dlq::Bench(a) => bench(cli, t, a).await,
        Dlq::Purge(a) => purge(&t, a).await,
    }
}

async fn list(cli: &Cli, t: &Targets) -> Result<ExitCode> {
    let states = commands::list(t).await?;
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
    let sqs = aws_sdk_sqs::Client::new(&t.conf);
    let raws = ops::queue::peek(&sqs, &svc.dlq_queue_url, a.max).await?;
    let rows: Vec<_> = raws
        .iter()
        .map(|r| (r, commands::describe(svc, r)))
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
    let n = commands::export(t, t.service(&a.service)?, &a.out, a.remove).await?;
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
    let raws = commands::read_export(&a.input)?;
    let sqs = aws_sdk_sqs::Client::new(&t.conf);
    let n = ops::queue::send(&sqs, &t.service(&a.service)?.dlq_queue_url, &raws).await?;
    println!("imported {n} of {} message(s)", raws.len());
    Ok(if n < raws.len() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn replay(cli: &Cli, t: &Targets, a: &ReplayArgs) -> Result<ExitCode> {
    let options = a.options(std::io::stderr().is_terminal() && !cli.json);
    let report = commands::replay(t, t.service(&a.service)?, &options).await?;
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
            to: match self.to {
                To::Function => Destination::Function,
                To::Bus => Destination::Bus,
            },
            filter: Filter {
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

async fn bench(cli: &Cli, mut t: Targets, a: &BenchArgs) -> Result<ExitCode> {
    let (service, count) = (&a.service, a.count);
    let calls = Calls::default();
    // Both replays build their clients from `t.conf`, so the wrapper
    // installed here sees every request they send; the setup's calls
    // are counted too and left out by the snapshots around each phase.
    t.conf = calls.counting(&t.conf)?;
    let svc = t.service(service)?;
    let sqs = aws_sdk_sqs::Client::new(&t.conf);
    let (depth, in_flight) = ops::queue::depth(&sqs, &svc.dlq_queue_url).await?;
    if depth + in_flight > 0 {
        bail!("the {service} DLQ is not empty; the bench needs it to itself");
    }
    let letters = commands::bench_letters(count);
    ops::queue::send(&sqs, &svc.dlq_queue_url, &letters).await?;
    let naive = measure(&calls, commands::naive_replay_to_bus(&t, svc, count)).await?;
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
    let batched = commands::replay(&t, svc, &options);
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

async fn purge(t: &Targets, a: &PurgeArgs) -> Result<ExitCode> {
    let svc = t.service(&a.service)?;
    if !a.yes {
        confirm_purge(&a.service)?;
    }
    match commands::purge(t, svc, a.export.as_deref(), a.force).await {
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn discovery_defaults_to_the_repository_s_stacks() {
        let cli = Cli::try_parse_from(["ops", "stacks"]).unwrap();
        assert_eq!(cli.platform_stack, repo::PLATFORM);
        assert_eq!(cli.stacks, repo::SERVICES);
    }
}
