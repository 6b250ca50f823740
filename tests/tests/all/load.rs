//! `devstack load`, scaled down: a few hundred actions against a local
//! cloud of its own with fault proxies, first as it is, then with chaos
//! (faults on a share of the functions' AWS calls, processes killed, the
//! notifications consumer failing for a window). Both must end with every
//! effect applied exactly once: lost 0, duplicated 0. The full run is a
//! bench (`devstack load`, docs/load-and-faults.md).

use std::time::Duration;

use devstack_client::load::{Chaos, Config, Report, render, run};
use devstack_cloud::{self as cloud, Options};

use crate::support::test_cloud;

fn endpoints(detached: &cloud::Detached) -> devstack_api::Endpoints {
    detached.endpoints.clone()
}

/// What both runs must show.
fn assert_accounted(report: &Report) {
    println!("{}", render(report));
    assert_eq!(report.gave_up, 0, "actions given up: {:?}", report.problems);
    assert_eq!(
        (report.lost, report.duplicated),
        (0, 0),
        "{:#?}",
        report.problems
    );
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    assert!(
        report.dlq_after.values().all(|d| *d == 0),
        "letters left: {:?}",
        report.dlq_after
    );
    let e = &report.expected;
    assert!(
        e.welcomes > 0 && e.completions > 0 && e.attachments > 0 && e.deleted_users > 0,
        "the run exercised every effect: {e:?}"
    );
    assert!(report.actions_total >= 150, "{}", report.actions_total);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_effect_is_applied_exactly_once_without_and_with_chaos() {
    let detached = tokio::task::spawn_blocking(|| {
        cloud::start_detached(Options {
            faults: true,
            ..test_cloud()
        })
    })
    .await
    .unwrap()
    .expect("the local cloud starts");
    let endpoints = endpoints(&detached);

    // As it is: nothing fails, so nothing may reach a DLQ.
    let calm = run(
        &endpoints,
        &Config {
            users: 8,
            todos: Some(80),
            concurrency: 6,
            seed: 7,
            ..Config::default()
        },
    )
    .await
    .expect("the calm run completes");
    assert_accounted(&calm);
    assert!(
        calm.dlq_before_replay.values().all(|d| *d == 0),
        "no faults, no letters: {:?}",
        calm.letters_before_replay
    );
    assert!(
        calm.routes.iter().all(|r| r.status_5xx == 0),
        "no 5xx without faults: {:?}",
        calm.routes
    );

    // With chaos: every effect applied once, or its event in a DLQ with a
    // reason; after the replay, all applied once.
    let chaotic = run(
        &endpoints,
        &Config {
            users: 10,
            todos: Some(90),
            concurrency: 6,
            seed: 11,
            chaos: Some(Chaos {
                share: 0.1,
                kill_every: Duration::from_millis(1200),
                outage: Duration::from_secs(3),
                ..Chaos::default()
            }),
            ..Config::default()
        },
    )
    .await
    .expect("the chaotic run completes");
    assert_accounted(&chaotic);
    let faults = chaotic.faults.as_ref().expect("fault counts");
    assert!(faults.faults_total() > 0, "{faults:?}");
    assert!(faults.kills_total() > 0, "{faults:?}");
    assert!(faults.outage_total() > 0, "{faults:?}");
    assert_eq!(
        chaotic.unexplained_before_replay, 0,
        "before the replay, each missing effect had its event in a DLQ"
    );
    // The consumer's outage failed whole invocations: their events went
    // to its DLQ, and the replay brought every one back.
    let letters: u64 = chaotic
        .letters_before_replay
        .values()
        .flat_map(|by_shape| by_shape.values())
        .sum();
    assert!(letters > 0, "{:?}", chaotic.letters_before_replay);
    let replayed: u64 = chaotic.replay.iter().map(|r| r.replayed).sum();
    assert!(replayed >= letters, "{:?}", chaotic.replay);
}
