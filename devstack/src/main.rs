//! `devstack`: the whole system on one machine. See `devstack --help`.

mod bench;
mod cost;
mod stat;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use devstack_api::{Endpoints, telemetry};
use devstack_client::deploy::{self, Source};
use devstack_client::load;
use devstack_cloud::Options;

#[derive(Parser)]
#[command(
    name = "devstack",
    version,
    about = "The local cloud: the real templates and binaries on the emulator"
)]
struct Cli {
    /// Where the endpoints file is written (up) or read (token, walkthrough).
    #[arg(long, global = true, default_value = ".local/endpoints.json")]
    endpoints_file: PathBuf,
    /// Logs and the trail as JSON lines.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start the emulator (or use --endpoint-url), deploy every stack, run
    /// every function, and serve the API until Ctrl-C.
    Up(UpArgs),
    /// Redeploy one service into the running local cloud (the local `sam
    /// deploy`): build it alone, update its stack, swap its processes. The
    /// other services keep running and no event is lost.
    Deploy(DeployArgs),
    /// Sign a user up in the local user pool (if new) and print an ID token.
    Token {
        #[arg(long, default_value = "ada@example.com")]
        email: String,
        #[arg(long, default_value = "Correct-Horse-Battery-9")]
        password: String,
    },
    /// Drive the main journey against a running local cloud, step by step.
    Walkthrough,
    /// Make a user of the local user pool an admin (the `admins` group):
    /// their next ID token may use the campaigns admin API.
    Admin {
        #[arg(long, default_value = "ada@example.com")]
        email: String,
    },
    /// A state machine execution, state by state: input and output,
    /// attempts and retries, the task token handed out, timings. Takes a
    /// campaign id (its execution's name) or an execution ARN.
    Executions { id: String },
    /// Rotate the third-party sender's API key: a new key at the sender's
    /// stand-in, then the SSM parameter overwritten. Campaigns carry on.
    RotateSenderKey {
        #[arg(long, default_value = "/campaigns/sender-api-key")]
        parameter: String,
    },
    /// The waterfall of a trace across services: each hop, its function,
    /// duration and outcome. Takes a correlation id (every trace it caused)
    /// or an X-Ray trace id.
    Trace {
        /// A correlation id or a trace id (`1-…-…`). With --json: the hops
        /// as JSON lines.
        id: String,
    },
    /// The EMF metrics the functions printed, added up: a table per service
    /// (with --json: namespace → function → metric → figures).
    Metrics,
    /// Many users at once against the running local cloud, then an exact
    /// account of every action: throughput and latency per route, event
    /// age, and the last line `lost: X, duplicated: Y` (exit 1 unless both
    /// are 0). With --chaos, faults while it runs, then the DLQs replayed.
    Load(LoadArgs),
    /// Measure the local cloud: cold start, function init, end-to-end
    /// latency and where it goes, hop by hop. A warm-up round, then
    /// `--rounds` rounds, each on a fresh local cloud in a process of its
    /// own; prints the median of the rounds with their spread and writes
    /// the report as JSON (--json prints it instead of the table).
    Bench(BenchArgs),
    /// One campaign to many new recipients, timed: sign-ups, the audience,
    /// the sender's report, every recipient recorded, the last notification
    /// seen. The last line is `missing: X, duplicated: Y` (exit 1 unless
    /// both are 0).
    Campaign(CampaignArgs),
}

#[derive(Args)]
struct CampaignArgs {
    /// New users signed up as the campaign's recipients.
    #[arg(long, default_value_t = 100)]
    recipients: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds the campaign may take to be delivered.
    #[arg(long, default_value_t = 300.0)]
    within: f64,
    /// The admin who starts it (signed up and made an admin if needed).
    #[arg(long, default_value = "campaign-admin@example.com")]
    admin: String,
}

#[derive(Args)]
struct UpArgs {
    /// Use this emulator instead of starting one (also AWS_ENDPOINT_URL).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    endpoint_url: Option<String>,
    /// Gateway port (0 = a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Lambda Invoke API port (0 = a free one).
    #[arg(long, default_value_t = 0)]
    lambda_port: u16,
    /// Where the function binaries are.
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Run this service's functions from its `sam build` output
    /// (services/<name>/.aws-sam/build) instead: the artifact that ships.
    #[arg(long = "from-sam", value_name = "SERVICE")]
    from_sam: Vec<String>,
    /// Web app port (0 = a free one).
    #[arg(long, default_value_t = 0)]
    web_port: u16,
    /// Put a fault proxy between each function and the emulator, so
    /// `devstack load --chaos` can inject faults (otherwise it only
    /// forwards: one hop more on every AWS call).
    #[arg(long)]
    faults: bool,
    /// A stack's parameter, as `sam deploy --parameter-overrides` sets it:
    /// `users:ThrottleRateLimit=5`. The stack deploys with it and the
    /// local gateway enforces the throttles it sets. Repeatable.
    #[arg(long = "parameter-override", value_name = "STACK:NAME=VALUE", value_parser = parse_override)]
    parameter_overrides: Vec<devstack_cloud::Override>,
}

fn parse_override(text: &str) -> Result<devstack_cloud::Override, String> {
    let usage = "expected STACK:NAME=VALUE, e.g. users:ThrottleRateLimit=5";
    let (stack, assignment) = text.split_once(':').ok_or(usage)?;
    let (parameter, value) = assignment.split_once('=').ok_or(usage)?;
    if !repo::stacks().any(|s| s == stack) {
        let stacks: Vec<&str> = repo::stacks().collect();
        return Err(format!("{stack}: not a stack ({stacks:?})"));
    }
    Ok(devstack_cloud::Override {
        stack: stack.to_owned(),
        parameter: parameter.to_owned(),
        value: value.to_owned(),
    })
}

#[derive(Args)]
struct DeployArgs {
    /// users, todos or notifications.
    service: String,
    /// Keep watching the service's sources and redeploy on each change
    /// (the local `sam sync --watch`).
    #[arg(long)]
    watch: bool,
    /// Build with the release profile.
    #[arg(long, conflicts_with = "from_sam")]
    release: bool,
    /// Deploy the service's `sam build` output as it is.
    #[arg(long)]
    from_sam: bool,
    /// The workspace to build (default: the one the current folder is in).
    #[arg(long, default_value = ".")]
    root: PathBuf,
}

#[derive(Args)]
struct LoadArgs {
    /// Users signed up (a share of them deleted at the end).
    #[arg(long, default_value_t = 10)]
    users: usize,
    /// Todos in all, spread over the users (default 100 without
    /// --duration).
    #[arg(long)]
    todos: Option<usize>,
    /// Journeys in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Seconds the actions may take (with --todos: whichever first).
    #[arg(long)]
    duration: Option<f64>,
    /// Faults while it runs: a share of the functions' AWS calls fail,
    /// processes are killed, one consumer fails for a window. Needs a
    /// cloud started with `devstack up --faults`.
    #[arg(long)]
    chaos: bool,
    /// The share of AWS calls that fail, with --chaos.
    #[arg(long, default_value_t = 0.1)]
    fault_share: f64,
    /// Seconds between kills, with --chaos.
    #[arg(long, default_value_t = 1.5)]
    kill_every: f64,
    /// The consumer that fails every call for a window, with --chaos.
    #[arg(long, default_value = "notifications/ConsumerFunction")]
    outage_function: String,
    /// Seconds of that window.
    #[arg(long, default_value_t = 4.0)]
    outage: f64,
    /// Seeds the plan and the faults.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seconds the asynchronous effects may take to show.
    #[arg(long, default_value_t = 60.0)]
    settle: f64,
    /// Start a fresh local cloud of its own, with fault proxies, from
    /// the function binaries here (and stop it at the end) instead of
    /// using the running one. `cargo xtask load` does this with
    /// release binaries: the full run.
    #[arg(long)]
    bin_dir: Option<PathBuf>,
}

#[derive(Args)]
struct BenchArgs {
    /// Measured rounds.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Measured end-to-end runs per round.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// End-to-end runs per round before the measured ones, not counted.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Where the function binaries are.
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Where the JSON report goes (and `latest.json` beside it).
    #[arg(long)]
    out: Option<PathBuf>,
    /// A report of an earlier run: prints the change of each median.
    #[arg(long)]
    compare: Option<PathBuf>,
    /// Run one round in this process and write its figures here (the
    /// bench runs itself so for each round).
    #[arg(long, hide = true)]
    one_round: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("trail=info,devstack=info,warn"));
    // Colour only for a person at a terminal: a trail redirected to a file
    // or read by a tool gets plain text (and NO_COLOR is honoured).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_target(false);
    if cli.json {
        builder.json().init();
    } else {
        builder.compact().init();
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        // The report said so already.
        Err(e) if e.is::<Unaccounted>() => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `devstack load` found effects lost or duplicated.
#[derive(Debug)]
struct Unaccounted;

impl std::fmt::Display for Unaccounted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("effects lost or duplicated")
    }
}

impl std::error::Error for Unaccounted {}

/// `devstack up` records beside its endpoints file.
fn telemetry_dir(endpoints_file: &Path) -> PathBuf {
    endpoints_file
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join("telemetry")
}

/// What the running (or last) local cloud recorded.
fn recorded_dir(endpoints_file: &Path) -> PathBuf {
    match read_endpoints(endpoints_file) {
        Ok(e) if !e.telemetry_dir.is_empty() => PathBuf::from(e.telemetry_dir),
        _ => telemetry_dir(endpoints_file),
    }
}

fn read_endpoints(path: &Path) -> Result<Endpoints> {
    if !path.is_file() {
        anyhow::bail!("{} not found: is `cargo xtask up` running?", path.display());
    }
    Ok(Endpoints::read(path)?)
}

async fn run(cli: Cli) -> Result<()> {
    let (file, json) = (&cli.endpoints_file, cli.json);
    match cli.command {
        Cmd::Up(args) => up(args, file).await,
        Cmd::Trace { id } => trace(&id, file, json),
        Cmd::Metrics => metrics(file, json),
        Cmd::Token { email, password } => token(file, &email, &password).await,
        Cmd::Deploy(args) => deploy(args, file).await,
        Cmd::Walkthrough => devstack_client::walkthrough::run(&read_endpoints(file)?).await,
        Cmd::Admin { email } => admin(file, &email).await,
        Cmd::Executions { id } => executions(file, &id).await,
        Cmd::RotateSenderKey { parameter } => {
            let e = read_endpoints(file)?;
            devstack_cloud::sender::rotate(&e, &parameter).await?;
            println!("rotated: the sender has a new key, and {parameter} holds it");
            Ok(())
        }
        Cmd::Load(args) => load(args, file, json).await,
        Cmd::Bench(args) => bench(args, json).await,
        Cmd::Campaign(args) => campaign(args, file, json).await,
    }
}

async fn up(args: UpArgs, endpoints_file: &Path) -> Result<()> {
    for service in &args.from_sam {
        if !repo::SERVICES.contains(&service.as_str()) {
            anyhow::bail!("--from-sam {service}: not a service ({:?})", repo::SERVICES);
        }
    }
    let mut options = Options {
        endpoint_url: args.endpoint_url,
        port: args.port,
        lambda_port: args.lambda_port,
        web_port: args.web_port,
        faults: args.faults,
        parameter_overrides: args.parameter_overrides,
        from_sam: args
            .from_sam
            .iter()
            .map(|s| (s.clone(), repo::sam_build_dir(s)))
            .collect(),
        ..Options::default()
    };
    if let Some(dir) = args.bin_dir {
        options.bin_dir = dir;
    }
    if let Ok(level) = std::env::var("FUNCTION_LOG") {
        options.function_env.push(("RUST_LOG".into(), level));
    }
    options.telemetry_dir = Some(telemetry_dir(endpoints_file));
    let running = devstack_cloud::start(options).await?;
    write_endpoints(endpoints_file, &running.endpoints)?;
    banner(&running.endpoints, endpoints_file, running.started_in);
    wait_for_signal().await;
    eprintln!("stopping: every process this command started ends with it");
    drop(running);
    Ok(())
}

fn trace(id: &str, endpoints_file: &Path, json: bool) -> Result<()> {
    let dir = recorded_dir(endpoints_file);
    let hops = telemetry::read_hops(&dir)?;
    let traces = telemetry::traces_for(&hops, id);
    if traces.is_empty() {
        anyhow::bail!(
            "no hop of {id} recorded in {} (a correlation id or a trace id `1-…`)",
            dir.display()
        );
    }
    for trace in traces {
        let waterfall = telemetry::waterfall(&hops, &trace);
        if json {
            for h in waterfall {
                println!("{}", serde_json::to_string(h)?);
            }
        } else {
            println!("{}", telemetry::render_waterfall(&trace, &waterfall));
        }
    }
    Ok(())
}

fn metrics(endpoints_file: &Path, json: bool) -> Result<()> {
    let table = telemetry::read_metrics(&recorded_dir(endpoints_file));
    if json {
        println!("{}", serde_json::to_string_pretty(&table)?);
    } else {
        print!("{}", telemetry::render_metrics(&table));
    }
    Ok(())
}

async fn token(endpoints_file: &Path, email: &str, password: &str) -> Result<()> {
    let e = read_endpoints(endpoints_file)?;
    let token = devstack_client::cognito::id_token(&e, email, password).await?;
    println!("{token}");
    Ok(())
}

async fn admin(endpoints_file: &Path, email: &str) -> Result<()> {
    let e = read_endpoints(endpoints_file)?;
    devstack_cloud::cognito::join_group(&e, email, "admins").await?;
    println!("{email} is in the admins group; get a new token: devstack token --email {email}");
    Ok(())
}

async fn campaign(args: CampaignArgs, endpoints_file: &Path, json: bool) -> Result<()> {
    let e = read_endpoints(endpoints_file)?;
    devstack_client::walkthrough::token_for(&e, &args.admin).await?;
    devstack_cloud::cognito::join_group(&e, &args.admin, "admins").await?;
    let config = devstack_client::campaigns::Config {
        recipients: args.recipients,
        concurrency: args.concurrency,
        within: seconds("within", args.within)?,
    };
    let report = devstack_client::campaigns::run(&e, &args.admin, &config).await?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", devstack_client::campaigns::render(&report));
    }
    if report.missing + report.duplicated > 0 {
        return Err(Unaccounted.into());
    }
    Ok(())
}

async fn executions(endpoints_file: &Path, id: &str) -> Result<()> {
    let e = read_endpoints(endpoints_file)?;
    let arns = devstack_cloud::states::executions_named(&e, id).await?;
    if arns.is_empty() {
        anyhow::bail!("no execution named {id} on this local cloud's state machines");
    }
    for arn in arns {
        let execution = devstack_sfn::history::fetch(&e.emulator_url, &arn).await?;
        println!("{}", devstack_sfn::render::render(&execution));
    }
    Ok(())
}

async fn deploy(args: DeployArgs, endpoints_file: &Path) -> Result<()> {
    let e = read_endpoints(endpoints_file)?;
    if e.control_url.is_empty() {
        anyhow::bail!("the endpoints file has no control_url: restart the local cloud");
    }
    let source = if args.from_sam {
        Source::Sam
    } else {
        Source::Cargo {
            release: args.release,
        }
    };
    deploy_loop(
        &e.control_url,
        &args.root,
        &args.service,
        source,
        args.watch,
    )
    .await
}

fn seconds(what: &str, s: f64) -> Result<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(s)
        .map_err(|_| anyhow::anyhow!("--{what} {s}: not a number of seconds"))
}

fn load_config(args: &LoadArgs, endpoints_file: Option<PathBuf>) -> Result<load::Config> {
    Ok(load::Config {
        users: args.users,
        todos: match (args.todos, args.duration) {
            (None, None) => Some(100),
            (t, _) => t,
        },
        concurrency: args.concurrency,
        duration: args.duration.map(|d| seconds("duration", d)).transpose()?,
        seed: args.seed,
        chaos: if args.chaos {
            Some(load::Chaos {
                share: args.fault_share,
                kill_every: seconds("kill-every", args.kill_every)?,
                outage_function: args.outage_function.clone(),
                outage: seconds("outage", args.outage)?,
                ..load::Chaos::default()
            })
        } else {
            None
        },
        settle: seconds("settle", args.settle)?,
        endpoints_file,
        ..load::Config::default()
    })
}

async fn load(args: LoadArgs, endpoints_file: &Path, json: bool) -> Result<()> {
    // Kept until the run ends: dropping it stops the cloud.
    let own = match &args.bin_dir {
        Some(bin_dir) => Some(
            devstack_cloud::start(Options {
                bin_dir: bin_dir.clone(),
                faults: true,
                function_env: vec![("RUST_LOG".into(), "warn".into())],
                ..Options::default()
            })
            .await?,
        ),
        None => None,
    };
    let endpoints = match &own {
        Some(running) => running.endpoints.clone(),
        None => read_endpoints(endpoints_file)?,
    };
    let config = load_config(&args, own.is_none().then(|| endpoints_file.to_owned()))?;
    let report = load::run(&endpoints, &config).await?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
        println!("{}", report.verdict());
    } else {
        println!("{}", load::render(&report));
    }
    if report.lost + report.duplicated > 0 {
        return Err(Unaccounted.into());
    }
    Ok(())
}

async fn bench(args: BenchArgs, json: bool) -> Result<()> {
    if let Some(result) = args.one_round {
        let mut options = Options::default();
        if let Some(dir) = args.bin_dir {
            options.bin_dir = dir;
        }
        options
            .function_env
            .push(("RUST_LOG".into(), "warn".into()));
        return bench::one_round(options, args.runs, args.warmup, &result).await;
    }
    let out = args.out.unwrap_or_else(|| {
        PathBuf::from(".local/bench").join(format!(
            "bench-{}.json",
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
        ))
    });
    let plan = bench::Plan {
        rounds: args.rounds,
        runs: args.runs,
        warmup_runs: args.warmup,
        bin_dir: args.bin_dir,
        out,
        compare: args.compare,
    };
    bench::run(plan, json).await
}

async fn deploy_loop(
    control: &str,
    root: &std::path::Path,
    service: &str,
    source: Source,
    watch: bool,
) -> Result<()> {
    loop {
        // Read once per deploy, not per poll: `cargo metadata` on every
        // tick would cost more than the check it serves. A deploy re-reads
        // it, so a new path dependency is watched from then on.
        let workspace = repo::workspace::Workspace::load(root)?;
        let seen = deploy::sources_stamp(&workspace, service)?;
        match deploy::deploy(control, &workspace, service, source).await {
            Ok(report) => {
                println!(
                    "deployed {} at {} in {} ms (stack {} ms)",
                    report.service, report.commit, report.total_ms, report.stack_ms
                );
                for f in &report.swapped {
                    println!(
                        "  {:<32} swapped in {:>5} ms (drained {} ms, {} waiting)",
                        f.function, f.total_ms, f.drained_ms, f.waiting
                    );
                }
            }
            // Watching, a broken edit is reported and the next one tried.
            Err(e) if watch => eprintln!("deploy failed: {e:#}"),
            Err(e) => return Err(e),
        }
        if !watch {
            return Ok(());
        }
        println!("watching {service}'s sources (Ctrl-C to stop)");
        loop {
            tokio::select! {
                () = wait_for_signal() => return Ok(()),
                () = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
            }
            let now = deploy::sources_stamp(&workspace, service)?;
            if now > seen {
                // Let an editor finish writing every file it saves at once.
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                break;
            }
        }
    }
}

fn write_endpoints(path: &Path, endpoints: &Endpoints) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_string_pretty(endpoints)? + "\n")?;
    Ok(())
}

fn banner(e: &Endpoints, file: &std::path::Path, took: std::time::Duration) {
    println!("local cloud ready in {:.1}s", took.as_secs_f64());
    println!("  web app:    {}   (open it in a browser)", e.web_url);
    println!("  API:        {}", e.api_base_url);
    println!("  WebSocket:  {}   (?token=<ID token>)", e.socket_url);
    println!("  emulator:   {}", e.emulator_url);
    println!(
        "  Lambda API: {}   (AWS_ENDPOINT_URL_LAMBDA)",
        e.lambda_endpoint
    );
    println!(
        "  control:    {}   (devstack deploy <service>)",
        e.control_url
    );
    println!("  endpoints:  {}", file.display());
    println!();
    println!("  TOKEN=$(cargo run -q -p devstack -- token --email ada@example.com)");
    println!(
        "  curl -s -X PUT {}/users/me -H \"authorization: Bearer $TOKEN\" -d '{{\"display_name\":\"Ada\"}}'",
        e.api_base_url
    );
    println!(
        "  curl -s -X POST {}/todos -H \"authorization: Bearer $TOKEN\" -d '{{\"title\":\"ship it\"}}'",
        e.api_base_url
    );
    println!("  cargo run -q -p devstack -- walkthrough");
    println!();
}

async fn wait_for_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
