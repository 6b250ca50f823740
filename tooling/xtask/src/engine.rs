//! One engine for every test binary: moto and its changes imported once
//! (`devstack engine`), and each emulator the tests start forked from it
//! (`DEVSTACK_ENGINE` names its socket). Without it, each of the twenty
//! binaries that reach the emulator would import moto again.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// The variable the emulator crate reads (`devstack_emulator::ENGINE_ENV`).
pub(crate) const ENGINE_ENV: &str = "DEVSTACK_ENGINE";

pub(crate) struct Engine {
    pub(crate) socket: PathBuf,
    child: Child,
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Starts the engine from the build's `devstack` binary and waits until it
/// serves (its socket's path appears only then).
pub(crate) fn start(venv: &Path) -> Result<Engine> {
    let socket = std::env::temp_dir().join(format!("devstack-engine-{}.sock", std::process::id()));
    // One left by a killed process of the same pid would read as ready.
    let _ = std::fs::remove_file(&socket);
    let devstack = repo::profile_dir().join("devstack");
    let child = Command::new(&devstack)
        .arg("engine")
        .arg("--socket")
        .arg(&socket)
        .arg("--owner")
        .arg(std::process::id().to_string())
        .env("PROJECT_VENV", venv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {} engine", devstack.display()))?;
    let mut engine = Engine { socket, child };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !engine.socket.exists() {
        if let Some(status) = engine.child.try_wait()? {
            anyhow::bail!("the engine ended at its start ({status})");
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the engine did not serve on {} within 60 s",
            engine.socket.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(engine)
}
