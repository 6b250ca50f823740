//! The ops CLI against the local cloud, with dead letters made by real
//! failures: a consumer whose table is gone, and a stream publisher whose
//! bus is gone. Every step goes through the `ops` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use devstack_client::walkthrough::{Client, token_for, token_named};
use devstack_cloud::{Options, start_detached};
use reqwest::Method;
use serde_json::Value;

struct Env {
    endpoints: devstack_api::Endpoints,
    file: PathBuf,
    dir: tempfile_dir::Dir,
}

mod tempfile_dir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn ops(env: &Env, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ops"))
        .arg("--endpoints-file")
        .arg(&env.file)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ops_json(env: &Env, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = ops(env, &all);
    assert!(
        out.status.success(),
        "ops {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "ops {args:?}: {e}: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Puts an export back into the notifications DLQ.
fn import(env: &Env, file: &Path) {
    let out = ops(
        env,
        &[
            "dlq",
            "import",
            "notifications",
            "--in",
            file.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn depth(env: &Env, service: &str) -> (i64, i64) {
    let list = ops_json(env, &["dlq", "list"]);
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["service"] == service)
        .unwrap()
        .clone();
    (
        row["depth"].as_i64().unwrap(),
        row["in_flight"].as_i64().unwrap(),
    )
}

fn wait_for(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

async fn sdk(env: &Env) -> aws_config::SdkConfig {
    kit::config::endpoint(&env.endpoints.emulator_url).await
}

/// A local cloud of the test's own, its functions logging at `log`, and
/// its endpoints file for the `ops` binary.
/// Deletes a table as someone would by hand: its deletion protection (the
/// template turns it on) first, then the table. The refusal while it is on
/// is checked too.
async fn delete_table(ddb: &aws_sdk_dynamodb::Client, table: &str) {
    let refused = ddb.delete_table().table_name(table).send().await;
    assert!(refused.is_err(), "deletion protection let {table} go");
    ddb.update_table()
        .table_name(table)
        .deletion_protection_enabled(false)
        .send()
        .await
        .unwrap();
    ddb.delete_table().table_name(table).send().await.unwrap();
}

fn local_cloud(log: &str) -> (devstack_cloud::Detached, Env) {
    let bin_dir = repo::profile_dir();
    assert!(
        bin_dir.join("users").exists(),
        "run `cargo build --workspace --bins` first (the test command does)"
    );
    cloud_of(Options {
        bin_dir,
        retry_delay: Duration::from_millis(20),
        function_env: vec![("RUST_LOG".into(), log.into())],
        ..Options::default()
    })
}

/// A local cloud started with `options`, and its endpoints file.
fn cloud_of(options: Options) -> (devstack_cloud::Detached, Env) {
    let detached = start_detached(options).unwrap();
    let dir = std::env::temp_dir().join(format!("ops-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("endpoints.json");
    std::fs::write(&file, serde_json::to_string(&detached.endpoints).unwrap()).unwrap();
    let env = Env {
        endpoints: detached.endpoints.clone(),
        file,
        dir: tempfile_dir::Dir(dir),
    };
    (detached, env)
}

#[tokio::test(flavor = "multi_thread")]
async fn dead_letters_are_decoded_exported_replayed_and_purged_without_loss() {
    let (cloud, env) = local_cloud("off");
    let conf = sdk(&env).await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let notifications_table = env.endpoints.services["notifications"]
        .table
        .as_str()
        .to_owned();

    // A real failure: the notifications consumer's table is gone.
    delete_table(&ddb, &notifications_table).await;
    let mut users = Vec::new();
    for i in 0..4 {
        let email = format!("dlq{i}-{}@example.com", uuid::Uuid::new_v4().simple());
        let api = Client {
            http: reqwest::Client::new(),
            base: env.endpoints.api_base_url.as_str().to_owned(),
            // The sign-up registers them (the pool's PostConfirmation
            // trigger makes the profile).
            token: token_for(&env.endpoints, &email).await.unwrap(),
        };
        users.push(api);
    }
    // The cloud runs on its own runtime: blocking this test's thread is fine.
    wait_for("4 dead letters", Duration::from_secs(60), || {
        depth(&env, "notifications").0 == 4
    });

    // peek decodes without consuming.
    let peeked = ops_json(&env, &["dlq", "peek", "notifications"]);
    let items = peeked.as_array().unwrap();
    assert_eq!(items.len(), 4);
    let consumer = env.endpoints.services["notifications"].functions["ConsumerFunction"].as_str();
    for item in items {
        let s = &item["summary"];
        assert_eq!(s["shape"], "async-failure");
        assert_eq!(s["detail_type"], "UserRegistered");
        assert_eq!(s["function"], consumer);
        assert_eq!(s["error_code"], "200");
        assert!(
            s["error_message"]
                .as_str()
                .unwrap()
                .contains("ResourceNotFound"),
            "{s}"
        );
        assert!(s["event_id"].is_string() && s["correlation_id"].is_string());
    }
    let text =
        String::from_utf8(ops(&env, &["dlq", "peek", "notifications", "--raw"]).stdout).unwrap();
    assert!(text.contains("UserRegistered") && text.contains("raw:"));
    assert_eq!(depth(&env, "notifications").0, 4, "peek consumed nothing");

    // export copies; export --move empties; import puts back.
    let copy = env.dir.0.join("copy.jsonl");
    let moved = env.dir.0.join("moved.jsonl");
    ops_json(
        &env,
        &[
            "dlq",
            "export",
            "notifications",
            "--out",
            copy.to_str().unwrap(),
        ],
    );
    assert_eq!((lines(&copy), depth(&env, "notifications").0), (4, 4));
    ops_json(
        &env,
        &[
            "dlq",
            "export",
            "notifications",
            "--out",
            moved.to_str().unwrap(),
            "--move",
        ],
    );
    assert_eq!(lines(&moved), 4);
    assert_eq!(depth(&env, "notifications"), (0, 0));
    import(&env, &moved);
    assert_eq!(depth(&env, "notifications").0, 4);
    let back = ops_json(&env, &["dlq", "peek", "notifications"]);
    let ids = |v: &Value| {
        let mut ids: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["summary"]["event_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&back), ids(&peeked), "the round trip is lossless");

    // Before the fix: the async re-invoke is accepted (the letter leaves the
    // DLQ), fails again, and is dead-lettered anew. Nothing is lost.
    let early = ops_json(&env, &["dlq", "replay", "notifications", "--max", "1"]);
    assert_eq!(
        (early["replayed"].as_u64(), early["left"].as_i64()),
        (Some(1), Some(3)),
        "{early}"
    );
    wait_for("the re-failed letter", Duration::from_secs(30), || {
        depth(&env, "notifications").0 == 4
    });

    // The fix: the table is back.
    devstack_emulator::create_service_table(&conf, &notifications_table).await;

    // A dry run changes nothing.
    let dry = ops_json(&env, &["dlq", "replay", "notifications", "--dry-run"]);
    assert!(dry["replayed"].as_u64().unwrap() >= 4);
    assert!(
        dry["details"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["action"] == "invoke asynchronously")
    );
    let before = depth(&env, "notifications").0;

    // kill -9 in the middle of a slow replay, then resume.
    let mut child = Command::new(env!("CARGO_BIN_EXE_ops"))
        .arg("--endpoints-file")
        .arg(&env.file)
        .args([
            "dlq",
            "replay",
            "notifications",
            "--rate",
            "2",
            "--concurrency",
            "1",
            "--visibility",
            "2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Killed after some deliveries were accepted and before their batch was
    // deleted: every letter is still in the DLQ (invisible for now), and
    // the accepted ones were also delivered. At worst, twice.
    let (visible, in_flight) = depth(&env, "notifications");
    assert_eq!(visible + in_flight, before);
    wait_for(
        "the interrupted replay to resume and finish",
        Duration::from_secs(60),
        || {
            let out = ops(
                &env,
                &[
                    "--json",
                    "dlq",
                    "replay",
                    "notifications",
                    "--visibility",
                    "2",
                ],
            );
            out.status.success() && depth(&env, "notifications") == (0, 0)
        },
    );

    // Every user got exactly one welcome, whatever was delivered twice.
    for api in &users {
        let mut count = 0;
        for _ in 0..100 {
            let (_, list) = api.call(Method::GET, "/notifications", None).await.unwrap();
            count = list["items"].as_array().unwrap().len();
            if count >= 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (_, list) = api.call(Method::GET, "/notifications", None).await.unwrap();
        assert_eq!((count, list["items"].as_array().unwrap().len()), (1, 1));
    }

    // replay --to bus: consumers deduplicate on the event id.
    import(&env, &copy);
    let bus = ops_json(
        &env,
        &[
            "dlq",
            "replay",
            "notifications",
            "--to",
            "bus",
            "--detail-type",
            "UserRegistered",
        ],
    );
    assert_eq!(
        (bus["replayed"].as_u64(), bus["failed_again"].as_u64()),
        (Some(4), Some(0))
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for api in &users {
        let (_, list) = api.call(Method::GET, "/notifications", None).await.unwrap();
        assert_eq!(
            list["items"].as_array().unwrap().len(),
            1,
            "no second welcome"
        );
    }

    // purge: refused without confirmation, refused without an export of
    // these very messages, done with one.
    import(&env, &copy);
    let unconfirmed = ops(
        &env,
        &[
            "dlq",
            "purge",
            "notifications",
            "--export",
            copy.to_str().unwrap(),
        ],
    );
    assert_eq!(unconfirmed.status.code(), Some(2));
    let stale = ops(
        &env,
        &[
            "dlq",
            "purge",
            "notifications",
            "--yes",
            "--export",
            copy.to_str().unwrap(),
        ],
    );
    assert_eq!(
        stale.status.code(),
        Some(1),
        "imported copies have new message ids: {}",
        String::from_utf8_lossy(&stale.stderr)
    );
    assert_eq!(depth(&env, "notifications").0, 4);
    let fresh = env.dir.0.join("fresh.jsonl");
    ops_json(
        &env,
        &[
            "dlq",
            "export",
            "notifications",
            "--out",
            fresh.to_str().unwrap(),
        ],
    );
    assert!(
        ops(
            &env,
            &[
                "dlq",
                "purge",
                "notifications",
                "--yes",
                "--export",
                fresh.to_str().unwrap()
            ]
        )
        .status
        .success()
    );
    assert_eq!(depth(&env, "notifications"), (0, 0));

    // A stream failure: the bus is gone while a profile is written.
    let eb = aws_sdk_eventbridge::Client::new(&conf);
    let bus_name = env.endpoints.bus_name.as_str().to_owned();
    eb.delete_event_bus().name(&bus_name).send().await.unwrap();
    let users_table = env.endpoints.services["users"].table.as_str();
    let s = |v: &str| aws_sdk_dynamodb::types::AttributeValue::S(v.to_owned());
    let now = chrono::Utc::now().to_rfc3339();
    ddb.put_item()
        .table_name(users_table)
        .item("pk", s("USER#stream-victim"))
        .item("sk", s("PROFILE"))
        .item("kind", s("profile"))
        .item("user_id", s("stream-victim"))
        .item("email", s("victim@example.com"))
        .item("display_name", s("Victim"))
        .item("created_at", s(&now))
        .item("updated_at", s(&now))
        .item("correlation_id", s("stream"))
        .send()
        .await
        .unwrap();
    wait_for("the OnFailure record", Duration::from_secs(60), || {
        depth(&env, "users").0 >= 1
    });
    let peeked = ops_json(&env, &["dlq", "peek", "users"]);
    let s0 = &peeked[0]["summary"];
    assert_eq!(s0["shape"], "stream-failure");
    let publisher = env.endpoints.services["users"].functions["PublisherFunction"].as_str();
    assert_eq!(s0["function"], publisher);
    assert!(
        ops(&env, &["dlq", "replay", "users", "--to", "bus"])
            .status
            .success(),
        "a stream failure is skipped for the bus"
    );
    assert_eq!(depth(&env, "users").0, 1);
    // Re-running the records while the bus is still gone fails again: exit 1,
    // and the letter stays.
    let again = ops(&env, &["dlq", "replay", "users", "--visibility", "1"]);
    assert_eq!(
        again.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    wait_for(
        "the letter to be visible again",
        Duration::from_secs(10),
        || depth(&env, "users") == (1, 0),
    );
    eb.create_event_bus().name(&bus_name).send().await.unwrap();
    let replayed = ops_json(&env, &["dlq", "replay", "users"]);
    assert_eq!(replayed["replayed"].as_u64(), Some(1), "{replayed}");
    assert_eq!(depth(&env, "users"), (0, 0));
    drop(cloud);
}

/// A failure keeps its trace: the DLQ message carries the X-Ray header of
/// the request that caused it (`AWSTraceHeader`), an export keeps it, and a
/// replay is invoked in the same trace.
#[tokio::test(flavor = "multi_thread")]
async fn a_dead_letter_keeps_its_trace_and_the_replay_continues_it() {
    let (_cloud, env) = local_cloud("info");
    let telemetry = PathBuf::from(env.endpoints.telemetry_dir.as_str());
    let conf = sdk(&env).await;
    // A real failure: the notifications consumer's table is gone.
    delete_table(
        &aws_sdk_dynamodb::Client::new(&conf),
        env.endpoints.services["notifications"].table.as_str(),
    )
    .await;
    let email = format!("trace-{}@example.com", uuid::Uuid::new_v4().simple());
    let correlation = format!("dlq-trace-{}", uuid::Uuid::new_v4().simple());
    token_named(&env.endpoints, &email, "Tracy", &correlation)
        .await
        .unwrap();
    wait_for("the dead letter", Duration::from_secs(60), || {
        depth(&env, "notifications").0 == 1
    });
    let hops = devstack_api::telemetry::read_hops(&telemetry).unwrap();
    let trace = hops
        .iter()
        .find(|h| {
            h.kind == "cognito"
                && h.detail == "PostConfirmation"
                && h.correlation_ids.contains(&correlation)
        })
        .map(|h| h.trace_id.clone())
        .expect("the confirmation's trigger hop");
    // The consumer failed three times in that trace (1 + 2 retries).
    let failed = hops
        .iter()
        .filter(|h| {
            h.trace_id == trace
                && h.function == "notifications/ConsumerFunction"
                && h.outcome != "ok"
        })
        .count();
    assert_eq!(failed, 3, "{hops:#?}");

    // The letter carries it, and an export keeps it.
    let copy = env.dir.0.join("trace.jsonl");
    ops_json(
        &env,
        &[
            "dlq",
            "export",
            "notifications",
            "--out",
            copy.to_str().unwrap(),
        ],
    );
    let exported = std::fs::read_to_string(&copy).unwrap();
    assert!(
        exported.contains(&format!("Root={trace};")),
        "the letter has no AWSTraceHeader of {trace}: {exported}"
    );

    // The replay is invoked in the same trace (it fails again: the table is
    // still gone, and the letter comes back with the same trace).
    let replayed = ops_json(&env, &["dlq", "replay", "notifications"]);
    assert_eq!(replayed["replayed"].as_u64(), Some(1), "{replayed}");
    wait_for("the replay's invocation", Duration::from_secs(30), || {
        devstack_api::telemetry::read_hops(&telemetry)
            .unwrap()
            .iter()
            .any(|h| {
                h.trace_id == trace
                    && h.kind == "async"
                    && h.function == "notifications/ConsumerFunction"
            })
    });
    let log =
        std::fs::read_to_string(telemetry.join("logs/notifications-ConsumerFunction.log")).unwrap();
    assert!(
        log.lines().filter(|l| l.contains(&trace)).count() >= 4,
        "the consumer's log lines of {trace}:\n{log}"
    );
    wait_for(
        "the letter back in the DLQ",
        Duration::from_secs(30),
        || depth(&env, "notifications").0 == 1,
    );
    let again = env.dir.0.join("again.jsonl");
    ops_json(
        &env,
        &[
            "dlq",
            "export",
            "notifications",
            "--out",
            again.to_str().unwrap(),
        ],
    );
    assert!(
        std::fs::read_to_string(&again)
            .unwrap()
            .contains(&format!("Root={trace};"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dlq_bench_counts_the_calls_made_in_a_teams_own_account() {
    let (_cloud, env) = cloud_of(Options {
        bin_dir: repo::profile_dir(),
        accounts: devstack_cloud::accounts::per_team(),
        ..Options::default()
    });
    assert_ne!(
        env.endpoints.services["notifications"].account,
        kit::config::LOCAL_ACCOUNT
    );
    let bench = ops_json(&env, &["dlq", "bench", "notifications", "--count", "20"]);
    // Each letter is received and deleted in notifications' account, and
    // put on the platform's bus: every call is counted, wherever it went.
    let naive = &bench["naive_by_operation"];
    for operation in ["AmazonSQS.ReceiveMessage", "AWSEvents.PutEvents"] {
        assert_eq!(naive[operation], 20, "{operation}: {naive}");
    }
    assert_eq!(bench["naive_calls"], 60, "{bench}");
}
