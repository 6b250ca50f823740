//! Faults while the actions run, driven through the control API: a share
//! of every AWS call failed, processes killed, one consumer out for a
//! window.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use devstack_api::chaos::{Counts, OutageRequest, Remote, Rng, Settings};

use super::{Chaos, Config, LoadError};

/// What the fault proxies counted before the run; `None` without chaos.
pub(super) async fn faults_before(remote: Option<&Remote>) -> Result<Option<Counts>, LoadError> {
    let Some(remote) = remote else {
        return Ok(None);
    };
    let status = remote.status().await?;
    // Before anyone signs up: a run that cannot inject its faults
    // proves nothing about them.
    if status.functions.is_empty() {
        return Err(LoadError::ChaosOff);
    }
    Ok(Some(status.counts))
}

/// Faults on, and the kills and the outage driven beside the actions until
/// `stop`; `None` without chaos.
pub(super) async fn start_chaos(
    config: &Config,
    remote: Option<&Remote>,
    finished: &Arc<AtomicUsize>,
    stop: &Arc<AtomicBool>,
) -> Result<Option<tokio::task::JoinHandle<()>>, LoadError> {
    let (Some(chaos), Some(remote)) = (&config.chaos, remote) else {
        return Ok(None);
    };
    let status = remote
        .configure(&Settings {
            enabled: true,
            share: chaos.share,
            kinds: chaos.kinds.clone(),
            functions: Vec::new(),
            seed: Some(config.seed),
        })
        .await?;
    tracing::warn!(share = chaos.share, kinds = ?chaos.kinds, "load: faults on");
    Ok(Some(tokio::spawn(drive_chaos(
        Remote::new(&remote.control_url),
        chaos.clone(),
        status.functions,
        config.seed ^ 0xC4A0_5EED,
        finished.clone(),
        config.todos,
        config.duration,
        stop.clone(),
    ))))
}

/// Faults off; what they injected since `before`.
pub(super) async fn calm(
    remote: Option<&Remote>,
    before: Option<&Counts>,
) -> Result<Option<Counts>, LoadError> {
    let (Some(remote), Some(before)) = (remote, before) else {
        return Ok(None);
    };
    let status = remote.calm().await?;
    tracing::warn!("load: faults off");
    Ok(Some(status.counts.since(before)))
}

/// Faults while the actions run: random kills, and one outage once half
/// the journeys are done (or half the duration passed).
#[allow(clippy::too_many_arguments)]
pub(super) async fn drive_chaos(
    remote: Remote,
    chaos: Chaos,
    functions: Vec<String>,
    seed: u64,
    finished: Arc<AtomicUsize>,
    todos: Option<usize>,
    duration: Option<Duration>,
    stop: Arc<AtomicBool>,
) {
    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut outage_until: Option<Instant> = None;
    let mut next_kill = Instant::now() + chaos.kill_every;
    let halfway = |finished: usize| match (todos, duration) {
        (Some(t), _) if finished * 2 >= t => true,
        (_, Some(d)) => started.elapsed() * 2 >= d,
        _ => false,
    };
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        if outage_until.is_none() && (stopping || halfway(finished.load(Ordering::SeqCst))) {
            match remote
                .outage(&OutageRequest {
                    function: chaos.outage_function.clone(),
                    seconds: chaos.outage.as_secs_f64(),
                    kind: chaos.outage_kind,
                })
                .await
            {
                Ok(_) => {
                    tracing::warn!(function = %chaos.outage_function, "load: outage begins");
                }
                Err(e) => tracing::error!(error = %e, "load: no outage"),
            }
            outage_until = Some(Instant::now() + chaos.outage);
        }
        if stopping {
            break;
        }
        if Instant::now() >= next_kill && !functions.is_empty() {
            let victim = &functions[(rng.next_u64() % functions.len() as u64) as usize];
            if let Err(e) = remote.kill(victim).await {
                tracing::error!(error = %e, "load: kill refused");
            }
            next_kill = Instant::now() + chaos.kill_every;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The consumer recovers when its window ends, not when the actions do.
    if let Some(until) = outage_until {
        tokio::time::sleep_until(until.into()).await;
    }
}
