//! `cargo xtask schemas generate|check`: the committed JSON Schemas in
//! `events/schemas/` against the Rust types, and against a git baseline.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use events::{EventSpec, catalog};
use serde_json::Value;

use compat::{Finding, Mode, Policy};

use crate::folders::{example_dir, load_examples, schema_path};

/// Schema files keyed by `<source>/<DetailType>/v<N>.json` (where each is
/// in the checkout: [`schema_path`]).
pub type SchemaSet = BTreeMap<String, Value>;

pub fn render(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).expect("a JSON value serializes");
    text.push('\n');
    text
}

/// What the types generate, keyed like [`SchemaSet`].
pub fn generated() -> SchemaSet {
    catalog()
        .iter()
        .map(|spec| (spec.key.schema_file(), spec.schema()))
        .collect()
}

/// Rewrites every schema file, the AsyncAPI document and the catalog page
/// from the types. Returns the files written, relative to `root`.
pub fn generate(root: &Path) -> Result<Vec<String>> {
    let mut files = generated()
        .into_iter()
        .map(|(key, schema)| Ok((schema_path(&key)?, render(&schema))))
        .collect::<Result<Vec<(String, String)>>>()?;
    files.extend(generated_docs(root)?);
    let mut written = Vec::new();
    for rel in leftover_pages(root, &files)? {
        std::fs::remove_file(root.join(&rel)).with_context(|| format!("removing {rel}"))?;
        written.push(rel);
    }
    for (rel, text) in files {
        let path = root.join(&rel);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        std::fs::create_dir_all(path.parent().expect("generated files live in a folder"))?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push(rel);
    }
    Ok(written)
}

/// The AsyncAPI document and the catalog page, as the contracts and the
/// services' declarations generate them: `(path relative to root, text)`.
pub fn generated_docs(root: &Path) -> Result<Vec<(String, String)>> {
    let services = crate::declared::services();
    let specs = catalog();
    let examples = load_examples(root)?;
    let asyncapi = crate::asyncapi::document(&services, &specs, &examples)?;
    let mut docs = vec![(crate::asyncapi::FILE.to_owned(), render(&asyncapi))];
    docs.extend(crate::catalog_page::render(&services, &specs, &examples));
    Ok(docs)
}

/// A generated document that is missing or not what the types generate,
/// or a team's catalog page that nothing generates any more.
pub fn check_docs(root: &Path) -> Result<Vec<Problem>> {
    let docs = generated_docs(root)?;
    let leftover = leftover_pages(root, &docs)?;
    Ok((docs.into_iter())
        .filter(|(rel, text)| {
            std::fs::read_to_string(root.join(rel)).ok().as_deref() != Some(text.as_str())
        })
        .map(|(file, _)| file)
        .chain(leftover)
        .map(|file| Problem::Stale { file })
        .collect())
}

/// The pages in the catalog's teams' folder that `generated` does not
/// hold: a team that no longer produces an event, or is gone.
fn leftover_pages(root: &Path, generated: &[(String, String)]) -> Result<Vec<String>> {
    let dir = repo::paths::CATALOG_TEAMS_DIR;
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return Ok(Vec::new());
    };
    let mut leftover = Vec::new();
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let rel = format!("{dir}/{name}");
        if name.ends_with(".md") && !generated.iter().any(|(f, _)| *f == rel) {
            leftover.push(rel);
        }
    }
    leftover.sort();
    Ok(leftover)
}

/// The schemas committed in a checkout: everything in `events/schemas/`,
/// keyed `<source>/<DetailType>/v<N>.json`.
pub fn committed(root: &Path) -> Result<SchemaSet> {
    read_dir_set(&root.join(repo::paths::SCHEMAS_DIR))
}

/// Reads every `*.json` below `dir`, keyed by its path relative to `dir`.
pub fn read_dir_set(dir: &Path) -> Result<SchemaSet> {
    let mut set = SchemaSet::new();
    if !dir.exists() {
        return Ok(set);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let rel = path.strip_prefix(dir)?.to_string_lossy().replace('\\', "/");
                let text = std::fs::read_to_string(&path)?;
                let value = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not JSON", path.display()))?;
                set.insert(rel, value);
            }
        }
    }
    Ok(set)
}

/// What "before this change" means for the breaking-change check.
#[derive(Debug, Clone)]
pub enum Baseline {
    /// No baseline: only the committed files are checked against the types.
    None,
    /// A folder of schema files laid out by key (`<source>/<DetailType>/v<N>.json`).
    Dir(PathBuf),
    /// The schema files as committed at a git revision.
    Git { repo: PathBuf, rev: String },
}

impl Baseline {
    /// The merge base with `origin/main` when there is one (a pull request),
    /// else `HEAD` (a working tree with uncommitted edits), else none.
    pub fn auto(repo: &Path) -> Baseline {
        let git = |args: &[&str]| {
            repo::git::run(repo, args)
                .ok()
                .map(|out| out.trim().to_owned())
        };
        for candidate in [
            git(&["merge-base", "HEAD", "origin/main"]),
            git(&["rev-parse", "--verify", "--quiet", "HEAD"]),
        ]
        .into_iter()
        .flatten()
        {
            if !candidate.is_empty() {
                return Baseline::Git {
                    repo: repo.to_path_buf(),
                    rev: candidate,
                };
            }
        }
        Baseline::None
    }

    pub fn label(&self) -> String {
        match self {
            Baseline::None => "no baseline".into(),
            Baseline::Dir(dir) => dir.display().to_string(),
            Baseline::Git { rev, .. } => format!("git {}", &rev[..rev.len().min(12)]),
        }
    }

    pub fn load(&self) -> Result<SchemaSet> {
        match self {
            Baseline::None => Ok(SchemaSet::new()),
            Baseline::Dir(dir) => read_dir_set(dir),
            Baseline::Git { repo, rev } => {
                let run = |args: &[&str]| repo::git::run(repo, args);
                let listing = run(&[
                    &["ls-tree", "-r", "--name-only", rev, "--"][..],
                    repo::paths::SCHEMAS_EVER,
                ]
                .concat())?;
                let mut set = SchemaSet::new();
                for file in listing.lines().filter(|f| f.ends_with(".json")) {
                    let Some(key) = repo::paths::schema_key(file) else {
                        continue;
                    };
                    let text = run(&["show", &format!("{rev}:{file}")])?;
                    let value = serde_json::from_str(&text)
                        .with_context(|| format!("{file} at {rev} is not JSON"))?;
                    set.insert(key, value);
                }
                Ok(set)
            }
        }
    }
}

#[derive(Debug)]
pub enum Problem {
    /// The types define a version whose schema file is not committed.
    Missing { file: String },
    /// The committed file is not what the types generate.
    OutOfDate {
        file: String,
        differences: Vec<String>,
        breaking: Vec<Finding>,
    },
    /// A committed schema file that no type generates.
    Orphan { file: String },
    /// A version that the baseline had and the types no longer define.
    VersionRemoved { file: String },
    /// The types changed a version in a way that breaks its readers in the
    /// mode it declares (or the `--mode` given).
    Breaking {
        file: String,
        mode: Mode,
        changes: Vec<Finding>,
    },
    /// A generated document (AsyncAPI, catalog page) that is out of date.
    Stale { file: String },
    /// A schema the comparison cannot read (an unresolvable `$ref`, say).
    Unreadable { file: String, error: String },
    /// A version with no committed example payload.
    NoExample { dir: String },
}

#[derive(Debug)]
pub struct Report {
    pub baseline: String,
    pub policy: Policy,
    pub checked: usize,
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn breaking(&self) -> impl Iterator<Item = (&str, &Finding)> {
        self.problems.iter().flat_map(|p| {
            let (file, changes): (&str, &[Finding]) = match p {
                Problem::Breaking { file, changes, .. } => (file, changes),
                Problem::OutOfDate { file, breaking, .. } => (file, breaking),
                _ => ("", &[]),
            };
            changes.iter().map(move |c| (file, c))
        })
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for problem in &self.problems {
            match problem {
                Problem::Missing { file } => {
                    let _ = writeln!(
                        out,
                        "missing: {} (run `cargo xtask schemas generate`)",
                        shown(file)
                    );
                }
                Problem::OutOfDate {
                    file,
                    differences,
                    breaking,
                } => {
                    let _ = writeln!(
                        out,
                        "out of date: {} differs from what the types generate (run `cargo xtask schemas generate`)",
                        shown(file)
                    );
                    for change in breaking {
                        let _ = writeln!(out, "    file vs types: {change}");
                    }
                    for pointer in differences {
                        let _ = writeln!(out, "    differs at {pointer}");
                    }
                }
                Problem::Orphan { file } => {
                    let _ = writeln!(
                        out,
                        "orphan: {} is committed but no type in the catalog generates it",
                        shown(file)
                    );
                }
                Problem::VersionRemoved { file } => {
                    let _ = writeln!(
                        out,
                        "breaking: {file}: this version existed in the baseline ({}) and is gone; keep it in the catalog while anyone may receive it",
                        self.baseline
                    );
                }
                Problem::Breaking {
                    file,
                    mode,
                    changes,
                } => {
                    let key = file.trim_end_matches(".json").replace('/', " ");
                    let _ = writeln!(
                        out,
                        "breaking: {key} ({}, {}) changed incompatibly since {}; add a new version beside it instead:",
                        mode.as_str(),
                        self.policy.as_str(),
                        self.baseline
                    );
                    // Each line stands alone in a CI log: event, version, finding.
                    for change in changes {
                        let _ = writeln!(out, "    {key}: {change}");
                    }
                }
                Problem::Stale { file } => {
                    let _ = writeln!(
                        out,
                        "out of date: {file} is not what the contracts and the services' declarations generate (run `cargo xtask schemas generate`)"
                    );
                }
                Problem::Unreadable { file, error } => {
                    let _ = writeln!(out, "unreadable: {file}: {error}");
                }
                Problem::NoExample { dir } => {
                    let _ = writeln!(out, "no example: add at least one payload under {dir}/");
                }
            }
        }
        let _ = writeln!(
            out,
            "schemas: {} event versions checked against the types and {}; {} problem(s)",
            self.checked,
            self.baseline,
            self.problems.len()
        );
        out
    }
}

/// A schema's key as the file a person edits, where it has one.
fn shown(key: &str) -> String {
    schema_path(key).unwrap_or_else(|_| key.to_owned())
}

/// The compatibility mode a version declares (`contract!`), in the
/// engine's terms.
pub fn mode_of(c: events::Compatibility) -> Mode {
    match c {
        events::Compatibility::Backward => Mode::Backward,
        events::Compatibility::Forward => Mode::Forward,
        events::Compatibility::Full => Mode::Full,
    }
}

/// How versions are compared with the baseline: each version's declared
/// mode unless `mode` overrides it, under `policy`.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub mode: Option<Mode>,
    pub policy: Policy,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            mode: None,
            policy: Policy::Lenient,
        }
    }
}

/// Checks the schemas committed in the checkout at `schemas_root` against
/// the types, the types against `baseline`, and that every version has an
/// example in the checkout at `examples_root`.
pub fn check(schemas_root: &Path, examples_root: &Path, baseline: &Baseline) -> Result<Report> {
    check_with(schemas_root, examples_root, baseline, Rules::default())
}

pub fn check_with(
    schemas_root: &Path,
    examples_root: &Path,
    baseline: &Baseline,
    rules: Rules,
) -> Result<Report> {
    let specs = catalog();
    check_sets(
        &generated(),
        &committed(schemas_root)?,
        &baseline.load()?,
        baseline.label(),
        &specs,
        examples_root,
        rules,
    )
}

pub fn check_sets(
    generated: &SchemaSet,
    committed: &SchemaSet,
    baseline: &SchemaSet,
    baseline_label: String,
    specs: &[EventSpec],
    examples_root: &Path,
    rules: Rules,
) -> Result<Report> {
    let mut problems = Vec::new();
    for (file, schema) in generated {
        match committed.get(file) {
            None => problems.push(Problem::Missing { file: file.clone() }),
            Some(on_disk) if on_disk != schema => problems.push(Problem::OutOfDate {
                file: file.clone(),
                differences: differences(on_disk, schema),
                // What a reader of the committed file would miss.
                breaking: compat::compare(on_disk, schema, Mode::Full, Policy::Strict)
                    .unwrap_or_default(),
            }),
            Some(_) => {}
        }
    }
    for file in committed.keys().filter(|f| !generated.contains_key(*f)) {
        problems.push(Problem::Orphan { file: file.clone() });
    }
    for (file, before) in baseline {
        match generated.get(file) {
            None => problems.push(Problem::VersionRemoved { file: file.clone() }),
            Some(now) => {
                let declared = specs
                    .iter()
                    .find(|s| s.key.schema_file() == *file)
                    .map_or(Mode::Full, |s| mode_of(s.compatibility));
                let mode = rules.mode.unwrap_or(declared);
                match compat::compare(before, now, mode, rules.policy) {
                    Ok(changes) if changes.is_empty() => {}
                    Ok(changes) => problems.push(Problem::Breaking {
                        file: file.clone(),
                        mode,
                        changes,
                    }),
                    Err(err) => problems.push(Problem::Unreadable {
                        file: file.clone(),
                        error: err.to_string(),
                    }),
                }
            }
        }
    }
    for spec in specs {
        let dir = example_dir(spec)?;
        let has_example = std::fs::read_dir(examples_root.join(&dir))
            .map(|entries| {
                entries
                    .flatten()
                    .any(|e| e.path().extension().is_some_and(|x| x == "json"))
            })
            .unwrap_or(false);
        if !has_example {
            problems.push(Problem::NoExample { dir });
        }
    }
    Ok(Report {
        baseline: baseline_label,
        policy: rules.policy,
        checked: generated.len(),
        problems,
    })
}

/// JSON pointers where two documents differ, shallowest first, at most 20.
pub fn differences(a: &Value, b: &Value) -> Vec<String> {
    fn walk(a: &Value, b: &Value, at: String, out: &mut Vec<String>) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let keys: std::collections::BTreeSet<_> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    let child = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                    match (x.get(k), y.get(k)) {
                        (Some(p), Some(q)) => walk(p, q, child, out),
                        _ => out.push(child),
                    }
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    walk(p, q, format!("{at}/{i}"), out);
                }
            }
            _ if a == b => {}
            _ => out.push(if at.is_empty() { "/".into() } else { at }),
        }
    }
    let mut out = Vec::new();
    walk(a, b, String::new(), &mut out);
    out.truncate(20);
    out
}
