//! Traffic on a running or own cloud: `load`, `burst` and `bench`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use devstack::cli::{BenchArgs, LoadArgs};
use devstack_client::load;
use devstack_cloud::Options;

use super::{read_endpoints, seconds};
use crate::Unaccounted;

pub(crate) async fn load(args: LoadArgs, endpoints_file: &Path, json: bool) -> Result<()> {
    // Kept until the run ends: dropping it stops the cloud.
    let own = match &args.bin_dir {
        Some(bin_dir) => Some(
            devstack_cloud::start(Options {
                bin_dir: bin_dir.clone(),
                faults: true,
                function_env: vec![("RUST_LOG".into(), "warn".into())],
                accounts: devstack_cloud::accounts::layout(args.one_account),
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

pub(crate) fn load_config(
    args: &LoadArgs,
    endpoints_file: Option<PathBuf>,
) -> Result<load::Config> {
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

pub(crate) async fn burst(
    events: usize,
    within: f64,
    endpoints_file: &Path,
    json: bool,
) -> Result<()> {
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

pub(crate) async fn bench(args: BenchArgs, json: bool) -> Result<()> {
    if let Some(result) = args.one_round {
        let mut options = Options {
            iam: args.iam,
            accounts: devstack_cloud::accounts::layout(args.one_account),
            ..Options::default()
        };
        if let Some(dir) = args.bin_dir {
            options.bin_dir = dir;
        }
        options
            .function_env
            .push(("RUST_LOG".into(), "warn".into()));
        return crate::bench::one_round(options, args.runs, args.warmup, &result).await;
    }
    let out = args.out.unwrap_or_else(|| {
        PathBuf::from(".local/bench").join(format!(
            "bench-{}.json",
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
        ))
    });
    let plan = crate::bench::Plan {
        rounds: args.rounds,
        runs: args.runs,
        warmup_runs: args.warmup,
        bin_dir: args.bin_dir,
        out,
        compare: args.compare,
        iam: args.iam,
        one_account: args.one_account,
    };
    crate::bench::run(plan, json).await
}
