//! The local emulator (moto's server) for tests and the local cloud. It
//! lives apart from `kit`, which is what a function links: no function
//! binary carries the launch script or these helpers.
//!
//! Tests share one server per process: `EMULATOR_URL` when the test command
//! started one, else a server from the project's `.venv/` on a free port,
//! watched so it ends with the process that started it.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kit::config::SdkConfig;

pub mod s3;

/// The region the emulator answers in.
pub use kit::config::LOCAL_REGION as REGION;

#[derive(Debug)]
pub struct Emulator {
    pub url: String,
}

/// moto's own server, run by `python -c` with measured changes
/// (`moto_server.py` says why). To how it runs: Python's cyclic collector
/// runs less often, a TransactWriteItems backs up only what it may write,
/// a Query reads only its partition, a ReceiveMessage reads the
/// queue's retention without computing every attribute and walks its
/// messages with one clock read, a request's host is matched without
/// listing moto's folder, and requests are not logged. To what it answers, only where moto's
/// answer is missing or not AWS's: EventBridge's TestEventPattern (moto's
/// own matcher answers), and replays that keep to their window and their
/// `FilterArns`.
const LAUNCH: &str = include_str!("moto_server.py");

/// The project's virtual environment.
pub fn venv() -> PathBuf {
    std::env::var_os("PROJECT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv")))
}

/// The emulator every test in this process shares.
pub fn shared() -> &'static Emulator {
    static SHARED: OnceLock<Emulator> = OnceLock::new();
    SHARED.get_or_init(|| match std::env::var("EMULATOR_URL") {
        Ok(url) if !url.is_empty() => Emulator { url },
        _ => start().unwrap_or_else(|e| panic!("{e}")),
    })
}

/// Starts moto's server from the venv on a free loopback port; it exits when
/// this process does.
pub fn start() -> Result<Emulator, String> {
    start_with(&[])
}

/// [`start`], with `env` added to the server's environment: e.g.
/// `MOTO_PORT`, the port moto's Step Functions interpreter calls for a
/// Lambda task, which the local cloud points at its own router.
pub fn start_with(env: &[(&str, String)]) -> Result<Emulator, String> {
    let moto = venv().join("bin/moto_server");
    if !moto.exists() {
        return Err(format!(
            "{} is missing: run `cargo xtask venv` (the test command does it)",
            moto.display()
        ));
    }
    let python = venv().join("bin/python");
    // A free port is only free until someone else binds it: another test
    // binary's listener may take it before moto does, and moto then exits.
    // So each try watches its server and asks it something only moto
    // answers, and a lost port is tried again with another.
    let mut last = String::new();
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        // A watchdog shell owns the server and stops it when our pid is
        // gone, because test binaries exit without running destructors. A
        // server busy in a long request outlives SIGTERM (its request
        // threads finish first), so it gets SIGKILL a second later. The
        // shell ends as soon as the server does. It holds none of our
        // output: a caller reading our stdout to its end (the trail test)
        // would otherwise wait on the shell, which waits for our pid to go,
        // which the caller reaps only after that read: a deadlock once we
        // die before we finish (measured: a killed `devstack up` hung its
        // reader for good).
        let mut watchdog = Command::new("sh")
            .arg("-c")
            .arg(r#""$0" -c "$3" -H 127.0.0.1 -p "$1" >/dev/null 2>&1 & m=$!; while kill -0 "$2" 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 0.5; done; kill $m 2>/dev/null; sleep 1; kill -9 $m 2>/dev/null"#)
            .arg(&python)
            .arg(port.to_string())
            .arg(std::process::id().to_string())
            .arg(LAUNCH)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", moto.display()))?;
        match wait_until_serving(port, &mut watchdog, Duration::from_secs(30)) {
            Ok(()) => {
                return Ok(Emulator {
                    url: format!("http://127.0.0.1:{port}"),
                });
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Until moto answers on `port` (its own API's `data.json`, which no other
/// server here serves), or its server has ended.
fn wait_until_serving(
    port: u16,
    watchdog: &mut std::process::Child,
    within: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if is_moto(port) {
            return Ok(());
        }
        if let Ok(Some(_)) = watchdog.try_wait() {
            return Err(format!("the emulator on port {port} ended at its start"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = watchdog.kill();
    Err(format!(
        "the emulator did not answer on port {port} within {within:?}"
    ))
}

fn is_moto(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let asked = stream.write_all(
        b"GET /moto-api/data.json HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    let mut head = [0u8; 12];
    asked.is_ok() && stream.read_exact(&mut head).is_ok() && head.ends_with(b" 200")
}

impl Emulator {
    /// SDK configuration pointed at this emulator ([`kit::config::endpoint`]).
    pub async fn sdk_config(&self) -> SdkConfig {
        kit::config::endpoint(&self.url).await
    }
}

/// A name no other test in this run uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A table shaped like every service table (`pk`/`sk` strings, stream with
/// new and old images), created through the SDK for adapter tests.
pub async fn create_service_table(conf: &SdkConfig, name: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        StreamSpecification, StreamViewType,
    };
    let key = |n: &str, t| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .expect("name and type are set")
    };
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("name and type are set")
    };
    aws_sdk_dynamodb::Client::new(conf)
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .expect("enabled is set"),
        )
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "creating table {name}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            )
        });
}

/// Every record currently in a table's stream (one shard in the emulator),
/// oldest first, in Lambda's event shape.
pub async fn read_stream(
    conf: &SdkConfig,
    table: &str,
) -> Vec<aws_lambda_events::dynamodb::EventRecord> {
    use aws_sdk_dynamodbstreams::types::ShardIteratorType;
    let ddb = aws_sdk_dynamodb::Client::new(conf);
    let streams = aws_sdk_dynamodbstreams::Client::new(conf);
    let arn = ddb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .expect("describe table")
        .table
        .and_then(|t| t.latest_stream_arn)
        .expect("the table has a stream");
    let shards = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .expect("describe stream")
        .stream_description
        .map(|d| d.shards.unwrap_or_default())
        .unwrap_or_default();
    let mut out = Vec::new();
    for shard in shards {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id().unwrap_or_default())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("shard iterator")
            .shard_iterator;
        while let Some(it) = iterator {
            let page = streams
                .get_records()
                .shard_iterator(it)
                .send()
                .await
                .expect("get records");
            let records = page.records.unwrap_or_default();
            if records.is_empty() {
                break;
            }
            out.extend(
                records
                    .iter()
                    .map(|r| kit::stream::from_streams_api(r, &arn, REGION)),
            );
            iterator = page.next_shard_iterator;
        }
    }
    out
}
