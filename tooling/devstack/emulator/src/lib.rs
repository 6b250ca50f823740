//! The local emulator (moto's server) for tests and the local cloud. It
//! lives apart from `kit`, which is what a function links: no function
//! binary carries the launch script or these helpers.
//!
//! Every emulator is a fork of one warm engine (a Python process that
//! imported moto and its changes once), on a port of its own, sharing
//! nothing with its siblings. Tests share one emulator per process:
//! `EMULATOR_URL` when set, else a fork of the engine.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use kit::config::SdkConfig;

pub mod engine;
pub mod fixtures;
pub mod s3;

/// The region the emulator answers in.
pub use kit::config::LOCAL_REGION as REGION;

#[derive(Debug)]
pub struct Emulator {
    pub url: String,
}

/// The engine: moto's server with measured changes (`src/patches/`, a file
/// per AWS service, says why; run as one program, in this order), imported once and forked for each emulator. To how it runs:
/// Python's cyclic collector runs less often, a TransactWriteItems backs up
/// only what it may write, a Query reads only its partition, a
/// ReceiveMessage reads the queue's retention without computing every
/// attribute and walks its messages with one clock read, a request's host
/// is matched without listing moto's folder, requests are not logged, and
/// one RSA key pair made before the forks serves every symmetric KMS key
/// and SNS's signatures.
/// To what it answers, only where moto's answer is missing or not AWS's:
/// EventBridge's TestEventPattern (moto's own matcher answers), and
/// replays that keep to their window and their `FilterArns`.
const LAUNCH: &str = concat!(
    include_str!("patches/preamble.py"),
    "\n",
    include_str!("patches/shared.py"),
    "\n",
    include_str!("patches/dynamodb.py"),
    "\n",
    include_str!("patches/events_patterns.py"),
    "\n",
    include_str!("patches/events_log.py"),
    "\n",
    include_str!("patches/events_replays.py"),
    "\n",
    include_str!("patches/events_accounts.py"),
    "\n",
    include_str!("patches/sqs.py"),
    "\n",
    include_str!("patches/sns.py"),
    "\n",
    include_str!("patches/iam_kms.py"),
    "\n",
    include_str!("patches/s3.py"),
    "\n",
    include_str!("patches/lambda_sfn.py"),
    "\n",
    include_str!("patches/cloudformation.py"),
    "\n",
    include_str!("patches/cognito.py"),
    "\n",
    include_str!("patches/server.py"),
);

/// The engine's changes to what an AWS operation answers, each with the
/// operations it changes, as `src/patches/` declares them: a
/// `# changes: dynamodb:Query sqs:ReceiveMessage` line in the change's
/// function. The conformance page names them beside each operation.
pub fn changes() -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut change = None;
    for line in LAUNCH.lines() {
        if let Some(name) = line.strip_prefix("def ") {
            change = name.split('(').next().map(str::to_owned);
        } else if let (Some(ops), Some(name)) = (line.trim().strip_prefix("# changes:"), &change) {
            let ops = ops.split_whitespace().map(str::to_owned);
            match out.iter_mut().find(|(n, _)| n == name) {
                Some((_, known)) => known.extend(ops),
                None => out.push((name.clone(), ops.collect())),
            }
        }
    }
    out
}

/// Where an engine already running serves its forks (the test command
/// starts one for all its binaries); without it, a process starts its own
/// on first use.
pub const ENGINE_ENV: &str = "DEVSTACK_ENGINE";

/// The project's virtual environment.
pub fn venv() -> PathBuf {
    std::env::var_os("PROJECT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../.venv")))
}

/// The emulator every test in this process shares.
pub fn shared() -> &'static Emulator {
    static SHARED: OnceLock<Emulator> = OnceLock::new();
    SHARED.get_or_init(|| match std::env::var("EMULATOR_URL") {
        Ok(url) if !url.is_empty() => Emulator { url },
        _ => start().unwrap_or_else(|e| panic!("{e}")),
    })
}

/// A new emulator, forked from the engine, on a free loopback port; it
/// exits when this process does.
pub fn start() -> Result<Emulator, String> {
    start_with(&[])
}

/// [`start`], with `env` added to the server's environment: e.g.
/// `MOTO_PORT`, the port moto's Step Functions interpreter calls for a
/// Lambda task, which the local cloud points at its own router.
pub fn start_with(env: &[(&str, String)]) -> Result<Emulator, String> {
    let forked = engine::fork(&engine_socket()?, std::process::id(), env)?;
    Ok(Emulator::on(forked.port))
}

/// An emulator, and what was said of its state when it is a fork of a
/// state kept under its key ([`keep`]).
#[derive(Debug)]
pub struct Started {
    pub emulator: Emulator,
    pub kept: Option<serde_json::Value>,
}

/// [`start_with`], from the state kept under `key` when there is one and
/// this process's engine holds it: a fork of it, with everything deployed
/// there. Else (no key, none kept, or its copy gone) a fork of the engine.
pub fn start_from(key: Option<&str>, env: &[(&str, String)]) -> Result<Started, String> {
    if let Some(key) = key
        && let kept = kept_socket(key)?
        && kept.exists()
        && let Ok(forked) = engine::fork(&kept, std::process::id(), env)
        && forked.kept.is_some()
    {
        return Ok(Started {
            emulator: Emulator::on(forked.port),
            kept: forked.kept,
        });
    }
    Ok(Started {
        emulator: start_with(env)?,
        kept: None,
    })
}

/// Where the state kept under `key` is served: beside the engine, so it
/// ends with it.
pub fn kept_socket(key: &str) -> Result<PathBuf, String> {
    Ok(PathBuf::from(format!(
        "{}.{key}",
        engine_socket()?.display()
    )))
}

/// The request that keeps an emulator's state under `key`, with `kept`
/// (what a later cloud needs to know of it): `POST <url>/devstack/keep`
/// with this body. Asked when nothing else talks to that emulator.
pub fn keep_body(key: &str, kept: &serde_json::Value) -> Result<serde_json::Value, String> {
    Ok(serde_json::json!({
        "socket": kept_socket(key)?.display().to_string(),
        "kept": kept,
    }))
}

/// The socket of the engine this process forks from: [`ENGINE_ENV`]'s,
/// else one of its own, started once.
pub fn engine_socket() -> Result<PathBuf, String> {
    static OWN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    if let Some(socket) = std::env::var_os(ENGINE_ENV).filter(|s| !s.is_empty()) {
        return Ok(PathBuf::from(socket));
    }
    OWN.get_or_init(|| {
        // Short: a Unix socket's path has at most 107 bytes, and kept
        // states' sockets add a key to it.
        let socket =
            std::env::temp_dir().join(format!("devstack-engine-{}.sock", std::process::id()));
        // One left by a killed process of the same pid would read as ready.
        let _ = std::fs::remove_file(&socket);
        let mut child = engine_command(&socket, std::process::id())?
            .spawn()
            .map_err(|e| format!("starting the engine: {e}"))?;
        engine::wait_until_serving(&socket, &mut child, Duration::from_secs(60))?;
        Ok(socket)
    })
    .clone()
}

/// The engine's command: it serves forks on `socket` until `owner` exits.
/// Its output goes nowhere: a caller reading our stdout to its end would
/// otherwise wait on the engine.
/// Where the engine and its forks write their errors (moto logs an
/// answer it failed with, traceback and all): `<socket>.log`, beside the
/// socket. A stack that never completes is explained there.
pub fn engine_log_path(socket: &Path) -> PathBuf {
    let mut name = socket.as_os_str().to_owned();
    name.push(".log");
    PathBuf::from(name)
}

fn engine_log(socket: &Path) -> Stdio {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(engine_log_path(socket))
        .map_or_else(|_| Stdio::null(), Stdio::from)
}

pub fn engine_command(socket: &Path, owner: u32) -> Result<Command, String> {
    let python = venv().join("bin/python");
    if !python.exists() {
        return Err(format!(
            "{} is missing: run `cargo xtask venv` (the test command does it)",
            python.display()
        ));
    }
    let mut c = Command::new(python);
    c.arg("-c")
        .arg(LAUNCH)
        .arg("--socket")
        .arg(socket)
        .arg("--owner")
        .arg(owner.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(engine_log(socket));
    Ok(c)
}

impl Emulator {
    fn on(port: u16) -> Self {
        Self {
            url: format!("http://127.0.0.1:{port}"),
        }
    }

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

/// Every item of a small table, each as text, in order: for a test that
/// something changed nothing.
pub async fn table_items(conf: &SdkConfig, table: &str) -> Vec<String> {
    let out = aws_sdk_dynamodb::Client::new(conf)
        .scan()
        .table_name(table)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "scanning {table}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            )
        });
    assert!(out.last_evaluated_key().is_none(), "{table}: over a page");
    let mut items: Vec<String> = (out.items().iter())
        .map(|item| {
            format!(
                "{:?}",
                item.iter().collect::<std::collections::BTreeMap<_, _>>()
            )
        })
        .collect();
    items.sort();
    items
}

/// Every record currently in a table's stream (one shard in the emulator),
/// oldest first, in Lambda's event shape.
pub async fn read_stream(
    conf: &SdkConfig,
    table: &str,
) -> Vec<aws_lambda_events::dynamodb::EventRecord> {
    let (arn, records) = stream_records_of(conf, table).await;
    (records.iter())
        .map(|r| kit::stream::from_streams_api(r, &arn, REGION))
        .collect()
}

/// Every record of `table`'s stream, as DynamoDB Streams' API answers.
pub async fn stream_records(
    conf: &SdkConfig,
    table: &str,
) -> Vec<aws_sdk_dynamodbstreams::types::Record> {
    stream_records_of(conf, table).await.1
}

/// The stream's ARN and every record of it, shard by shard.
async fn stream_records_of(
    conf: &SdkConfig,
    table: &str,
) -> (String, Vec<aws_sdk_dynamodbstreams::types::Record>) {
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
            out.extend(records);
            iterator = page.next_shard_iterator;
        }
    }
    (arn, out)
}
