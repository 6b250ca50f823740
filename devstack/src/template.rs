//! Templates as JSON: SAM is translated offline by aws-sam-translator (from
//! the project's venv); plain CloudFormation YAML goes through the same
//! loader, which understands the short intrinsic tags.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

pub fn load(path: &Path) -> Result<Value> {
    let python = kit::emulator::venv().join("bin/python");
    let shim = crate::root().join("xtask/sam_translate.py");
    let out = Command::new(&python)
        .arg(&shim)
        .arg(path)
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !out.status.success() {
        bail!(
            "{} does not translate: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}
