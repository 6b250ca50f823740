//! `ops events` through the real binary against the emulator: a bus with
//! an archive and two rules, each delivering to its own queue, described
//! by an endpoints file as a local cloud would write it. What reaches each
//! queue is what a consumer behind that rule would have received.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_eventbridge::types::{PutEventsRequestEntry, Target};
use devstack_api::{Consumer, Endpoints, ServiceEndpoints};
use devstack_emulator::fixtures::{new_queue, queue_arn};
use devstack_emulator::{shared, unique};
use serde_json::{Value, json};

struct Bus {
    conf: aws_config::SdkConfig,
    name: String,
    /// Rule name to its queue's URL.
    queues: Vec<(String, String)>,
    file: tempfile::NamedTempFile,
    started: chrono::DateTime<chrono::Utc>,
}

/// A bus with an archive, a rule for `app.users` and one for `app.todos`;
/// the service `svc` consumes through the first.
async fn bus() -> Bus {
    let conf = shared().sdk_config().await;
    let eb = aws_sdk_eventbridge::Client::new(&conf);
    let name = unique("bus");
    let bus_arn = eb
        .create_event_bus()
        .name(&name)
        .send()
        .await
        .unwrap()
        .event_bus_arn
        .unwrap();
    eb.create_archive()
        .archive_name(unique("archive"))
        .event_source_arn(&bus_arn)
        .send()
        .await
        .unwrap();
    let mut queues = Vec::new();
    for (rule, source) in [("users-rule", "app.users"), ("todos-rule", "app.todos")] {
        let url = queue_for_rule(&conf, &name, rule, source).await;
        queues.push((rule.to_owned(), url));
    }
    let mut endpoints = Endpoints {
        emulator_url: shared().url.clone(),
        lambda_endpoint: "http://127.0.0.1:9".into(),
        bus_name: name.clone(),
        ..Endpoints::default()
    };
    endpoints.services.insert(
        "svc".into(),
        ServiceEndpoints {
            stack: "svc".into(),
            dlq_queue_url: "http://127.0.0.1:9/unused".into(),
            consumers: vec![Consumer {
                function: "svc-Consumer".into(),
                trigger: "rule".into(),
                pattern: Some(json!({"source": ["app.users"]})),
                rule: Some("users-rule".into()),
            }],
            ..ServiceEndpoints::default()
        },
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_string(&endpoints).unwrap()).unwrap();
    Bus {
        conf,
        name,
        queues,
        file,
        // The archive keeps whole seconds: start the window a little before.
        started: chrono::Utc::now() - chrono::Duration::seconds(2),
    }
}

async fn queue_for_rule(
    conf: &aws_config::SdkConfig,
    bus: &str,
    rule: &str,
    source: &str,
) -> String {
    let eb = aws_sdk_eventbridge::Client::new(conf);
    let sqs = aws_sdk_sqs::Client::new(conf);
    let url = new_queue(&sqs, "q").await;
    let arn = queue_arn(&sqs, &url).await;
    eb.put_rule()
        .name(rule)
        .event_bus_name(bus)
        .event_pattern(json!({"source": [source]}).to_string())
        .send()
        .await
        .unwrap();
    eb.put_targets()
        .rule(rule)
        .event_bus_name(bus)
        .targets(Target::builder().id("q").arn(arn).build().unwrap())
        .send()
        .await
        .unwrap();
    url
}

impl Bus {
    async fn publish(&self, source: &str, detail_type: &str, n: usize) {
        let eb = aws_sdk_eventbridge::Client::new(&self.conf);
        for i in 0..n {
            let entry = PutEventsRequestEntry::builder()
                .event_bus_name(&self.name)
                .source(source)
                .detail_type(detail_type)
                .detail(json!({"metadata": {"event_id": format!("{detail_type}-{i}"), "correlation_id": "c"}, "data": {}}).to_string())
                .build();
            let out = eb.put_events().entries(entry).send().await.unwrap();
            assert_eq!(out.failed_entry_count, 0);
        }
    }

    fn queue(&self, rule: &str) -> &str {
        &self.queues.iter().find(|(r, _)| r == rule).unwrap().1
    }

    async fn drain(&self, rule: &str) -> Vec<Value> {
        let sqs = aws_sdk_sqs::Client::new(&self.conf);
        let mut out = Vec::new();
        loop {
            let got = sqs
                .receive_message()
                .queue_url(self.queue(rule))
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap()
                .messages
                .unwrap_or_default();
            if got.is_empty() {
                return out;
            }
            for m in got {
                out.push(serde_json::from_str(m.body().unwrap()).unwrap());
                sqs.delete_message()
                    .queue_url(self.queue(rule))
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ops"));
        c.arg("--endpoints-file")
            .arg(self.file.path())
            .args(args)
            .stdin(Stdio::null());
        c
    }

    fn ops(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Taps left on this bus (rules named as taps).
    async fn taps(&self) -> Vec<String> {
        aws_sdk_eventbridge::Client::new(&self.conf)
            .list_rules()
            .event_bus_name(&self.name)
            .name_prefix(ops::tap::PREFIX)
            .send()
            .await
            .unwrap()
            .rules
            .unwrap_or_default()
            .iter()
            .filter_map(|r| r.name().map(str::to_owned))
            .collect()
    }

    async fn queue_exists(&self, name: &str) -> bool {
        aws_sdk_sqs::Client::new(&self.conf)
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .is_ok()
    }
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// A running tail: the process, its tap's name, and its output (stderr is
/// kept open: a tail that prints to a closed pipe dies of it).
struct Tailing {
    child: Child,
    tap: String,
    stdout: BufReader<std::process::ChildStdout>,
    _stderr: BufReader<std::process::ChildStderr>,
}

/// Starts `ops events tail`, and returns once its tap is in place (its
/// first line on stderr names it).
fn tail(bus: &Bus, extra: &[&str]) -> Tailing {
    let mut args = vec!["--json", "events", "tail"];
    args.extend_from_slice(extra);
    let mut child = bus
        .command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    stderr.read_line(&mut first).unwrap();
    let tap = first
        .split_whitespace()
        .find(|w| w.starts_with(ops::tap::PREFIX))
        .unwrap_or_else(|| panic!("no tap named in {first:?}"))
        .to_owned();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    Tailing {
        child,
        tap,
        stdout,
        _stderr: stderr,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tail_shows_an_event_published_while_it_runs_and_sigterm_leaves_nothing_behind() {
    let bus = bus().await;
    let Tailing {
        child,
        tap,
        mut stdout,
        _stderr,
    } = tail(&bus, &["--source", "app.todos"]);
    bus.publish("app.users", "UserRegistered", 1).await;
    bus.publish("app.todos", "TodoCompleted", 1).await;
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let event: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        event["detail-type"], "TodoCompleted",
        "the filter keeps only app.todos"
    );
    assert_eq!(bus.taps().await, vec![tap.clone()]);
    signal(&child, "TERM");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(bus.taps().await.is_empty(), "the rule is removed");
    assert!(!bus.queue_exists(&tap).await, "the queue is removed");
}

/// `ops events tail | head -1`: the reader goes, and the next event
/// ends the tail as it ends a Unix tool, with its tap removed, where a
/// print to the closed pipe used to panic and leave the tap behind.
#[tokio::test(flavor = "multi_thread")]
async fn a_tail_whose_reader_goes_ends_quietly_and_removes_its_tap() {
    let bus = bus().await;
    let Tailing {
        child,
        tap,
        stdout,
        _stderr,
    } = tail(&bus, &[]);
    drop(stdout);
    assert_eq!(bus.taps().await, vec![tap.clone()]);
    bus.publish("app.todos", "TodoCompleted", 1).await;
    let out = child.wait_with_output().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut { _stderr }, &mut stderr).unwrap();
    assert_eq!(
        out.status.code(),
        Some(i32::from(repo::closed_pipe::EXIT_STATUS)),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(bus.taps().await.is_empty(), "the rule is removed");
    assert!(!bus.queue_exists(&tap).await, "the queue is removed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_tail_is_swept_by_the_next_run_once_its_lease_ran_out() {
    let bus = bus().await;
    let Tailing { mut child, tap, .. } = tail(&bus, &["--tap-lease-seconds", "2"]);
    signal(&child, "KILL");
    child.wait().unwrap();
    assert_eq!(
        bus.taps().await,
        vec![tap.clone()],
        "a killed tail leaves its tap"
    );
    let early = bus.ops(&["events", "sweep"]);
    assert!(early.status.success(), "{}", text(&early));
    assert_eq!(
        bus.taps().await,
        vec![tap.clone()],
        "a tap within its lease is not swept"
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let swept = bus.ops(&["events", "sweep"]);
    assert!(
        String::from_utf8_lossy(&swept.stdout).contains("swept 1 rule(s) and 1 queue(s)"),
        "{}",
        text(&swept)
    );
    assert!(bus.taps().await.is_empty());
    assert!(!bus.queue_exists(&tap).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_counts_the_window_per_rule_and_delivers_nothing() {
    let bus = bus().await;
    bus.publish("app.users", "UserRegistered", 3).await;
    bus.publish("app.todos", "TodoCompleted", 2).await;
    assert_eq!(
        bus.drain("users-rule").await.len(),
        3,
        "delivered live once"
    );
    bus.drain("todos-rule").await;
    let from = bus.started.to_rfc3339();
    let out = bus.ops(&[
        "--json",
        "events",
        "replay",
        "--bus",
        "--from",
        &from,
        "--dry-run",
        "--settle-seconds",
        "1",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let found: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(found["events"], 5, "{found}");
    let count = |rule: &str| {
        found["by_rule"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r[0]["rule"] == rule)
            .map(|r| r[1].clone())
    };
    assert_eq!(count("users-rule"), Some(json!(3)));
    assert_eq!(count("todos-rule"), Some(json!(2)));
    let narrowed = bus.ops(&[
        "--json",
        "events",
        "replay",
        "--consumer",
        "svc",
        "--from",
        &from,
        "--dry-run",
        "--settle-seconds",
        "1",
        "--pattern",
        r#"{"detail-type": [{"prefix": "UserReg"}]}"#,
    ]);
    assert!(narrowed.status.success(), "{}", text(&narrowed));
    let narrowed: Value = serde_json::from_slice(&narrowed.stdout).unwrap();
    assert_eq!(narrowed["events"], 3, "{narrowed}");
    assert!(
        bus.drain("users-rule").await.is_empty(),
        "a dry run delivers nothing"
    );
    assert!(
        bus.drain("todos-rule").await.is_empty(),
        "a dry run delivers nothing"
    );
    assert!(bus.taps().await.is_empty(), "the dry run's tap is removed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_killed_mid_way_is_swept_by_the_next_run() {
    let bus = bus().await;
    bus.publish("app.users", "UserRegistered", 1).await;
    let from = bus.started.to_rfc3339();
    let mut child = bus
        .command(&[
            "--tap-lease-seconds",
            "2",
            "events",
            "replay",
            "--bus",
            "--from",
            &from,
            "--dry-run",
            "--settle-seconds",
            "30",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while bus.taps().await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the dry run never opened its tap"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    signal(&child, "KILL");
    child.wait().unwrap();
    let left = bus.taps().await;
    assert_eq!(
        left.len(),
        1,
        "killed mid-way, the dry run leaves its tap: {left:?}"
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let next = bus.ops(&[
        "--json",
        "events",
        "replay",
        "--bus",
        "--from",
        &from,
        "--dry-run",
        "--settle-seconds",
        "0",
    ]);
    assert!(next.status.success(), "{}", text(&next));
    assert!(
        bus.taps().await.is_empty(),
        "the next run swept it and removed its own"
    );
    assert!(!bus.queue_exists(&left[0]).await);
    assert!(
        bus.drain("users-rule").await.len() == 1,
        "only the live delivery"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replay_to_one_rule_reaches_that_rule_alone_and_a_consumer_gets_only_declared_events() {
    let bus = bus().await;
    bus.publish("app.users", "UserRegistered", 2).await;
    bus.publish("app.users", "UserDeleted", 1).await;
    bus.publish("app.todos", "TodoCompleted", 2).await;
    bus.drain("users-rule").await;
    bus.drain("todos-rule").await;
    let from = bus.started.to_rfc3339();
    let name = unique("replay");
    let out = bus.ops(&[
        "events",
        "replay",
        "--rule",
        "users-rule",
        "--from",
        &from,
        "--name",
        &name,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("COMPLETED"),
        "{}",
        text(&out)
    );
    let replayed = bus.drain("users-rule").await;
    assert_eq!(replayed.len(), 3, "{replayed:?}");
    assert!(
        replayed.iter().all(|e| e["replay-name"].is_string()),
        "{replayed:?}"
    );
    assert!(
        bus.drain("todos-rule").await.is_empty(),
        "the other rule saw nothing"
    );

    let refused = bus.ops(&[
        "events",
        "replay",
        "--consumer",
        "svc",
        "--from",
        &from,
        "--source",
        "app.todos",
        "--detail-type",
        "TodoCompleted",
    ]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("do not declare that svc consumes app.todos TodoCompleted"),
        "{}",
        text(&refused)
    );
    assert!(bus.drain("users-rule").await.is_empty());

    // Narrowed by a pattern: through a borrowed copy of the rule, removed after.
    let narrowed = bus.ops(&[
        "events",
        "replay",
        "--rule",
        "users-rule",
        "--from",
        &from,
        "--detail-type",
        "UserDeleted",
    ]);
    assert!(narrowed.status.success(), "{}", text(&narrowed));
    let replayed = bus.drain("users-rule").await;
    assert_eq!(replayed.len(), 1, "{replayed:?}");
    assert_eq!(replayed[0]["detail-type"], "UserDeleted");
    assert!(bus.drain("todos-rule").await.is_empty());
    assert!(bus.taps().await.is_empty(), "the borrowed rule is removed");
    let disjoint = bus.ops(&[
        "events",
        "replay",
        "--rule",
        "users-rule",
        "--from",
        &from,
        "--source",
        "app.todos",
    ]);
    assert_eq!(disjoint.status.code(), Some(2), "{}", text(&disjoint));
    assert!(
        String::from_utf8_lossy(&disjoint.stderr).contains("source: no value satisfies both"),
        "{}",
        text(&disjoint)
    );
}
