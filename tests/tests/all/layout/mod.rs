//! The layout, held by tests, one module per concern: the crate-to-crate
//! arrows the workspace may have (`arrows`; a new one fails until its
//! table changes, which makes it a reviewed design change), modules
//! inside a crate (`modules`), where paths are spelled and files compiled
//! from (`paths`), what the builds compile (`builds`), and the root's
//! folders (`root`).

mod arrows;
mod builds;
mod modules;
mod paths;
mod root;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use repo::workspace::Workspace;

pub(crate) use paths::REPO_PATHS;

pub(crate) fn workspace() -> Workspace {
    Workspace::load(&repo::root()).expect("cargo metadata")
}

/// A file's lines before its `#[cfg(test)]` module (all of them without
/// one): its code as it ships.
pub(crate) fn outside_tests(text: &str) -> impl Iterator<Item = &str> {
    text.lines().take_while(|l| !l.starts_with("#[cfg(test)]"))
}

/// The `.rs` files under a folder, recursively.
pub(crate) fn sources(dir: &Path) -> Vec<PathBuf> {
    files_under(dir, "rs")
}

/// Every file under `dir` whose name ends in `.{ext}`, sorted, outside
/// build output and installed packages.
fn files_under(dir: &Path, ext: &str) -> Vec<PathBuf> {
    const SKIPPED: [&str; 4] = ["target", "node_modules", "dist", ".aws-sam"];
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            let skip =
                (path.file_name().and_then(|n| n.to_str())).is_some_and(|n| SKIPPED.contains(&n));
            if path.is_dir() && !skip {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
