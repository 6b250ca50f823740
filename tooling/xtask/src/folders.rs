//! Where the event contracts live in the checkout: the schema files, the
//! example payloads per version, and the examples as read from there. Shared
//! by the schema check and the generated documents, so neither imports the
//! other.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use events::{EventKey, EventSpec};
use serde_json::Value;

pub const SCHEMAS_DIR: &str = repo::paths::SCHEMAS_DIR;
pub const EXAMPLES_DIR: &str = repo::paths::EXAMPLES_DIR;

/// Example `detail` payloads per version.
pub type Examples = BTreeMap<EventKey, Vec<Value>>;

/// Examples of a version live in `product/events/examples/<source>/<DetailType>/v<N>/`.
pub fn example_dir(spec: &EventSpec) -> String {
    format!("{}/v{}", spec.key.rel_dir(), spec.key.version)
}

/// Every `*.json` under `product/events/examples/<source>/<DetailType>/v<N>/`, in
/// file-name order, for the versions the catalog knows.
pub fn load_examples(examples_dir: &Path) -> Result<Examples> {
    let mut out = Examples::new();
    for spec in events::catalog() {
        let dir = examples_dir.join(example_dir(&spec));
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
