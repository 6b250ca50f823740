//! Talking to the engine: a fork asked for and its port read back, one
//! JSON line each way over the engine's Unix socket.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A fork the engine made: the port it bound before answering, its
/// process, and, for a fork of a kept state, what the cloud that kept it
/// said of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Forked {
    pub port: u16,
    pub pid: u32,
    pub kept: Option<Value>,
}

/// A fork of the engine at `socket`, serving until `owner` exits, with
/// `env` added to its environment.
pub fn fork(socket: &Path, owner: u32, env: &[(&str, String)]) -> Result<Forked, String> {
    let fail = |e: &dyn std::fmt::Display| format!("the engine at {}: {e}", socket.display());
    let mut stream = UnixStream::connect(socket).map_err(|e| fail(&e))?;
    // A fork answers in milliseconds; a minute covers a machine under load.
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| fail(&e))?;
    let env: serde_json::Map<String, Value> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String(v.clone())))
        .collect();
    let ask = json!({ "owner": owner, "env": env }).to_string() + "\n";
    stream.write_all(ask.as_bytes()).map_err(|e| fail(&e))?;
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .map_err(|e| fail(&e))?;
    let answer: Value = serde_json::from_str(&line)
        .map_err(|e| fail(&format!("no port in its answer {line:?}: {e}")))?;
    let number = |key: &str| answer[key].as_u64();
    match (
        number("port").and_then(|p| u16::try_from(p).ok()),
        number("pid").and_then(|p| u32::try_from(p).ok()),
    ) {
        (Some(port), Some(pid)) => Ok(Forked {
            port,
            pid,
            kept: Some(answer["kept"].clone()).filter(|k| !k.is_null()),
        }),
        _ => Err(fail(&format!("no port and pid in its answer {line:?}"))),
    }
}

/// Until the engine accepts on `socket` (its path appears only then), or
/// it has ended.
pub fn wait_until_serving(
    socket: &Path,
    engine: &mut Child,
    within: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if socket.exists() {
            return Ok(());
        }
        if let Ok(Some(status)) = engine.try_wait() {
            return Err(format!("the engine ended at its start ({status})"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = engine.kill();
    Err(format!(
        "the engine did not serve on {} within {within:?}",
        socket.display()
    ))
}
