//! Templates as JSON: SAM is translated offline by aws-sam-translator (from
//! the project's venv); plain CloudFormation YAML goes through the same
//! loader, which understands the short intrinsic tags.
//!
//! A translation starts Python and imports the translator, about half a
//! second each, four times per start of the local cloud. So translations
//! are cached by what decides them: the template, the translating script,
//! the translator's version and the region.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub fn load(path: &Path) -> Result<Value> {
    let shim = repo::root().join(repo::paths::SAM_TRANSLATE);
    let template = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let key = cache_key(
        &template,
        &std::fs::read(&shim).with_context(|| format!("reading {}", shim.display()))?,
        &translator_version(),
        &std::env::var("AWS_REGION").unwrap_or_default(),
    );
    let cached = cache_dir().join(format!("{key}.json"));
    // An entry that does not parse (a crash mid-write elsewhere) is made again.
    if let Ok(text) = std::fs::read(&cached)
        && let Ok(value) = serde_json::from_slice(&text)
    {
        return Ok(value);
    }
    let out = translate(path, &shim)?;
    let value: Value = serde_json::from_slice(&out)?;
    // Written whole, then renamed: a concurrent reader sees all or nothing.
    if std::fs::create_dir_all(cache_dir()).is_ok() {
        let partial = cached.with_extension(format!("{}.tmp", uuid::Uuid::new_v4().simple()));
        if std::fs::write(&partial, &out).is_ok() && std::fs::rename(&partial, &cached).is_err() {
            let _ = std::fs::remove_file(&partial);
        }
    }
    Ok(value)
}

fn translate(path: &Path, shim: &Path) -> Result<Vec<u8>> {
    let python = repo::venv().join("bin/python");
    let out = Command::new(&python)
        .arg(shim)
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
    Ok(out.stdout)
}

/// Beside the build that uses it, so `cargo clean` clears it.
fn cache_dir() -> PathBuf {
    repo::profile_dir().join("sam-cache")
}

pub fn cache_key(template: &[u8], script: &[u8], translator: &str, region: &str) -> String {
    digest([template, script, translator.as_bytes(), region.as_bytes()])
}

/// The SHA-256 of `parts`, in hex. Each part is length-prefixed, so no
/// two different inputs hash alike by moving bytes from one part into the
/// next.
pub fn digest<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The installed aws-sam-translator, by its package metadata folder
/// (`aws_sam_translator-1.115.0.dist-info`): a new version may translate
/// the same template differently.
fn translator_version() -> String {
    let lib = repo::venv().join("lib");
    std::fs::read_dir(&lib)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|python| std::fs::read_dir(python.path().join("site-packages")).ok())
        .flatten()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .find(|name| name.starts_with("aws_sam_translator-") && name.ends_with(".dist-info"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_changes_with_each_thing_that_decides_a_translation() {
        let base = cache_key(b"Resources: {}", b"script", "sam-1.0", "us-east-1");
        assert_eq!(
            base,
            cache_key(b"Resources: {}", b"script", "sam-1.0", "us-east-1")
        );
        assert_eq!(base.len(), 64);
        for other in [
            cache_key(b"Resources: {} ", b"script", "sam-1.0", "us-east-1"),
            cache_key(b"Resources: {}", b"script2", "sam-1.0", "us-east-1"),
            cache_key(b"Resources: {}", b"script", "sam-1.1", "us-east-1"),
            cache_key(b"Resources: {}", b"script", "sam-1.0", "eu-west-1"),
            // Bytes moved from one part to the next.
            cache_key(b"Resources: {}s", b"cript", "sam-1.0", "us-east-1"),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn the_translator_in_the_venv_is_found() {
        // The test command makes the venv first.
        assert!(
            translator_version().starts_with("aws_sam_translator-"),
            "{}",
            translator_version()
        );
    }
}
