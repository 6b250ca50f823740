//! The trail `devstack up` prints, read as a tool or a file reads it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn a_redirected_trail_has_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let mut up = Command::new(env!("CARGO_BIN_EXE_devstack"))
        .args(["up", "--endpoints-file"])
        .arg(dir.path().join("endpoints.json"))
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        // Kept, so a start that fails says why.
        .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut lines = Vec::new();
    for line in BufReader::new(up.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let ready = line.starts_with("local cloud ready");
        lines.push(line);
        if ready || started.elapsed() > Duration::from_secs(120) {
            break;
        }
    }
    // SIGTERM: devstack stops everything it started.
    Command::new("kill")
        .arg(up.id().to_string())
        .status()
        .unwrap();
    up.wait().unwrap();
    let stderr = std::fs::read_to_string(dir.path().join("stderr")).unwrap_or_default();
    let tail: String = stderr.lines().rev().take(20).collect::<Vec<_>>().join("\n");
    assert!(
        lines.iter().any(|l| l.starts_with("local cloud ready")),
        "devstack up did not come up: {lines:#?}\nits stderr, last lines first:\n{tail}"
    );
    assert!(
        lines
            .iter()
            .filter(|l| l.contains("emulator ready"))
            .count()
            == 1,
        "the trail was printed: {lines:#?}"
    );
    let coloured: Vec<&String> = lines.iter().filter(|l| l.contains('\x1b')).collect();
    assert!(
        coloured.is_empty(),
        "escape codes in a redirected trail: {coloured:#?}"
    );
}
