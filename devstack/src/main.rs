//! `devstack`: the whole system on one machine. See `devstack --help`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use devstack::cloud::{self, Endpoints, Options};
use devstack::redeploy::Source;

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
    Up {
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
    },
    /// Redeploy one service into the running local cloud (the local `sam
    /// deploy`): build it alone, update its stack, swap its processes. The
    /// other services keep running and no event is lost.
    Deploy {
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
    },
    /// Sign a user up in the local user pool (if new) and print an ID token.
    Token {
        #[arg(long, default_value = "ada@example.com")]
        email: String,
        #[arg(long, default_value = "Correct-Horse-Battery-9")]
        password: String,
    },
    /// Drive the main journey against a running local cloud, step by step.
    Walkthrough,
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
    Load {
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
    },
    /// Measure the local cloud: cold start, function init, end-to-end
    /// latency and where it goes, hop by hop. A warm-up round, then
    /// `--rounds` rounds, each on a fresh local cloud in a process of its
    /// own; prints the median of the rounds with their spread and writes
    /// the report as JSON (--json prints it instead of the table).
    Bench {
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
    },
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
fn telemetry_dir(endpoints_file: &std::path::Path) -> PathBuf {
    endpoints_file
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join("telemetry")
}

/// What the running (or last) local cloud recorded.
fn recorded_dir(endpoints_file: &PathBuf) -> Result<PathBuf> {
    Ok(match read_endpoints(endpoints_file) {
        Ok(e) => e["telemetry_dir"]
            .as_str()
            .map(PathBuf::from)
            .unwrap_or_else(|| telemetry_dir(endpoints_file)),
        Err(_) => telemetry_dir(endpoints_file),
    })
}

fn read_endpoints(path: &PathBuf) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{} not found: is `cargo xtask up` running?", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Cmd::Up {
            endpoint_url,
            port,
            lambda_port,
            bin_dir,
            from_sam,
            web_port,
            faults,
        } => {
            for service in &from_sam {
                if !devstack::SERVICES.contains(&service.as_str()) {
                    anyhow::bail!(
                        "--from-sam {service}: not a service ({:?})",
                        devstack::SERVICES
                    );
                }
            }
            let mut options = Options {
                endpoint_url,
                port,
                lambda_port,
                web_port,
                faults,
                from_sam: from_sam
                    .iter()
                    .map(|s| (s.clone(), devstack::sam_build_dir(s)))
                    .collect(),
                ..Options::default()
            };
            if let Some(dir) = bin_dir {
                options.bin_dir = dir;
            }
            if let Ok(level) = std::env::var("FUNCTION_LOG") {
                options.function_env.push(("RUST_LOG".into(), level));
            }
            options.telemetry_dir = Some(telemetry_dir(&cli.endpoints_file));
            let running = cloud::start(options).await?;
            write_endpoints(&cli.endpoints_file, &running.endpoints)?;
            banner(&running.endpoints, &cli.endpoints_file, running.started_in);
            wait_for_signal().await;
            eprintln!("stopping: every process this command started ends with it");
            drop(running);
            Ok(())
        }
        Cmd::Trace { id } => {
            let dir = recorded_dir(&cli.endpoints_file)?;
            let hops = devstack::telemetry::read_hops(&dir)?;
            let traces = devstack::telemetry::traces_for(&hops, &id);
            if traces.is_empty() {
                anyhow::bail!(
                    "no hop of {id} recorded in {} (a correlation id or a trace id `1-…`)",
                    dir.display()
                );
            }
            for trace in traces {
                let waterfall = devstack::telemetry::waterfall(&hops, &trace);
                if cli.json {
                    for h in waterfall {
                        println!("{}", serde_json::to_string(h)?);
                    }
                } else {
                    println!(
                        "{}",
                        devstack::telemetry::render_waterfall(&trace, &waterfall)
                    );
                }
            }
            Ok(())
        }
        Cmd::Metrics => {
            let dir = recorded_dir(&cli.endpoints_file)?;
            let table = devstack::telemetry::read_metrics(&dir);
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&table)?);
            } else {
                print!("{}", devstack::telemetry::render_metrics(&table));
            }
            Ok(())
        }
        Cmd::Token { email, password } => {
            let e = read_endpoints(&cli.endpoints_file)?;
            let conf = kit::emulator::Emulator {
                url: e["emulator_url"].as_str().unwrap_or_default().to_owned(),
            }
            .sdk_config()
            .await;
            let pool = pool_from(&e);
            let token = devstack::cognito::token(
                &aws_sdk_cognitoidentityprovider::Client::new(&conf),
                &pool,
                &email,
                &password,
            )
            .await?;
            println!("{token}");
            Ok(())
        }
        Cmd::Deploy {
            service,
            watch,
            release,
            from_sam,
            root,
        } => {
            let e = read_endpoints(&cli.endpoints_file)?;
            let control = e["control_url"]
                .as_str()
                .context("the endpoints file has no control_url: restart the local cloud")?
                .to_owned();
            let source = if from_sam {
                Source::Sam
            } else {
                Source::Cargo { release }
            };
            deploy_loop(&control, &root, &service, source, watch).await
        }
        Cmd::Walkthrough => devstack::walkthrough::run(&read_endpoints(&cli.endpoints_file)?).await,
        Cmd::Load {
            users,
            todos,
            concurrency,
            duration,
            chaos,
            fault_share,
            kill_every,
            outage_function,
            outage,
            seed,
            settle,
            bin_dir,
        } => {
            // Kept until the run ends: dropping it stops the cloud.
            let own = match bin_dir {
                Some(bin_dir) => Some(
                    cloud::start(Options {
                        bin_dir,
                        faults: true,
                        function_env: vec![("RUST_LOG".into(), "warn".into())],
                        ..Options::default()
                    })
                    .await?,
                ),
                None => None,
            };
            let endpoints = match &own {
                Some(running) => serde_json::to_value(&running.endpoints)?,
                None => read_endpoints(&cli.endpoints_file)?,
            };
            let secs = |what: &str, s: f64| -> Result<std::time::Duration> {
                std::time::Duration::try_from_secs_f64(s)
                    .map_err(|_| anyhow::anyhow!("--{what} {s}: not a number of seconds"))
            };
            let config = devstack::load::Config {
                users,
                todos: match (todos, duration) {
                    (None, None) => Some(100),
                    (t, _) => t,
                },
                concurrency,
                duration: duration.map(|d| secs("duration", d)).transpose()?,
                seed,
                chaos: if chaos {
                    Some(devstack::load::Chaos {
                        share: fault_share,
                        kill_every: secs("kill-every", kill_every)?,
                        outage_function,
                        outage: secs("outage", outage)?,
                        ..devstack::load::Chaos::default()
                    })
                } else {
                    None
                },
                settle: secs("settle", settle)?,
                endpoints_file: own.is_none().then(|| cli.endpoints_file.clone()),
                ..devstack::load::Config::default()
            };
            let report = devstack::load::run(&endpoints, &config).await?;
            if cli.json {
                println!("{}", serde_json::to_string(&report)?);
                println!("{}", report.verdict());
            } else {
                println!("{}", devstack::load::render(&report));
            }
            if report.lost + report.duplicated > 0 {
                return Err(Unaccounted.into());
            }
            Ok(())
        }
        Cmd::Bench {
            rounds,
            runs,
            warmup,
            bin_dir,
            out,
            compare,
            one_round,
        } => {
            if let Some(result) = one_round {
                let mut options = Options::default();
                if let Some(dir) = bin_dir {
                    options.bin_dir = dir;
                }
                options
                    .function_env
                    .push(("RUST_LOG".into(), "warn".into()));
                return devstack::bench::one_round(options, runs, warmup, &result).await;
            }
            let out = out.unwrap_or_else(|| {
                PathBuf::from(".local/bench").join(format!(
                    "bench-{}.json",
                    chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
                ))
            });
            let plan = devstack::bench::Plan {
                rounds,
                runs,
                warmup_runs: warmup,
                bin_dir,
                out,
                compare,
            };
            devstack::bench::run(plan, cli.json).await
        }
    }
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
        let workspace = devstack::workspace::Workspace::load(root)?;
        let seen = devstack::redeploy::sources_stamp(&workspace, service)?;
        match devstack::redeploy::deploy(control, &workspace, service, source).await {
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
            let now = devstack::redeploy::sources_stamp(&workspace, service)?;
            if now > seen {
                // Let an editor finish writing every file it saves at once.
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                break;
            }
        }
    }
}

pub fn pool_from(e: &serde_json::Value) -> devstack::cognito::Pool {
    let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
    devstack::cognito::Pool {
        user_pool_id: s("user_pool_id"),
        client_id: s("client_id"),
        issuer: s("issuer"),
        jwks_url: s("jwks_url"),
    }
}

fn write_endpoints(path: &PathBuf, endpoints: &Endpoints) -> Result<()> {
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
