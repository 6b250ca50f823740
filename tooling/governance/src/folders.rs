//! Where the event contracts live in the checkout (`events/schemas/` and
//! `events/examples/`, as `repo::paths` says): the schema files, the
//! example payloads per version, and the examples as read from there.
//! Shared by the schema check and the generated documents, so neither
//! imports the other.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use events::{EventKey, EventSpec};
use serde_json::Value;

/// Example `detail` payloads per version.
pub type Examples = BTreeMap<EventKey, Vec<Value>>;

/// A version's examples folder, relative to the root:
/// `events/examples/<source>/<DetailType>/v<N>/`.
pub fn example_dir(spec: &EventSpec) -> Result<String> {
    let key = format!("{}/v{}", spec.key.rel_dir(), spec.key.version);
    repo::paths::examples_dir(&key)
        .with_context(|| format!("{}: its source names no service's folder", spec.key))
}

/// A committed schema's path relative to the root, by its key.
pub fn schema_path(key: &str) -> Result<String> {
    repo::paths::schema_file(key)
        .with_context(|| format!("{key}: its source names no service's folder"))
}

/// A schema as committed at `rev`, by its key, wherever it was then: its
/// path and text, or `None` if it was nowhere.
pub fn schema_at(repo: &Path, rev: &str, key: &str) -> Result<Option<(String, String)>> {
    first_at(repo, rev, &repo::paths::schema_files_ever(key))
}

/// The AsyncAPI document as committed at `rev`, wherever it was then.
pub fn asyncapi_at(repo: &Path, rev: &str) -> Result<(String, String)> {
    first_at(repo, rev, repo::paths::ASYNCAPI_EVER)?.with_context(|| {
        format!(
            "{} has no {} at {rev}",
            repo.display(),
            repo::paths::ASYNCAPI
        )
    })
}

/// A service's template as committed at `rev`, wherever it was then.
pub fn template_at(repo: &Path, rev: &str, service: &str) -> Result<(String, String)> {
    let files = repo::paths::template_files_ever(service);
    first_at(repo, rev, &files)?.with_context(|| format!("{}: not in {rev}", files[0]))
}

/// The first of `files` (one thing's places, newest first) that `rev`
/// holds: its path and text.
fn first_at(repo: &Path, rev: &str, files: &[impl AsRef<str>]) -> Result<Option<(String, String)>> {
    for file in files {
        if let Some(text) = repo::git::show(repo, rev, file.as_ref())? {
            return Ok(Some((file.as_ref().to_owned(), text)));
        }
    }
    Ok(None)
}

/// Every `*.json` in each version's examples folder, in file-name order,
/// for the versions the catalog knows.
pub fn load_examples(root: &Path) -> Result<Examples> {
    let mut out = Examples::new();
    for spec in events::catalog() {
        let dir = root.join(example_dir(&spec)?);
        let mut files: Vec<_> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect(),
            Err(_) => continue,
        };
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", file.display()))?;
            out.entry(spec.key).or_default().push(value);
        }
    }
    Ok(out)
}
