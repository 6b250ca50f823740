//! Gradual deployments played by the local cloud: a bad version takes a
//! share of the traffic, its alarm rolls it back, and nothing is lost.
//! Its own local cloud, as `deploy`'s tests.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use devstack_api::control::{Artifacts, Report, Request};
use devstack_client::walkthrough::eventually;
use devstack_cloud::{self as cloud, Options};
use reqwest::Method;
use serde_json::json;
use tokio::sync::Mutex;

use crate::deploy::{Traffic, congratulated, congratulations, post_deploy, signed_up, wording};
use crate::support::{root, test_cloud};

const CONGRATULATION: &str = "Nice work: you completed \u{201c}{title}\u{201d}.";

/// notifications' template with a consumer whose every event fails: its
/// table's name is wrong, the mistake a team ships. Without its
/// pre-traffic hook (`hooked: false`), the bad version meets real events
/// and only the alarms can stop it.
fn failing_consumer(dir: &std::path::Path, hooked: bool) -> std::path::PathBuf {
    let source = root().join("services/notifications/template.yaml");
    let mut text = std::fs::read_to_string(&source).unwrap();
    let line = "          CONGRATULATION: \"Nice work: you completed \\u201c{title}\\u201d.\"\n";
    assert!(text.contains(line), "the consumer's CONGRATULATION moved");
    let bad = format!("{line}          TABLE_NAME: no-such-table\n");
    text = text.replace(line, &bad);
    if !hooked {
        text = unhooked(&text, "ConsumerPreTrafficHookFunction");
    }
    let path = dir.join("template.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `template` with `hook` taken out of its function's preference.
fn unhooked(template: &str, hook: &str) -> String {
    let line = format!("        Hooks:\n          PreTraffic: !Ref {hook}\n");
    assert!(template.contains(&line), "{hook} moved");
    template.replace(&line, "")
}

/// A deployment its pre-traffic hook stopped: no share shifted, and the
/// hook recorded as the console's deployments view shows it (failed, and
/// why). The hook's record.
fn stopped_by_its_hook(d: &devstack_api::control::Deployment) -> &devstack_api::control::HookState {
    assert_eq!(d.outcome, "rolled back", "{d:?}");
    assert!(d.shifts.is_empty(), "the bad version took a share: {d:?}");
    let hook = d.hooks.first().expect("the hook is recorded");
    assert_eq!(
        (hook.event.as_str(), hook.state.as_str()),
        ("BeforeAllowTraffic", "Failed"),
        "{d:?}"
    );
    hook
}

/// notifications' template with the consumer's hook after the traffic
/// (`PostTraffic`) instead of before, and failing: it invokes a function
/// that does not exist. The consumer itself is good.
fn failing_post_traffic_hook(dir: &std::path::Path) -> std::path::PathBuf {
    let source = root().join("services/notifications/template.yaml");
    let mut text = std::fs::read_to_string(&source).unwrap();
    for (from, to) in [
        (
            "          PreTraffic: !Ref ConsumerPreTrafficHookFunction\n",
            "          PostTraffic: !Ref ConsumerPreTrafficHookFunction\n",
        ),
        (
            "          CONSUMER_VERSION: !Ref ConsumerFunction.Version\n",
            "          CONSUMER_VERSION: no-such-function\n",
        ),
    ] {
        assert!(text.contains(from), "moved: {from}");
        text = text.replace(from, to);
    }
    let path = dir.join("template.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// [`failing_consumer`] deployed at 300 ms a template minute: the request,
/// the report, and why it was rolled back (it must have been).
async fn deploy_failing_consumer(
    detached: &cloud::Detached,
    dir: &std::path::Path,
    hooked: bool,
) -> (Request, Report, String) {
    deploy_rolled_back(detached, failing_consumer(dir, hooked), 300).await
}

/// notifications deployed from `template` at `minute_ms` a template
/// minute: the request, the report, and why it was rolled back (it must
/// have been).
async fn deploy_rolled_back(
    detached: &cloud::Detached,
    template: std::path::PathBuf,
    minute_ms: u64,
) -> (Request, Report, String) {
    let request = Request {
        service: "notifications".into(),
        template,
        artifacts: Artifacts::Cargo(repo::profile_dir()),
        commit: "badbadbadbadbadbadbadbadbadbadbadbadbadb".into(),
        minute_ms: Some(minute_ms),
    };
    let (status, body) = post_deploy(&detached.endpoints.control_url, &request).await;
    assert_eq!(status, 200, "{body}");
    let report: Report = serde_json::from_value(body).unwrap();
    let why = (report.rolled_back.clone()).unwrap_or_else(|| panic!("not rolled back: {report:?}"));
    (request, report, why)
}

#[tokio::test]
async fn a_consumer_failing_every_event_is_rolled_back_and_the_replay_delivers_each_once() {
    let detached = cloud::start_detached(test_cloud()).expect("the local cloud starts");
    let conf = crate::support::sdk_of(&detached, "notifications").await;
    let (api, status, _) = signed_up(&detached, "canary@example.com", "Canary").await;
    assert_eq!(status, 200);
    let api = Arc::new(api);

    let traffic = Traffic::start(api.clone(), "canary task");
    let (done, stop) = (traffic.done.clone(), traffic.stop.clone());
    let table = detached.endpoints.services["notifications"].table.clone();
    congratulated(&conf, &table, 3).await;

    let scratch = tempfile::tempdir().unwrap();
    let (request, report, why) = deploy_failing_consumer(&detached, scratch.path(), false).await;
    let consumer = (report.deployments.iter())
        .find(|d| d.function == "notifications/ConsumerFunction")
        .expect("the consumer deployed gradually");
    assert_eq!(consumer.outcome, "rolled back", "{report:?}");
    assert!(
        why.contains("ConsumerFunctionNewVersionErrorsAlarm")
            || why.contains("DeadLettersSentAlarm"),
        "{why}"
    );
    let bad = &consumer.new_version;
    assert!(
        bad.invocations > 0,
        "the bad version took no event: {consumer:?}"
    );
    assert_eq!(bad.errors, bad.invocations, "it failed every event it took");
    let weights = detached.functions["notifications/ConsumerFunction"].weights();
    assert_eq!(
        weights.0,
        [(consumer.from_version, 1.0)],
        "back on the old version alone"
    );
    let share =
        bad.invocations as f64 / (bad.invocations + consumer.old_version.invocations) as f64;
    eprintln!(
        "bad consumer: took {} of {} invocations ({:.0}%), rolled back after {} ms at {} ms a minute: {why}",
        bad.invocations,
        bad.invocations + consumer.old_version.invocations,
        share * 100.0,
        consumer.ms,
        request.minute_ms.unwrap_or_default()
    );
    for d in &report.deployments {
        eprintln!("{}: {} ({:?})", d.function, d.outcome, d.decided_by);
    }
    // The stack's other functions went back too: stopped by the
    // consumer's rollback, or rolled back by an alarm of their own (the
    // DLQ's depth, which every consumer of the stack watches).
    for d in report
        .deployments
        .iter()
        .filter(|d| d.function != consumer.function)
    {
        assert!(
            ["stopped", "rolled back"].contains(&d.outcome.as_str()),
            "{d:?}"
        );
        let weights = detached.functions[&d.function].weights();
        assert_eq!(weights.0, [(d.from_version, 1.0)], "{}", d.function);
    }
    in_the_console(&detached.endpoints.console_url).await;

    // More traffic on the old version, then stop.
    let after = done.lock().await.len();
    eventually(
        Duration::from_secs(20),
        "completions after the rollback",
        || async { Ok((done.lock().await.len() >= after + 3).then_some(())) },
    )
    .await
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    traffic.task.await.unwrap();
    let done = done.lock().await;

    // What the bad version failed was retried on the alias, or reached the
    // DLQ; the replay delivers what is there once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let endpoints = scratch.path().join("endpoints.json");
    std::fs::write(
        &endpoints,
        serde_json::to_string(&detached.endpoints).unwrap(),
    )
    .unwrap();
    let out = std::process::Command::new(repo::profile_dir().join("ops"))
        .arg("--endpoints-file")
        .arg(&endpoints)
        .args(["dlq", "replay", "notifications"])
        .output()
        .unwrap();
    let replayed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{replayed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("ops dlq replay: {}", replayed.trim());

    let expected = done.len();
    let seen = eventually(
        Duration::from_secs(30),
        "a congratulation per completion",
        || async {
            let seen = congratulations(&conf, &table).await;
            Ok((seen.values().sum::<usize>() >= expected).then_some(seen))
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}: {replayed}"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        seen,
        congratulations(&conf, &table).await,
        "late duplicates"
    );
    let per_title: BTreeMap<&str, usize> = (done.iter())
        .map(|c| {
            let n = seen
                .get(&wording(CONGRATULATION, &c.title))
                .copied()
                .unwrap_or(0);
            (c.title.as_str(), n)
        })
        .collect();
    assert!(
        per_title.values().all(|n| *n == 1),
        "each completion congratulated once: {per_title:?}"
    );
    assert_eq!(
        seen.values().sum::<usize>(),
        expected,
        "lost or duplicated: {seen:?}"
    );
}

/// A consumer version that fails the committed examples never meets a
/// real event: its pre-traffic hook hands it each example the service
/// consumes, reports `Failed`, and the deployment stops before the first
/// shift, while every completion is congratulated once by the old version.
#[tokio::test]
async fn a_consumer_failing_its_examples_is_stopped_by_its_hook_before_taking_any_event_and_a_failing_post_traffic_hook_rolls_a_good_one_back()
 {
    let detached = cloud::start_detached(test_cloud()).expect("the local cloud starts");
    let conf = crate::support::sdk_of(&detached, "notifications").await;
    let (api, status, _) = signed_up(&detached, "hooked@example.com", "Hooked").await;
    assert_eq!(status, 200);
    let traffic = Traffic::start(Arc::new(api), "hooked task");
    let (done, stop) = (traffic.done.clone(), traffic.stop.clone());
    let table = detached.endpoints.services["notifications"].table.clone();
    congratulated(&conf, &table, 2).await;

    let scratch = tempfile::tempdir().unwrap();
    let (_, report, why) = deploy_failing_consumer(&detached, scratch.path(), true).await;
    assert!(
        why.contains(
            "pre-traffic hook notifications/ConsumerPreTrafficHookFunction: it reported Failed"
        ),
        "{why}"
    );
    let consumer = (report.deployments.iter())
        .find(|d| d.function == "notifications/ConsumerFunction")
        .expect("the consumer deployed gradually");
    let hook = stopped_by_its_hook(consumer);
    assert!(
        consumer.new_version.errors > 0,
        "the hook's examples reached the new version: {consumer:?}"
    );
    assert!(
        hook.hook.ends_with("ConsumerPreTrafficHookFunction") && hook.reason.contains("Failed"),
        "{hook:?}"
    );
    let weights = detached.functions["notifications/ConsumerFunction"].weights();
    assert_eq!(weights.0, [(consumer.from_version, 1.0)]);
    eprintln!(
        "hooked consumer: {} example invocations failed on the new version, stopped after {} ms: {why}",
        consumer.new_version.errors, consumer.ms
    );

    // The same cloud, a good consumer, and its hook moved after the
    // traffic and failing: all of it shifts, then the hook rolls it back.
    let post = tempfile::tempdir().unwrap();
    let (request, report, why) =
        deploy_rolled_back(&detached, failing_post_traffic_hook(post.path()), 100).await;
    assert!(
        why.contains("post-traffic hook notifications/ConsumerPreTrafficHookFunction"),
        "{why}"
    );
    let consumer = (report.deployments.iter())
        .find(|d| d.function == "notifications/ConsumerFunction")
        .expect("the consumer deployed gradually");
    assert_eq!(
        consumer.shifts.last().map(|s| s.weight),
        Some(1.0),
        "all of it shifted before the hook: {consumer:?}"
    );
    let states: Vec<(&str, &str)> = (consumer.hooks.iter())
        .map(|h| (h.event.as_str(), h.state.as_str()))
        .collect();
    assert_eq!(states, [("AfterAllowTraffic", "Failed")], "{consumer:?}");
    assert_eq!(consumer.outcome, "rolled back");
    let weights = detached.functions["notifications/ConsumerFunction"].weights();
    assert_eq!(
        weights.0,
        [(consumer.from_version, 1.0)],
        "back on the old version"
    );
    eprintln!(
        "post-traffic hook: failed after the last shift, {} ms in at {} ms a minute: {why}",
        consumer.ms,
        request.minute_ms.unwrap_or_default()
    );

    let after = done.lock().await.len();
    eventually(
        Duration::from_secs(20),
        "completions after the stopped deployment",
        || async { Ok((done.lock().await.len() >= after + 2).then_some(())) },
    )
    .await
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    traffic.task.await.unwrap();
    let done = done.lock().await;
    // No replay: no event met the bad version, so none failed.
    let seen = eventually(
        Duration::from_secs(30),
        "a congratulation per completion",
        || async {
            let seen = congratulations(&conf, &table).await;
            Ok((seen.values().sum::<usize>() >= done.len()).then_some(seen))
        },
    )
    .await
    .unwrap();
    for c in done.iter() {
        assert_eq!(
            seen.get(&wording(CONGRATULATION, &c.title)).copied(),
            Some(1),
            "{}: congratulated once: {seen:?}",
            c.title
        );
    }
}

/// The console's deployments view shows the consumer's deployment rolled
/// back by its alarm, with the shares it took, and the others ended.
async fn in_the_console(url: &str) {
    let browser = devstack_testkit::Browser::start().await;
    browser.client.goto(url).await.unwrap();
    let row = "#deployments-rows tr[data-function=\"notifications/ConsumerFunction\"]";
    browser
        .until(
            "the consumer's deployment, rolled back",
            &format!(
                "const r = document.querySelector('{row}'); return !!r && r.dataset.outcome === 'rolled back';"
            ),
            Duration::from_secs(10),
        )
        .await;
    let alarm = format!("{row} li[data-alarm=\"ConsumerFunctionNewVersionErrorsAlarm\"]");
    let state = browser
        .until(
            "its alarm's state",
            &format!("const a = document.querySelector('{alarm}'); return a && a.dataset.state;"),
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(state, "ALARM");
    // Read in one script: the view redraws its rows every second, so an
    // element found by one command may be gone by the next.
    let shares = browser
        .until(
            "the shares it took",
            &format!(
                "const c = document.querySelector('{row} td.shares'); return c && c.textContent;"
            ),
            Duration::from_secs(5),
        )
        .await;
    let shares = shares.as_str().unwrap_or_default();
    assert!(shares.starts_with("10% at 0.0 s"), "{shares}");
    let ended = browser
        .until(
            "the stack's other deployments, ended",
            "return [...document.querySelectorAll('#deployments-rows tr')].filter(r => ['stopped', 'rolled back'].includes(r.dataset.outcome)).length;",
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(ended, 6, "notifications' six functions");
    browser.scroll_to("#deployments").await;
    browser.screenshot("console-deployments").await;
}

/// todos' template with an API whose every answer is a 500: its table's
/// name is wrong in the API function alone. Without its pre-traffic hook
/// (`hooked: false`), the bad version meets real requests and only the
/// alarms can stop it.
fn failing_api(dir: &std::path::Path, hooked: bool) -> std::path::PathBuf {
    let bad = "      Environment:\n        Variables:\n          TABLE_NAME: no-such-table\n";
    api_with(dir, bad, hooked)
}

/// todos' template with `properties` added to its API function's (an
/// `Environment` or a `Timeout` of its own), without the function's
/// pre-traffic hook unless `hooked`.
fn api_with(dir: &std::path::Path, properties: &str, hooked: bool) -> std::path::PathBuf {
    let source = repo::template_in(&root(), "todos");
    let mut text = std::fs::read_to_string(&source).unwrap();
    let anchor =
        "        Binary: todos\n    Properties:\n      Handler: api\n      CodeUri: ../../..\n";
    assert!(text.contains(anchor), "todos' ApiFunction moved");
    text = text.replace(anchor, &format!("{anchor}{properties}"));
    if !hooked {
        text = unhooked(&text, "ApiPreTrafficHookFunction");
    }
    let path = dir.join("template.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// todos' template with its API's p99 latency threshold at 1 ms: the good
/// version is as much slower than that threshold as a slow version would
/// be than the real one, and only its latency alarm can tell.
fn slow_api(dir: &std::path::Path) -> std::path::PathBuf {
    let source = root().join("services/todos/template.yaml");
    let text = std::fs::read_to_string(&source).unwrap();
    let threshold = "  ApiLatencyP99ThresholdMs:\n    Type: Number\n    Default: 2000\n";
    assert!(text.contains(threshold), "todos' latency threshold moved");
    let path = dir.join("template.yaml");
    let slow = threshold.replace("Default: 2000", "Default: 1");
    std::fs::write(&path, text.replace(threshold, &slow)).unwrap();
    path
}

/// Callers on one route of the API at once (three, unpaced, unless
/// [`Callers::paced`]), each answer's status counted: enough requests
/// that a tenth of them reach a canary within its five minutes.
struct Callers {
    statuses: Arc<Mutex<BTreeMap<u16, usize>>>,
    stop: Arc<AtomicBool>,
    callers: Vec<tokio::task::JoinHandle<()>>,
}

impl Callers {
    fn start(api: Arc<devstack_client::walkthrough::Client>) -> Callers {
        Callers::paced(api, 3, Duration::ZERO)
    }

    /// `n` callers, each pausing `pause` between its requests.
    fn paced(api: Arc<devstack_client::walkthrough::Client>, n: usize, pause: Duration) -> Callers {
        let statuses = Arc::new(Mutex::new(BTreeMap::<u16, usize>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let callers = (0..n)
            .map(|_| {
                let (api, statuses, stop) = (api.clone(), statuses.clone(), stop.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let (status, _) = api.call(Method::GET, "/todos", None).await.unwrap();
                        *statuses.lock().await.entry(status).or_default() += 1;
                        tokio::time::sleep(pause).await;
                    }
                })
            })
            .collect();
        Callers {
            statuses,
            stop,
            callers,
        }
    }

    async fn seen(&self) -> BTreeMap<u16, usize> {
        self.statuses.lock().await.clone()
    }

    async fn stop(self) -> BTreeMap<u16, usize> {
        self.stop.store(true, Ordering::Relaxed);
        for caller in self.callers {
            caller.await.unwrap();
        }
        self.statuses.lock().await.clone()
    }
}

/// todos deployed from `template`: the report, why it was rolled back (it
/// must have been), and its API's deployment.
async fn deploy_todos_rolled_back(
    detached: &cloud::Detached,
    template: std::path::PathBuf,
    commit: &str,
    minute_ms: Option<u64>,
) -> (String, devstack_api::control::Deployment) {
    let request = Request {
        service: "todos".into(),
        template,
        artifacts: Artifacts::Cargo(repo::profile_dir()),
        commit: commit.into(),
        minute_ms,
    };
    let (status, body) = post_deploy(&detached.endpoints.control_url, &request).await;
    assert_eq!(status, 200, "{body}");
    let report: Report = serde_json::from_value(body).unwrap();
    let why = (report.rolled_back.clone()).unwrap_or_else(|| panic!("not rolled back: {report:?}"));
    let d = (report.deployments.into_iter())
        .find(|d| d.function == "todos/ApiFunction")
        .expect("the API deployed gradually");
    assert_eq!(d.outcome, "rolled back", "{d:?}");
    let weights = detached.functions["todos/ApiFunction"].weights();
    assert_eq!(
        weights.0,
        [(d.from_version, 1.0)],
        "back on the old version"
    );
    (why, d)
}

/// How many answers were a 5xx.
fn failed(m: &BTreeMap<u16, usize>) -> usize {
    m.range(500..).map(|(_, k)| k).sum()
}

fn n(m: &BTreeMap<u16, usize>, s: u16) -> usize {
    m.get(&s).copied().unwrap_or(0)
}

/// A local cloud of its own whose functions log only warnings: the API
/// tests' callers make thousands of requests.
fn quiet_cloud() -> cloud::Detached {
    cloud::start_detached(Options {
        bin_dir: repo::profile_dir(),
        function_env: vec![("RUST_LOG".into(), "warn".into())],
        ..Options::default()
    })
    .expect("the local cloud starts")
}

/// Three bad versions of todos' API on one cloud, while callers read
/// their todos throughout: one its hook stops, one answering 500 its
/// canary's 5xx alarm rolls back, one slower than its threshold its
/// latency alarm rolls back. The old version answers every other request.
#[tokio::test]
async fn bad_api_versions_are_stopped_by_the_hook_or_rolled_back_by_their_canarys_5xx_or_latency_while_the_old_one_answers()
 {
    let detached = quiet_cloud();
    let (api, status, _) = signed_up(&detached, "canary-api@example.com", "Canary").await;
    assert_eq!(status, 200);
    let (status, todo) = api
        .call(Method::POST, "/todos", Some(json!({"title": "kept"})))
        .await
        .unwrap();
    assert_eq!(status, 201, "{todo}");
    let callers = Callers::start(Arc::new(api));

    // With its hook, the bad version takes no request: the hook's request
    // per route meets the 500s before the first shift.
    let hooked = tempfile::tempdir().unwrap();
    let template = failing_api(hooked.path(), true);
    let (why, d) = deploy_todos_rolled_back(
        &detached,
        template,
        "4004004004400400400440040040044004004004",
        None,
    )
    .await;
    assert!(
        why.contains("pre-traffic hook todos/ApiPreTrafficHookFunction: it reported Failed"),
        "{why}"
    );
    stopped_by_its_hook(&d);
    assert!(
        d.new_version.invocations > 0,
        "the hook's requests reached the new version: {d:?}"
    );
    eprintln!(
        "hooked API: {} requests on the new version, stopped after {} ms: {why}",
        d.new_version.invocations, d.ms
    );

    // Without it, the canary's own 500s roll it back. The template's
    // minutes as seconds (the default): the function's own metrics reach
    // the alarm through its output, which under load lags by a few hundred
    // milliseconds, as CloudWatch's do by about a minute.
    let unhooked = tempfile::tempdir().unwrap();
    let before = callers.seen().await;
    let template = failing_api(unhooked.path(), false);
    let (why, d) = deploy_todos_rolled_back(
        &detached,
        template,
        "5005005005500500500550050050055005005005",
        None,
    )
    .await;
    let during = callers.seen().await;
    assert!(why.contains("ApiFunctionNewVersion5xxAlarm"), "{why}");
    assert_eq!(d.config, "CodeDeployDefault.LambdaCanary10Percent5Minutes");
    assert_eq!(d.shifts.len(), 1, "rolled back during the canary: {d:?}");
    assert_eq!(
        n(&before, 500),
        0,
        "no 5xx before the unhooked deploy, the hooked one's included: {before:?}"
    );
    let failed = n(&during, 500) - n(&before, 500);
    assert_eq!(
        failed as u64, d.new_version.invocations,
        "every request the new version took, and only those, answered 500"
    );
    assert!(failed > 0, "the canary took no request: {d:?}");
    let total = d.new_version.invocations + d.old_version.invocations;
    eprintln!(
        "bad API: took {failed} of {total} requests ({:.0}%), rolled back after {} ms at {} ms a minute: {why}",
        100.0 * failed as f64 / total as f64,
        d.ms,
        devstack_api::control::MINUTE_MS
    );

    // A slow one: every answer right, its p99 over the threshold for two
    // minutes in a row. At 3 s a minute, so that each minute holds the
    // canary's requests even under load.
    let slow = tempfile::tempdir().unwrap();
    let (why, d) = deploy_todos_rolled_back(
        &detached,
        slow_api(slow.path()),
        "5105105105510510510551051051055105105105",
        Some(3000),
    )
    .await;
    assert!(why.contains("ApiFunctionNewVersionLatencyAlarm"), "{why}");
    assert_eq!(d.shifts.len(), 1, "rolled back during the canary: {d:?}");
    assert!(d.new_version.invocations > 0, "{d:?}");
    eprintln!(
        "slow API: took {} of {} requests, rolled back after {} ms at 3000 ms a minute: {why}",
        d.new_version.invocations,
        d.new_version.invocations + d.old_version.invocations,
        d.ms
    );

    // A few more answers after the rollbacks: all from the old version.
    let after_slow = callers.seen().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = callers.stop().await;
    assert_eq!(
        n(&after, 500),
        n(&during, 500),
        "a 500 after the rollback, or from the slow version: {after:?}"
    );
    assert!(
        n(&after, 200) > n(&after_slow, 200),
        "the old version answers after them"
    );
}

/// What one round of the attacher got: the create's status and the todo,
/// then the attachment's status (none when the create failed).
#[derive(Debug, Clone)]
struct Made {
    created: u16,
    id: Option<String>,
    attached: Option<u16>,
}

/// A caller that makes a todo and attaches a file to it, again and again.
struct Attacher {
    made: Arc<Mutex<Vec<Made>>>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Attacher {
    fn start(api: Arc<devstack_client::walkthrough::Client>, pause: Duration) -> Attacher {
        let made = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = vec![tokio::spawn({
            let (made, stop) = (made.clone(), stop.clone());
            async move {
                while !stop.load(Ordering::Relaxed) {
                    let round = attach_one(&api).await;
                    made.lock().await.push(round);
                    tokio::time::sleep(pause).await;
                }
            }
        })];
        Attacher { made, stop, tasks }
    }

    /// The attachments' statuses so far.
    async fn attached(&self) -> BTreeMap<u16, usize> {
        count(self.made.lock().await.iter().filter_map(|m| m.attached))
    }

    async fn stop(self) -> Vec<Made> {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.unwrap();
        }
        self.made.lock().await.clone()
    }
}

async fn attach_one(api: &devstack_client::walkthrough::Client) -> Made {
    let body = json!({"title": "with a file"});
    let (created, todo) = api.call(Method::POST, "/todos", Some(body)).await.unwrap();
    let id = (created == 201).then(|| todo["id"].as_str().unwrap().to_owned());
    let mut attached = None;
    if let Some(id) = &id {
        let file = json!({"file_name": "a.txt", "content_type": "text/plain", "size": 3});
        let path = format!("/todos/{id}/attachments");
        attached = Some(api.call(Method::POST, &path, Some(file)).await.unwrap().0);
    }
    Made {
        created,
        id,
        attached,
    }
}

fn count(statuses: impl Iterator<Item = u16>) -> BTreeMap<u16, usize> {
    let mut out = BTreeMap::new();
    for status in statuses {
        *out.entry(status).or_default() += 1;
    }
    out
}

/// Every todo of the caller, by id, with its attachments' count.
async fn todos_kept(api: &devstack_client::walkthrough::Client) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let mut path = "/todos?limit=100".to_owned();
    loop {
        let (status, page) = api.call(Method::GET, &path, None).await.unwrap();
        assert_eq!(status, 200, "{page}");
        for todo in page["items"].as_array().unwrap() {
            let attachments = todo["attachments"].as_array().map_or(0, Vec::len);
            out.insert(todo["id"].as_str().unwrap().to_owned(), attachments);
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/todos?limit=100&cursor={cursor}"),
            None => return out,
        }
    }
}

/// Two more bad versions of todos' API while callers read their todos and
/// attach files: one failing on the attachments route alone (its bucket
/// named by ARN, a mistake its hook's probes do not reach), which the
/// canary's 5xx alarm rolls back; one whose every call hangs past its
/// timeout, which its errors alarm rolls back. Then the good version
/// deploys cleanly. Every attachment answered 201 is on its todo, every
/// one answered 500 is not; no read failed but those the hanging version
/// took.
#[tokio::test]
async fn an_api_version_failing_one_route_or_its_timeout_is_rolled_back_and_the_good_one_then_deploys()
 {
    let detached = quiet_cloud();
    let (api, status, _) = signed_up(&detached, "one-route@example.com", "Route").await;
    assert_eq!(status, 200);
    let api = Arc::new(api);
    // Paced, so that the test loads the machine as little as it can while
    // each canary still meets every route (about 10 reads and 7
    // attachments a second; unpaced, five callers slowed every other test
    // of the run by a fifth).
    let pace = Duration::from_millis(50);
    let readers = Callers::paced(api.clone(), 1, pace);
    let attacher = Attacher::start(api.clone(), pace);

    let one_route = tempfile::tempdir().unwrap();
    let template = api_with(
        one_route.path(),
        "      Environment:\n        Variables:\n          BUCKET_NAME: arn:aws:s3:::todos-attachments\n",
        true,
    );
    // At 3 s a template minute: a canary of 15 s holds attachments even
    // under the test command's load. At 1 s one caller's attachments were
    // once too rare for its 5 s to take any, and the version was promoted
    // with its route broken, as CodeDeploy would promote one whose canary
    // met no request of that route.
    let (why, d) = deploy_todos_rolled_back(
        &detached,
        template,
        "7007007007700700700770070070077007007007",
        Some(3000),
    )
    .await;
    assert!(why.contains("ApiFunctionNewVersion5xxAlarm"), "{why}");
    assert!(
        !d.hooks.is_empty() && d.hooks.iter().all(|h| h.state == "Succeeded"),
        "its hook passed it: {d:?}"
    );
    let (reads, attached) = (readers.seen().await, attacher.attached().await);
    assert_eq!(failed(&reads), 0, "a read failed: {reads:?}");
    assert!(
        n(&attached, 500) > 0,
        "no attachment reached the bad version: {attached:?}"
    );
    eprintln!(
        "one bad route: attachments {attached:?}, reads {reads:?}, rolled back after {} ms: {why}",
        d.ms
    );

    // Its calls to DynamoDB go to an address that takes the connection and
    // never answers: each request it takes waits out the version's own
    // timeout (1 s; the old version keeps its 10 s), then fails.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hang = tempfile::tempdir().unwrap();
    let template_path = api_with(
        hang.path(),
        &format!(
            "      Timeout: 1\n      Environment:\n        Variables:\n          AWS_ENDPOINT_URL_DYNAMODB: http://{}\n",
            silent.local_addr().unwrap()
        ),
        false,
    );
    let (why, d) = deploy_todos_rolled_back(
        &detached,
        template_path,
        "7107107107710710710771071071077107107107",
        None,
    )
    .await;
    assert!(
        why.contains("ApiFunctionNewVersionErrorsAlarm")
            || why.contains("ApiFunctionNewVersion5xxAlarm"),
        "{why}"
    );
    assert!(
        d.new_version.invocations > 0 && d.new_version.errors == d.new_version.invocations,
        "every request it took timed out: {d:?}"
    );
    let during = readers.seen().await;
    eprintln!(
        "timing out: {:?} of reads, new version {:?}, rolled back after {} ms: {why}",
        during, d.new_version, d.ms
    );
    drop(silent);

    // The good version, quickly: every shift, no alarm, no failed read.
    // First, a read the hanging version took answers at its timeout (1 s)
    // and is counted then.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before_good = readers.seen().await;
    // The fix deploys while the DLQ still holds a letter an earlier
    // version left: the deployment is judged by what its versions send.
    let dlq = &detached.endpoints.services["todos"].dlq_queue_url;
    let sqs = aws_sdk_sqs::Client::new(&crate::support::sdk_of(&detached, "todos").await);
    let stale = r#"{"reason":"left by an earlier version"}"#;
    sqs.send_message()
        .queue_url(dlq)
        .message_body(stale)
        .send()
        .await
        .unwrap();
    let good = Request {
        service: "todos".into(),
        template: repo::template_in(&root(), "todos"),
        artifacts: Artifacts::Cargo(repo::profile_dir()),
        commit: "7207207207720720720772072072077207207207".into(),
        minute_ms: Some(100),
    };
    let (status, body) = post_deploy(&detached.endpoints.control_url, &good).await;
    assert_eq!(status, 200, "{body}");
    let report: Report = serde_json::from_value(body).unwrap();
    assert_eq!(report.rolled_back, None, "{report:?}");
    let d = (report.deployments.iter())
        .find(|d| d.function == "todos/ApiFunction")
        .expect("the API deployed");
    assert_eq!(d.outcome, "succeeded", "{d:?}");
    let judged: Vec<&str> = (report.deployments.iter())
        .flat_map(|d| &d.alarms)
        .filter(|a| a.alarm == "DeadLettersSentAlarm")
        .map(|a| a.state.as_str())
        .collect();
    assert!(
        !judged.is_empty() && judged.iter().all(|s| *s == "OK"),
        "each consumer's deployment watched the letters sent: {report:?}"
    );
    let waiting = sqs
        .receive_message()
        .queue_url(dlq)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert!(
        (waiting.messages().iter()).any(|m| m.body() == Some(stale)),
        "the stale letter still waits for on-call"
    );

    tokio::time::sleep(Duration::from_millis(500)).await;
    let (made, reads) = (attacher.stop().await, readers.stop().await);
    assert_eq!(
        failed(&reads),
        failed(&before_good),
        "a read failed during or after the good deploy: {reads:?}"
    );
    let last = made.last().expect("the attacher made todos");
    assert_eq!(
        (last.created, last.attached),
        (201, Some(201)),
        "attachments work again: {last:?}"
    );
    // Nothing lost, nothing twice: the todos kept are exactly those whose
    // create answered 201, each with its attachment when that answered 201.
    let kept = todos_kept(&api).await;
    let expected: BTreeMap<String, usize> = (made.iter())
        .filter_map(|m| Some((m.id.clone()?, usize::from(m.attached == Some(201)))))
        .collect();
    assert_eq!(kept, expected, "the todos kept, against the answers");
    eprintln!(
        "over it all: reads {reads:?}; creates {:?}; attachments {:?}",
        count(made.iter().map(|m| m.created)),
        count(made.iter().filter_map(|m| m.attached))
    );
}
