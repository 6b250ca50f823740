//! `devstack bench`: how fast the local cloud starts and answers. Targets
//! live here as figures to compare, never as assertions in tests.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use reqwest::Method;
use serde_json::{Value, json};

use crate::cloud::{self, Options};
use crate::walkthrough::{Client, eventually, token_for};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

pub async fn run(options: Options, runs: usize, json_out: bool) -> Result<()> {
    let started = Instant::now();
    let running = cloud::start(options).await?;
    let cold_start = started.elapsed();
    let endpoints = serde_json::to_value(&running.endpoints)?;

    // Every process has started once by the time its first `next` arrives.
    let mut inits = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
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
        inits.push((name.clone(), init));
    }

    // Then each alone: kill it, and time its restart with the machine
    // otherwise idle, as each function has its own sandbox on AWS.
    let mut isolated = Vec::new();
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
        isolated.push((name.clone(), init));
    }

    let api = Client {
        http: reqwest::Client::new(),
        base: endpoints["api_base_url"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        token: token_for(&endpoints, "bench@example.com").await?,
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
    let mut latencies = Vec::new();
    for i in 0..runs {
        let title = format!("bench todo {i} {}", uuid::Uuid::new_v4().simple());
        let t0 = Instant::now();
        let (_, todo) = api
            .call(Method::POST, "/todos", Some(json!({"title": title})))
            .await?;
        let id = todo["id"].as_str().unwrap_or_default().to_owned();
        api.call(
            Method::PATCH,
            &format!("/todos/{id}"),
            Some(json!({"completed": true})),
        )
        .await?;
        eventually(Duration::from_secs(30), "the congratulation", || async {
            let (_, list) = api.call(Method::GET, "/notifications", None).await?;
            let seen = list["items"].as_array().is_some_and(|items| {
                items
                    .iter()
                    .any(|n| n["message"].as_str().is_some_and(|m| m.contains(&title)))
            });
            Ok(seen.then_some(()))
        })
        .await?;
        latencies.push(t0.elapsed());
    }
    latencies.sort();
    let mut init_sorted: Vec<Duration> = isolated.iter().map(|(_, d)| *d).collect();
    init_sorted.sort();
    let mut together: Vec<Duration> = inits.iter().map(|(_, d)| *d).collect();
    together.sort();

    if json_out {
        let report = json!({
            "cold_start_ms": cold_start.as_secs_f64() * 1000.0,
            "function_init_ms": isolated.iter().map(|(n, d)| (n.clone(), Value::from(d.as_secs_f64() * 1000.0))).collect::<serde_json::Map<_, _>>(),
            "function_init_p50_ms": percentile(&init_sorted, 50.0).as_secs_f64() * 1000.0,
            "function_init_all_at_once_p50_ms": percentile(&together, 50.0).as_secs_f64() * 1000.0,
            "e2e_runs": runs,
            "e2e_p50_ms": percentile(&latencies, 50.0).as_secs_f64() * 1000.0,
            "e2e_p95_ms": percentile(&latencies, 95.0).as_secs_f64() * 1000.0,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("| measure | value | budget |");
    println!("|---|---|---|");
    println!(
        "| local cloud cold start (command → API ready) | {} ms | ≤ 10000 ms |",
        ms(cold_start)
    );
    println!(
        "| function init p50 (spawn → first `next`, one at a time) | {} ms | ≤ 10 ms |",
        ms(percentile(&init_sorted, 50.0))
    );
    println!(
        "| function init max (one at a time) | {} ms | |",
        ms(*init_sorted.last().unwrap_or(&Duration::ZERO))
    );
    println!(
        "| function init p50 (all {} at once, at startup) | {} ms | |",
        together.len(),
        ms(percentile(&together, 50.0))
    );
    println!(
        "| create → complete → notification visible, p50 ({runs} runs) | {} ms | ≤ 250 ms |",
        ms(percentile(&latencies, 50.0))
    );
    println!("| same, p95 | {} ms | |", ms(percentile(&latencies, 95.0)));
    println!();
    println!("| function | init alone | init at startup |");
    println!("|---|---|---|");
    for ((name, alone), (_, at_start)) in isolated.iter().zip(&inits) {
        println!("| {name} | {} ms | {} ms |", ms(*alone), ms(*at_start));
    }
    Ok(())
}
