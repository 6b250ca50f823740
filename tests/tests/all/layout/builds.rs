//! What the builds compile: doc tests only where rustdoc runs them, one
//! feature set for every command, no HTTP/2 or aws-lc in a function.

use super::*;

/// The Rust examples rustdoc would compile and run in a file's doc
/// comments: each opening fence whose info string names nothing but Rust
/// and rustdoc's test attributes, as `file:line`.
fn rust_examples(file: &str, text: &str) -> Vec<String> {
    const RUST: [&str; 5] = ["", "rust", "no_run", "should_panic", "compile_fail"];
    let mut open = false;
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let Some(doc) = trimmed
            .strip_prefix("///")
            .or_else(|| trimmed.strip_prefix("//!"))
        else {
            continue;
        };
        let Some(info) = doc.trim_start().strip_prefix("```") else {
            continue;
        };
        if !open {
            let rust = info
                .split(',')
                .map(str::trim)
                .all(|a| RUST.contains(&a) || a.starts_with("edition"));
            if rust {
                found.push(format!("{file}:{}", n + 1));
            }
        }
        open = !open;
    }
    found
}

/// Crates that set `doctest = false` (rustdoc would compile each one again
/// for no test) must hold no example rustdoc would run: it would be
/// skipped without a word.
#[test]
fn a_crate_without_doc_tests_has_no_rust_example() {
    let ws = workspace();
    let mut skipped = Vec::new();
    let mut without = 0;
    for p in &ws.packages {
        let dir = ws.root.join(&p.dir);
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        if !manifest.contains("\ndoctest = false") {
            continue;
        }
        without += 1;
        for file in sources(&dir.join("src")) {
            let text = std::fs::read_to_string(&file).unwrap();
            let name = file.strip_prefix(&ws.root).unwrap().display().to_string();
            skipped.extend(rust_examples(&name, &text));
        }
    }
    assert!(without > 0, "no crate sets doctest = false");
    assert!(
        skipped.is_empty(),
        "examples `cargo test --doc` would skip (make them ```text, or drop doctest = false): {skipped:?}"
    );
}

#[test]
fn rust_examples_are_told_from_other_fences() {
    let text = "/// ```text\n/// not rust\n/// ```\n//! ```\n//! let x = 1;\n//! ```\n/// ```rust,no_run\n/// ```\n/// ```json\n/// {}\n/// ```\n";
    assert_eq!(rust_examples("f.rs", text), ["f.rs:4", "f.rs:7"]);
}

/// What must not enter a function binary again (docs/deploying.md, "Artifact size"):
/// HTTP/2, which the SDK's own HTTP client always builds in (0.65 MB per
/// function, the Lambda runtime's client included), and aws-lc (a C build
/// and a megabyte). `kit::transport` is the functions' HTTP client.
const NEVER_IN_A_FUNCTION: &[&str] = &["h2", "aws-smithy-http-client", "aws-lc-rs", "aws-lc-sys"];

/// `cargo tree` over `args`, one `{p} {f}` line per crate it builds
/// (`{p}`: name, version and, for a workspace member, its path).
fn cargo_tree(args: &[&str]) -> String {
    let out = repo::cargo::command()
        .current_dir(repo::root())
        .args(["tree", "--prefix", "none", "--format", "{p} {f}"])
        .args(args)
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The crates a release build of the services compiles, by name.
fn function_crates() -> BTreeSet<String> {
    let mut args = vec!["--edges", "normal", "--target", "x86_64-unknown-linux-gnu"];
    for service in repo::SERVICES {
        args.extend(["--package", service]);
    }
    cargo_tree(&args)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// Each registry crate of a `cargo tree` (`name vX.Y.Z`) with every
/// feature set it is built with; workspace members (a path) left out.
fn feature_sets(tree: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut sets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in tree.lines().map(|l| l.trim_end_matches(" (*)")) {
        let mut words = line.split(' ');
        let (Some(name), Some(version)) = (words.next(), words.next()) else {
            continue;
        };
        let rest: Vec<&str> = words.collect();
        if rest.first().is_some_and(|w| w.starts_with('(')) {
            continue;
        }
        let features = rest.join(" ");
        sets.entry(format!("{name} {version}"))
            .or_default()
            .insert(features);
    }
    sets
}

/// Crates xtask builds with features the workspace's build never uses:
/// the test command would compile them twice.
fn built_twice(
    xtask: &BTreeMap<String, BTreeSet<String>>,
    workspace: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    xtask
        .iter()
        .filter(|(krate, _)| {
            !BUILT_TWICE
                .iter()
                .any(|n| krate.starts_with(&format!("{n} ")))
        })
        .filter_map(|(krate, sets)| {
            let theirs = workspace.get(krate)?;
            (!sets.is_subset(theirs))
                .then(|| format!("{krate}: xtask {sets:?}, the workspace {theirs:?}"))
        })
        .collect()
}

/// Built with the SDK's DynamoDB types by the workspace: pinning them in
/// xtask would bring the SDK into its first build.
const BUILT_TWICE: &[&str] = &["aws_lambda_events", "serde_dynamo"];

#[test]
fn xtask_builds_its_dependencies_as_the_workspace_does() {
    let xtask = feature_sets(&cargo_tree(&[
        "--package",
        "xtask",
        "--edges",
        "normal,build",
    ]));
    let workspace = feature_sets(&cargo_tree(&["--workspace", "--edges", "normal,build,dev"]));
    assert!(xtask.keys().any(|k| k.starts_with("syn ")), "{xtask:?}");
    let drifted = built_twice(&xtask, &workspace);
    assert!(
        drifted.is_empty(),
        "name these features in tooling/xtask/Cargo.toml's pins, or the test command builds them twice: {drifted:#?}"
    );
}

/// Every command the pages and the tools' own hints give builds with the
/// workspace's one feature set: `cargo devstack` and `cargo ops` are
/// aliases that pick a binary (`--bin`), never a package (`-p`), whose
/// build resolves features of its own and rebuilds what is under it at
/// every switch (`-p devstack` after a kit edit: 6.7 s, `--bin devstack`:
/// nothing). xtask, the one alias that picks its package, pins its
/// features (`xtask_builds_its_dependencies_as_the_workspace_does`).
#[test]
fn every_command_given_builds_as_the_workspace_does() {
    let root = repo::root();
    let mut files = vec![root.join("README.md"), root.join(".cargo/config.toml")];
    files.extend(files_under(&root.join("docs"), "md"));
    for dir in ["tooling", "services", "tests", "kit", "web/src"] {
        files.extend(files_under(&root.join(dir), "rs"));
        files.extend(files_under(&root.join(dir), "ts"));
    }
    let history = root.join("docs/history.md");
    let mut found = Vec::new();
    for file in files.iter().filter(|f| **f != history) {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            if picks_a_package(line) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "these build a feature set of their own; use `cargo devstack` / `cargo ops` (or `--bin`): {found:#?}"
    );
}

/// A `cargo run` (or an alias running one) that picks a package other
/// than xtask.
fn picks_a_package(line: &str) -> bool {
    let runs = line.contains("cargo run") || line.contains("\"run ");
    let words: Vec<&str> = line.split_whitespace().collect();
    runs && (words.windows(2)).any(|w| ["-p", "--package"].contains(&w[0]) && w[1] != "xtask")
}

#[test]
fn a_command_picking_a_package_is_found() {
    // Put together here, so that this file is no finding of its own.
    let run = "TOKEN=$(cargo run -q";
    assert!(picks_a_package(&format!("{run} -p devstack -- token)")));
    let alias = r#"ops = "run --quiet"#;
    assert!(picks_a_package(&format!("{alias} --package ops --\"")));
    assert!(!picks_a_package(
        r#"xtask = "run --quiet --package xtask --""#
    ));
    assert!(!picks_a_package("cargo devstack walkthrough"));
    assert!(!picks_a_package(
        "cargo run -q --bin users-snapshot -- users-Table"
    ));
}

#[test]
fn a_crate_xtask_builds_with_fewer_features_is_named() {
    let xtask =
        feature_sets("syn v2.0.1 default,full\nrepo v0.1.0 (/r/repo)\nserde_dynamo v4.3.0 \n");
    let workspace = feature_sets("syn v2.0.1 default,full,visit\nserde_dynamo v4.3.0 aws\n");
    assert_eq!(xtask.len(), 2, "{xtask:?}");
    let drifted = built_twice(&xtask, &workspace);
    assert_eq!(drifted.len(), 1, "{drifted:?}");
    assert!(drifted[0].starts_with("syn v2.0.1"), "{drifted:?}");
}

#[test]
fn no_function_builds_http2_or_aws_lc() {
    let crates = function_crates();
    // The tree was read: the functions' own HTTP stack is in it.
    assert!(
        crates.contains("hyper") && crates.contains("rustls"),
        "{crates:?}"
    );
    let found: Vec<_> = NEVER_IN_A_FUNCTION
        .iter()
        .filter(|c| crates.contains(**c))
        .collect();
    assert!(
        found.is_empty(),
        "a function would build {found:?}: see docs/deploying.md, \"Artifact size\""
    );
}
