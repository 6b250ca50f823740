//! Running the rounds: each a fresh local cloud in a process of its own,
//! its start, its functions' init and its end-to-end runs measured.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use reqwest::Method;
use serde_json::json;

use super::hops::{e2e, path_hops};
use super::report::*;
use devstack_client::walkthrough::{Client, token_for};
use devstack_cloud::{self as cloud, Options};

/// `devstack bench`: a warm-up round, then the measured rounds, each in a
/// process of its own.
pub async fn run(plan: Plan, json_out: bool) -> Result<()> {
    let exe = std::env::current_exe().context("finding the devstack binary")?;
    let work = plan
        .out
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let warmup = one_round_process(&exe, &plan, &work, "warmup").await?;
    eprintln!(
        "warm-up round: cold start {:.0} ms (not counted)",
        warmup.cold_start_ms
    );
    let mut rounds = Vec::new();
    for r in 1..=plan.rounds {
        let round = one_round_process(&exe, &plan, &work, &format!("round-{r}")).await?;
        eprintln!(
            "round {r}/{}: cold start {:.0} ms, e2e p50 {:.1} ms",
            plan.rounds,
            round.cold_start_ms,
            devstack_client::load::percentile(&sorted(&round.e2e_ms), 50.0)
        );
        rounds.push(round);
    }
    let commit = repo::git::commit_of(&repo::root());
    let report = summarize(rounds, &plan, commit, Some(warmup.cold_start_ms));
    let text = serde_json::to_string_pretty(&report)?;
    std::fs::write(&plan.out, &text).with_context(|| format!("writing {}", plan.out.display()))?;
    let _ = std::fs::copy(&plan.out, work.join("latest.json"));
    if json_out {
        println!("{text}");
    } else {
        print!("{}", render(&report));
        println!();
        println!("written to {}", plan.out.display());
    }
    if let Some(old) = &plan.compare {
        let old: Report = serde_json::from_str(
            &std::fs::read_to_string(old).with_context(|| format!("reading {}", old.display()))?,
        )
        .with_context(|| format!("{} is not a bench report", old.display()))?;
        println!();
        print!("{}", compare(&old, &report));
    }
    Ok(())
}

pub(crate) async fn one_round_process(
    exe: &Path,
    plan: &Plan,
    work: &Path,
    name: &str,
) -> Result<Round> {
    let result = work.join(format!("{name}.json"));
    let log = work.join(format!("{name}.log"));
    let _ = std::fs::remove_file(&result);
    let load_before = load_average();
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("bench")
        .arg("--one-round")
        .arg(&result)
        .arg("--runs")
        .arg(plan.runs.to_string())
        .arg("--warmup")
        .arg(plan.warmup_runs.to_string())
        .arg("--iam")
        .arg(plan.iam.to_string());
    if let Some(dir) = &plan.bin_dir {
        cmd.arg("--bin-dir").arg(dir);
    }
    if plan.one_account {
        cmd.arg("--one-account");
    }
    let out = std::fs::File::create(&log)?;
    cmd.stdout(out.try_clone()?)
        .stderr(out)
        .stdin(std::process::Stdio::null())
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    let status = cmd.status().await.context("starting a bench round")?;
    if !status.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        bail!(
            "bench {name} failed ({status}); the end of {}:\n{}",
            log.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    let mut round: Round = serde_json::from_str(
        &std::fs::read_to_string(&result)
            .with_context(|| format!("reading {}", result.display()))?,
    )?;
    round.load_before = load_before;
    round.load_after = load_average();
    // The round's emulator ends half a second after its process (a
    // watchdog): wait, so its teardown does not overlap the next start.
    let addr = round.emulator_url.trim_start_matches("http://").to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && tokio::net::TcpStream::connect(&addr).await.is_ok() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(round)
}

/// One round, in this process: a fresh local cloud, measured, then stopped.
pub async fn one_round(
    mut options: Options,
    runs: usize,
    warmup: usize,
    result: &Path,
) -> Result<()> {
    // Beside the result, replaced by the next bench, for `devstack trace`.
    let telemetry = result.with_extension("telemetry");
    let _ = std::fs::remove_dir_all(&telemetry);
    options.telemetry_dir = Some(telemetry.clone());
    let started = Instant::now();
    let running = cloud::start(options).await?;
    let mut round = Round {
        cold_start_ms: started.elapsed().as_secs_f64() * 1000.0,
        phases: running
            .phases
            .iter()
            .map(|(name, at)| (name.clone(), at.as_secs_f64() * 1000.0))
            .collect(),
        emulator_url: running.endpoints.emulator_url.clone(),
        ..Round::default()
    };
    let endpoints = running.endpoints.clone();

    // Every process has started once by the time its first `next` arrives.
    let deadline = Instant::now() + Duration::from_secs(10);
    round.init_at_start_ms = init_at_start(&running, deadline).await?;
    round.init_alone_ms = init_alone(&running, deadline).await?;

    let api = bench_user(&endpoints).await?;
    let seen_by = e2e_runs(&api, &telemetry, warmup, runs, &mut round).await?;
    crate::cost::tour(&endpoints, "bench-admin@example.com").await?;
    quiet(&telemetry).await;
    round.functions = crate::cost::figures(&running, &telemetry).await;
    round.artifact_bytes = crate::cost::artifacts(&running);
    round.event_age_ms = crate::cost::event_ages(&telemetry);
    // Every call the gate judged in the round, warm-up runs and tour too.
    round
        .hops
        .insert("iam_judgement".into(), running.judge.times_ms());
    let hops = devstack_api::telemetry::read_hops(&telemetry)?;
    for (i, read, elapsed) in seen_by {
        match path_hops(&hops, i, &read) {
            Some(path) => {
                let covered: f64 = path.iter().map(|(_, v)| v).sum::<f64>();
                for (k, v) in path {
                    round.hops.entry(k.to_owned()).or_default().push(v);
                }
                round
                    .hops
                    .entry("outside".into())
                    .or_default()
                    .push(elapsed.as_secs_f64() * 1000.0 - covered);
            }
            None => round.runs_without_hops += 1,
        }
    }
    std::fs::write(result, serde_json::to_string(&round)?)
        .with_context(|| format!("writing {}", result.display()))?;
    Ok(())
}

/// Each function's spawn → first `next`, all started together.
pub(crate) async fn init_at_start(
    running: &cloud::Running,
    deadline: Instant,
) -> Result<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    for (name, f) in &running.functions {
        let init = loop {
            if let Some(d) = f.metrics().await.init.first().copied() {
                break d;
            }
            if Instant::now() > deadline {
                bail!("{name} never asked for its first event");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        out.insert(name.clone(), init.as_secs_f64() * 1000.0);
    }
    Ok(out)
}

/// Each function's init alone: it is killed, and its restart timed with the
/// machine otherwise idle, as each function has its own sandbox on AWS.
pub(crate) async fn init_alone(
    running: &cloud::Running,
    deadline: Instant,
) -> Result<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    for (name, f) in &running.functions {
        let before = f.metrics().await.init.len();
        f.kill();
        let init = loop {
            let m = f.metrics().await;
            if m.init.len() > before {
                break m.init[m.init.len() - 1];
            }
            if Instant::now() > deadline + Duration::from_secs(30) {
                bail!("{name} did not come back");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        out.insert(name.clone(), init.as_secs_f64() * 1000.0);
    }
    Ok(out)
}

/// The user the end-to-end runs act as, signed up and given a profile.
pub(crate) async fn bench_user(endpoints: &devstack_api::Endpoints) -> Result<Client> {
    let api = Client {
        http: reqwest::Client::new(),
        base: endpoints.api_base_url.clone(),
        token: token_for(endpoints, "bench@example.com").await?,
    };
    let (status, _) = api
        .call(
            Method::PUT,
            "/users/me",
            Some(json!({"display_name": "Bench"})),
        )
        .await?;
    if status != 201 && status != 200 {
        bail!("PUT /users/me answered {status}");
    }
    Ok(api)
}

/// The warm-up runs, then the measured ones, each timed into `round`; the
/// answer is each measured run's index, the read that saw its result, and
/// its time, for cutting its path into hops.
pub(crate) async fn e2e_runs(
    api: &Client,
    telemetry: &Path,
    warmup: usize,
    runs: usize,
    round: &mut Round,
) -> Result<Vec<(usize, String, Duration)>> {
    let mut seen_by = Vec::new();
    for i in 0..warmup + runs {
        quiet(telemetry).await;
        let (elapsed, read) = e2e(api, telemetry, i).await?;
        if i >= warmup {
            round.e2e_ms.push(elapsed.as_secs_f64() * 1000.0);
            seen_by.push((i, read, elapsed));
        }
    }
    Ok(seen_by)
}

/// Until the previous run's last effects (the notification's push, its
/// NotificationSent) are done: no hop recorded for a while. Each run then
/// measures its own path, not the tail of the one before it, which shares
/// the emulator.
pub(crate) async fn quiet(telemetry: &Path) {
    let file = telemetry.join("hops.jsonl");
    let size = || std::fs::metadata(&file).map_or(0, |m| m.len());
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut seen = size();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let now = size();
        if now == seen {
            return;
        }
        seen = now;
    }
}
