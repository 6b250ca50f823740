//! `devstack`: the whole system on one machine. See `devstack --help`.

mod bench;
mod cost;
mod stat;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use devstack::cli::{BenchArgs, CampaignArgs, Cli, Cmd, DeployArgs, LoadArgs, UpArgs};
use devstack_api::{Endpoints, telemetry};
use devstack_client::deploy::{self, Source};
use devstack_client::load;
use devstack_cloud::Options;

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
        Cmd::LeastPrivilege { dirs } => least_privilege(file, dirs, json),
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
        Cmd::Burst { events, within } => burst(events, within, file, json).await,
        Cmd::Engine { socket, owner } => engine(&socket, owner),
    }
}

/// Becomes the engine's Python process (it only returns on failure).
fn engine(socket: &Path, owner: u32) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let mut command =
        devstack_emulator::engine_command(socket, owner).map_err(anyhow::Error::msg)?;
    Err(anyhow::Error::new(command.exec()).context("starting the engine"))
}

async fn burst(events: usize, within: f64, endpoints_file: &Path, json: bool) -> Result<()> {
    let e = read_endpoints(endpoints_file)?;
    let config = devstack_client::burst::Config {
        events,
        within: seconds("within", within)?,
    };
    let report = devstack_client::burst::run(&e, &config).await?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", report.render());
    }
    if report.lost + report.duplicated > 0 {
        return Err(Unaccounted.into());
    }
    Ok(())
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
        console_port: args.console_port,
        faults: args.faults,
        iam: args.iam,
        parameter_overrides: args.parameter_overrides,
        max_environments: args
            .max_environments
            .unwrap_or_else(devstack_cloud::default_environments),
        managed_instances: args.managed_instances.into_iter().collect(),
        from_sam: args
            .from_sam
            .iter()
            .map(|s| (s.clone(), repo::sam_build_dir(s)))
            .collect(),
        // A person watches `up`: the functions' lines as they come.
        echo_logs: true,
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

/// Every folder under `dirs` (themselves included) holding judge records.
fn judged_dirs(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending: Vec<PathBuf> = dirs.to_vec();
    while let Some(dir) = pending.pop() {
        if dir.join(devstack_api::telemetry::GRANTS).is_file() {
            found.push(dir.clone());
        }
        if let Ok(entries) = std::fs::read_dir(&dir) {
            pending.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
        }
    }
    found
}

fn least_privilege(endpoints_file: &Path, dirs: Vec<PathBuf>, json: bool) -> Result<()> {
    use devstack_iam::report::{Granted, Used, render, report};
    let dirs = if dirs.is_empty() {
        vec![recorded_dir(endpoints_file)]
    } else {
        dirs
    };
    let found = judged_dirs(&dirs);
    if found.is_empty() {
        anyhow::bail!(
            "no judge records under {dirs:?}: run a local cloud in strict or audit mode first"
        );
    }
    let mut used = Vec::new();
    let mut grants: std::collections::BTreeMap<String, Vec<Granted>> = Default::default();
    for dir in &found {
        for j in devstack_api::telemetry::read_judgements(dir) {
            // A service acting for a function (SNS) is no function's grant.
            if j.function.contains('/') {
                used.push(Used {
                    function: j.function,
                    action: j.action,
                    resource: j.resource,
                });
            }
        }
        for g in devstack_api::telemetry::read_grants(dir) {
            grants.entry(g.function).or_insert_with(|| {
                g.statements
                    .into_iter()
                    .map(|s| Granted {
                        statement: s.statement,
                        actions: s.actions,
                        resources: s.resources,
                    })
                    .collect()
            });
        }
    }
    let reports = report(&used, &grants);
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        println!("from {} local cloud(s)' records\n", found.len());
        print!("{}", render(&reports));
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
        let mut options = Options {
            iam: args.iam,
            ..Options::default()
        };
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
        iam: args.iam,
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
    println!(
        "  console:    {}   (the service map, live trail, dead letters)",
        e.console_url
    );
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
