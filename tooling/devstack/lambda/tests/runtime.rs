//! The local Runtime API against a function process of its own (a small
//! Python program speaking the Runtime API), for what the real binaries
//! cannot be made to do on cue: fail, then be slow.

use std::time::Duration;

use devstack_lambda::runtime::{Arrival, Function, InvokeError, Qualifier, Spec};
use serde_json::json;

fn sleepy(timeout: Duration) -> Spec {
    Spec {
        name: "test/Sleepy".into(),
        physical_name: "sleepy".into(),
        arn: "arn:aws:lambda:us-east-1:123456789012:function:sleepy".into(),
        binary: std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/sleepy-function.py"),
        env: Vec::new(),
        timeout,
        recorder: None,
        configuration: Default::default(),
        capture: None,
        max_environments: 1,
    }
}

// Lambda's async retries keep the request id. The first attempt's
// deadline once killed the retry that followed it: an attempt that failed
// after 0 s left a timer that ended the next attempt (same id) as
// "timed out" 1 s into it, though it had 2 s of its own.
#[tokio::test]
async fn a_retry_with_the_same_request_id_gets_its_own_deadline() {
    let function = Function::start(sleepy(Duration::from_secs(2)))
        .await
        .unwrap();
    let failed = function
        .invoke_with_id("same-id".into(), json!({"fail": true}))
        .await;
    assert!(
        matches!(&failed, Err(InvokeError::Function { error_type, .. }) if error_type == "Asked"),
        "{failed:?}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let retried = function
        .invoke_with_id("same-id".into(), json!({"sleep": 1.5}))
        .await;
    assert_eq!(retried.unwrap()["slept"], 1.5);
    // Its own deadline still holds.
    let slow = function
        .invoke_with_id("other-id".into(), json!({"sleep": 3}))
        .await;
    assert!(matches!(slow, Err(InvokeError::Timeout(_))), "{slow:?}");
}

fn sleepy_in(timeout: Duration, environments: u32) -> Spec {
    Spec {
        max_environments: environments,
        ..sleepy(timeout)
    }
}

#[tokio::test]
async fn invocations_that_arrive_together_run_in_environments_of_their_own() {
    let function = Function::start(sleepy_in(Duration::from_secs(5), 3))
        .await
        .unwrap();
    let runs = (0..3).map(|_| function.invoke(json!({"sleep": 1})));
    let answers = futures_util::future::join_all(runs).await;
    let pids: std::collections::BTreeSet<u64> = answers
        .iter()
        .map(|a| a.as_ref().unwrap()["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids.len(), 3, "{answers:?}");
    let m = function.metrics().await;
    assert_eq!((m.environments, m.peak_concurrency), (3, 3));
    // A fourth waits for a free environment instead of starting one.
    let (a, b) = tokio::join!(
        function.invoke(json!({"sleep": 0.5})),
        function.invoke(json!({"sleep": 0.5}))
    );
    assert!(a.is_ok() && b.is_ok());
    assert_eq!(function.metrics().await.environments, 3);
}

#[tokio::test]
async fn a_run_past_its_timeout_is_killed_alone_while_the_others_go_on() {
    let function = Function::start(sleepy_in(Duration::from_secs(2), 2))
        .await
        .unwrap();
    let slow = function.invoke(json!({"sleep": 5}));
    let quick = async {
        // Behind the slow one in time, not in its environment, and in
        // flight while it runs. Which ends first is the machine's speed:
        // its environment starts on demand, and under the test command's
        // load that once took past the slow one's timeout, 1.8 s later.
        tokio::time::sleep(Duration::from_millis(200)).await;
        function.invoke(json!({"sleep": 1})).await
    };
    let (ended, answered) = tokio::join!(slow, quick);
    assert!(matches!(ended, Err(InvokeError::Timeout(_))), "{ended:?}");
    let quick_pid = answered.unwrap()["pid"].as_u64().unwrap();
    // The killed environment restarts; the quick one's process lives on.
    for _ in 0..100 {
        if function.metrics().await.restarts > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(function.metrics().await.restarts, 1);
    let (a, b) = tokio::join!(
        function.invoke(json!({"sleep": 0.5})),
        function.invoke(json!({"sleep": 0.5}))
    );
    let pids = [a.unwrap()["pid"].as_u64(), b.unwrap()["pid"].as_u64()];
    assert!(pids.contains(&Some(quick_pid)), "{pids:?} {quick_pid}");
}

#[tokio::test]
async fn reserved_concurrency_zero_throttles_and_starts_nothing() {
    let mut spec = sleepy_in(Duration::from_secs(2), 4);
    spec.configuration.reserved_concurrency = Some(0);
    let function = Function::start(spec).await.unwrap();
    assert_eq!(
        function.invoke(json!({})).await,
        Err(InvokeError::Throttled)
    );
    assert_eq!(function.metrics().await.environments, 0);
}

#[tokio::test]
async fn a_throttled_async_event_waits_in_the_queue_until_its_maximum_age() {
    use devstack_lambda::invoke::{AsyncFunction, AsyncOutcome};
    let mut spec = sleepy_in(Duration::from_secs(2), 4);
    spec.configuration.reserved_concurrency = Some(0);
    // No dead-letter topic: the clients are never called.
    let conf = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let target = std::sync::Arc::new(AsyncFunction {
        function: Function::start(spec).await.unwrap(),
        dead_letter_topic: None,
        max_retries: 2,
        max_event_age: Duration::from_millis(500),
        retry_delay: Duration::from_millis(20),
        sns: aws_sdk_sns::Client::new(&conf),
        sqs: aws_sdk_sqs::Client::new(&conf),
        judge: None,
    });
    let arrival = devstack_lambda::runtime::Arrival::new("rule", "test");
    let outcome = target.invoke(json!({}), "test", arrival).await;
    // Throttled tries are not attempts; the event expires, never run.
    assert!(
        matches!(&outcome, AsyncOutcome::Dropped { attempts: 0, error } if error.starts_with("Event age exceeded")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn an_event_older_than_its_maximum_age_is_dead_lettered_with_awss_attributes() {
    use devstack_lambda::invoke::{AsyncFunction, AsyncOutcome};
    let conf = devstack_emulator::shared().sdk_config().await;
    let (sns, sqs) = (
        aws_sdk_sns::Client::new(&conf),
        aws_sdk_sqs::Client::new(&conf),
    );
    let name = devstack_emulator::unique("aged");
    let topic = sns.create_topic().name(&name).send().await.unwrap();
    let topic = topic.topic_arn().unwrap().to_owned();
    let queue = sqs.create_queue().queue_name(&name).send().await.unwrap();
    let queue_url = queue.queue_url().unwrap().to_owned();
    let queue_arn = format!("arn:aws:sqs:us-east-1:123456789012:{name}");
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    let mut spec = sleepy_in(Duration::from_secs(2), 4);
    spec.configuration.reserved_concurrency = Some(0);
    let target = std::sync::Arc::new(AsyncFunction {
        function: Function::start(spec).await.unwrap(),
        dead_letter_topic: Some(topic),
        max_retries: 2,
        max_event_age: Duration::from_millis(300),
        retry_delay: Duration::from_millis(20),
        sns,
        sqs: sqs.clone(),
        judge: None,
    });
    let arrival = devstack_lambda::runtime::Arrival::new("rule", "test");
    let event = json!({"marker": name});
    let outcome = target.invoke(event.clone(), "test", arrival).await;
    assert!(
        matches!(&outcome, AsyncOutcome::DeadLettered { attempts: 0, .. }),
        "{outcome:?}"
    );
    let got = sqs
        .receive_message()
        .queue_url(&queue_url)
        .message_attribute_names("All")
        .wait_time_seconds(5)
        .send()
        .await
        .unwrap();
    let letter = &got.messages()[0];
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(letter.body().unwrap()).unwrap(),
        event,
        "the event as it was"
    );
    let attribute = |name: &str| {
        letter.message_attributes().unwrap()[name]
            .string_value()
            .unwrap()
            .to_owned()
    };
    // Every try was throttled: the last status the event met was 429.
    assert_eq!(attribute("ErrorCode"), "429");
    assert!(attribute("ErrorMessage").starts_with("Event age exceeded"));
    assert!(!attribute("RequestID").is_empty());
}

#[tokio::test]
async fn a_managed_instances_function_serves_concurrent_invocations_in_one_process() {
    let mut spec = sleepy_in(Duration::from_secs(5), 1);
    spec.configuration.per_environment_concurrency = Some(4);
    let function = Function::start(spec).await.unwrap();
    let runs = (0..4).map(|_| function.invoke(json!({"sleep": 1})));
    let answers: Vec<_> = futures_util::future::join_all(runs)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let pids: std::collections::BTreeSet<u64> =
        answers.iter().map(|a| a["pid"].as_u64().unwrap()).collect();
    assert_eq!(pids.len(), 1, "one process: {answers:?}");
    // The process itself saw them side by side.
    let most = answers.iter().filter_map(|a| a["together"].as_u64()).max();
    assert_eq!(most, Some(4), "{answers:?}");
    let m = function.metrics().await;
    assert_eq!((m.environments, m.peak_concurrency), (1, 4));
    // A fifth waits for a free place: the one environment is the cap.
    let (a, b) = tokio::join!(
        futures_util::future::join_all((0..4).map(|_| function.invoke(json!({"sleep": 0.5})))),
        function.invoke(json!({"sleep": 0.5}))
    );
    assert!(a.iter().all(Result::is_ok) && b.is_ok());
    assert_eq!(function.metrics().await.environments, 1);
}

/// Set in the copy of this binary that plays a local cloud killed outright.
const PLAY_THE_CLOUD: &str = "DEVSTACK_TEST_PLAY_THE_CLOUD";

#[tokio::test]
async fn a_function_dies_with_a_cloud_killed_outright() {
    if std::env::var_os(PLAY_THE_CLOUD).is_some() {
        // The cloud: a Managed Instances function (which retries a failed
        // `/next` forever), its process id out, then wait to be killed.
        let mut spec = sleepy_in(Duration::from_secs(5), 1);
        spec.configuration.per_environment_concurrency = Some(2);
        let function = Function::start(spec).await.unwrap();
        let answer = function.invoke(json!({"sleep": 0})).await.unwrap();
        println!("function-pid={}", answer["pid"]);
        tokio::time::sleep(Duration::from_secs(60)).await;
        return;
    }
    let mut cloud = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_function_dies_with_a_cloud_killed_outright",
            "--nocapture",
        ])
        .env(PLAY_THE_CLOUD, "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(cloud.stdout.take().unwrap());
    let pid = loop {
        let mut line = String::new();
        assert!(
            std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0,
            "the cloud ended without its function's pid"
        );
        if let Some(pid) = line.trim().strip_prefix("function-pid=") {
            break pid.to_owned();
        }
    };
    cloud.kill().unwrap();
    cloud.wait().unwrap();
    let alive = || std::path::Path::new(&format!("/proc/{pid}")).exists();
    for _ in 0..100 {
        if !alive() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Not left behind to spin (it would also hold this test's output open).
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid])
        .status();
    panic!("function process {pid} outlived its cloud");
}

/// The version each answer came from, counted.
async fn versions_answering(
    function: &Function,
    n: usize,
) -> std::collections::BTreeMap<String, usize> {
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..n {
        let version = match function.invoke(json!({})).await {
            Ok(v) => v["version"].as_str().unwrap_or_default().to_owned(),
            Err(e) => format!("error: {}", e.error_type()),
        };
        *seen.entry(version).or_default() += 1;
    }
    seen
}

// A gradual deployment's alias: the staged version takes no invocation
// until shifted, then about its share, each counted for its version; a
// roll-back ends it and the running version takes everything again.
#[tokio::test]
async fn a_staged_version_takes_its_share_and_leaves_with_a_roll_back() {
    let spec = sleepy(Duration::from_secs(2));
    let binary = spec.binary.clone();
    let function = Function::start(spec).await.unwrap();
    let bad = vec![("FAIL_EVERY_EVENT".to_owned(), "1".to_owned())];
    assert_eq!(
        function
            .stage(binary.clone(), bad, Duration::from_secs(2))
            .await
            .unwrap(),
        2
    );
    let before = versions_answering(&function, 20).await;
    assert_eq!(before.get("$LATEST"), Some(&20), "{before:?}");

    function.shift(0.5);
    let shared = versions_answering(&function, 200).await;
    let failed = shared.get("error: Asked").copied().unwrap_or(0);
    assert!((60..=140).contains(&failed), "about half: {shared:?}");
    let figures = function.figures();
    assert_eq!(figures[1].version, 2);
    assert_eq!(
        (figures[1].errors, figures[1].invocations),
        (failed as u64, failed as u64)
    );
    assert_eq!(figures[0].errors, 0, "{figures:?}");

    // A second deployment waits for this one to end.
    assert!(
        function
            .stage(binary.clone(), Vec::new(), Duration::from_secs(2))
            .await
            .is_err()
    );
    function.roll_back().await;
    assert_eq!(function.weights().0, [(1, 1.0)]);
    let after = versions_answering(&function, 20).await;
    assert_eq!(after.get("$LATEST"), Some(&20), "{after:?}");

    // A good version promoted takes everything, and says its number (the
    // rolled-back one keeps its own).
    assert_eq!(
        function
            .stage(binary, Vec::new(), Duration::from_secs(2))
            .await
            .unwrap(),
        3
    );
    function.shift(1.0);
    function.promote().await;
    assert_eq!(function.weights().0, [(3, 1.0)]);
    let promoted = versions_answering(&function, 10).await;
    assert_eq!(promoted.get("3"), Some(&10), "{promoted:?}");
    assert_eq!(function.figures().len(), 1, "the old version stopped");
}

// A pre-traffic hook's way in: while a version is staged with no share,
// `$LATEST` and its number reach it, the alias and the old number the
// running version, and a number that runs nowhere nothing.
#[tokio::test]
async fn a_qualifier_reaches_the_staged_version_before_it_takes_any_traffic() {
    let spec = sleepy(Duration::from_secs(2));
    let binary = spec.binary.clone();
    let function = Function::start(spec).await.unwrap();
    let bad = vec![("FAIL_EVERY_EVENT".to_owned(), "1".to_owned())];
    assert_eq!(
        function
            .stage(binary, bad, Duration::from_secs(2))
            .await
            .unwrap(),
        2
    );
    let ran = |q: Qualifier| {
        let function = function.clone();
        async move {
            let (outcome, version) = function
                .invoke_qualified(&q, "r".into(), json!({}), Arrival::new("invoke", "test"))
                .await?;
            Some((outcome.is_ok(), version))
        }
    };
    assert_eq!(ran(Qualifier::Latest).await, Some((false, 2)));
    assert_eq!(ran(Qualifier::Version(2)).await, Some((false, 2)));
    assert_eq!(ran(Qualifier::Version(1)).await, Some((true, 1)));
    assert_eq!(ran(Qualifier::Alias).await, Some((true, 1)));
    assert_eq!(ran(Qualifier::Version(7)).await, None);
    let figures = function.figures();
    assert_eq!(
        (
            figures[0].invocations,
            figures[1].invocations,
            figures[1].errors
        ),
        (2, 2, 2),
        "each counted for the version it ran on: {figures:?}"
    );
    function.roll_back().await;
    assert_eq!(ran(Qualifier::Latest).await, Some((true, 1)));
    assert_eq!(
        ran(Qualifier::Version(2)).await,
        None,
        "a rolled-back version stopped"
    );
}

/// An invocation of `qualifier`, bounded well short of what a queued one
/// waited before (the timeout plus a minute): `None` if it had to wait.
async fn within_20_s(function: &Function, qualifier: Qualifier) -> Option<(bool, String, u32)> {
    let invoked = function.invoke_qualified(
        &qualifier,
        uuid::Uuid::new_v4().to_string(),
        json!({}),
        Arrival::new("invoke", "test"),
    );
    let (outcome, version) = tokio::time::timeout(Duration::from_secs(20), invoked)
        .await
        .ok()??;
    let error = outcome.as_ref().err().map(|e| e.error_type().to_owned());
    Some((outcome.is_ok(), error.unwrap_or_default(), version))
}

// A version whose process dies before it asks for work fails the
// invocations waiting for it at once, as Lambda answers an init failure
// (`Runtime.ExitError`), and each counts as its error, which is what its
// deployment's alarm sees; they waited out the timeout before.
#[tokio::test]
async fn a_version_that_dies_at_init_fails_each_invocation_at_once_as_an_error() {
    let spec = sleepy(Duration::from_secs(30));
    let binary = spec.binary.clone();
    let function = Function::start(spec).await.unwrap();
    let dies = vec![("EXIT_AT_INIT".to_owned(), "1".to_owned())];
    assert_eq!(
        function
            .stage(binary, dies, Duration::from_secs(30))
            .await
            .unwrap(),
        2
    );
    for _ in 0..3 {
        assert_eq!(
            within_20_s(&function, Qualifier::Version(2)).await,
            Some((false, "Runtime.ExitError".to_owned(), 2))
        );
    }
    let figures = function.figures();
    assert_eq!(
        (figures[1].invocations, figures[1].errors),
        (3, 3),
        "{figures:?}"
    );
    function.roll_back().await;
    assert_eq!(
        within_20_s(&function, Qualifier::Alias).await,
        Some((true, String::new(), 1))
    );
}

// A version runs the code it was built as. A later build writes a new
// file where the first was (a bad one here), and a version staged from it
// is rolled back: the first version's environment, killed and started
// again, still runs its own build, where before it ran the bad one.
#[tokio::test]
async fn a_rolled_back_build_stays_rolled_back_when_an_old_versions_process_restarts() {
    let build = tempfile::tempdir().unwrap();
    let binary = build.path().join("sleepy");
    std::fs::copy(sleepy(Duration::ZERO).binary, &binary).unwrap();
    let spec = Spec {
        binary: binary.clone(),
        ..sleepy(Duration::from_secs(30))
    };
    let function = Function::start(spec).await.unwrap();
    assert_eq!(
        within_20_s(&function, Qualifier::Alias).await,
        Some((true, String::new(), 1))
    );
    // The next build: a new file at the same path, as the linker and cargo
    // leave it. This one exits before it asks for work.
    let next = build.path().join("sleepy.next");
    std::fs::write(&next, "#!/bin/sh\nexit 7\n").unwrap();
    let executable = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755);
    std::fs::set_permissions(&next, executable).unwrap();
    std::fs::rename(&next, &binary).unwrap();
    assert_eq!(
        function
            .stage(binary.clone(), Vec::new(), Duration::from_secs(30))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        within_20_s(&function, Qualifier::Version(2))
            .await
            .map(|r| r.0),
        Some(false),
        "the new build is bad"
    );
    function.roll_back().await;
    function.kill();
    // Started again: an invocation handed over before the kill would have
    // failed with the process it was in.
    while function.metrics().await.restarts == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..3 {
        assert_eq!(
            within_20_s(&function, Qualifier::Alias).await,
            Some((true, String::new(), 1)),
            "version 1 runs the build it was deployed as"
        );
    }
}

// A version keeps the timeout it was published with, as Lambda keeps a
// version's configuration: staged with 1 s beside one of 5 s, the new
// version times out a 1.5 s run the old one finishes, and once promoted
// an environment it starts for a second run at once keeps its timeout.
#[tokio::test]
async fn a_version_keeps_the_timeout_it_was_published_with() {
    let spec = sleepy_in(Duration::from_secs(5), 2);
    let binary = spec.binary.clone();
    let function = Function::start(spec).await.unwrap();
    assert_eq!(
        function
            .stage(binary, Vec::new(), Duration::from_secs(1))
            .await
            .unwrap(),
        2
    );
    let run = |q: Qualifier| {
        let function = function.clone();
        async move {
            let arrival = Arrival::new("invoke", "test");
            let (outcome, version) =
                (function.invoke_qualified(&q, "r".into(), json!({"sleep": 1.5}), arrival))
                    .await
                    .unwrap();
            (outcome.map(|_| ()).map_err(|e| e.to_string()), version)
        }
    };
    assert_eq!(run(Qualifier::Version(1)).await, (Ok(()), 1));
    assert_eq!(
        run(Qualifier::Version(2)).await,
        (Err("Task timed out after 1s".into()), 2)
    );
    function.shift(1.0);
    function.promote().await;
    assert_eq!(function.timeout(), Duration::from_secs(1));
    // Two runs at once: the second needs an environment of its own.
    let (one, two) = tokio::join!(run(Qualifier::Alias), run(Qualifier::Alias));
    let timed_out = (Err("Task timed out after 1s".to_owned()), 2);
    assert_eq!((one, two), (timed_out.clone(), timed_out));
    assert_eq!(
        function.figures()[0].environments,
        2,
        "{:?}",
        function.figures()
    );
}
