//! The layout, held by tests: the crate-to-crate arrows the workspace may
//! have (a new one fails here until this table changes, which makes it a
//! reviewed design change), no arrow from the product to the machinery, no
//! module cycle at any depth of any crate, and no crate holding more than a
//! quarter of the code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use repo::workspace::Workspace;

/// Every allowed arrow: a crate and the workspace crates it builds with
/// (normal and build dependencies; tests may use anything). Arrows point
/// down: services never depend on each other, `events` knows no service
/// and no SDK, `ops` works without the local cloud, the local cloud's
/// client never links the cloud, the compatibility engine knows no project
/// crate. Keep ARCHITECTURE.md's code map in step.
const ALLOWED: &[(&str, &[&str])] = &[
    ("compat", &[]),
    // EventBridge's pattern language, pure: ops routes and replays with
    // it; the contract tools judge consumers' rules with it.
    ("event-pattern", &[]),
    ("events", &[]),
    // Who publishes and consumes what, one file per team: typed on the
    // events alone. No service depends on it (a declaration rebuilds no
    // service); the tools that reason about the whole bus do.
    ("declarations", &["events"]),
    // The one list of services lives in `events`, whose crates need a
    // module per service; the tools read it through repo.
    ("repo", &["events"]),
    ("kit", &["events"]),
    // The endpoints file is the local cloud's process boundary; ops reads
    // it typed through the boundary crate alone, never the cloud.
    (
        "ops",
        &[
            "declarations",
            "devstack-api",
            "event-pattern",
            "kit",
            "repo",
        ],
    ),
    // The contract tools: schemas judged with the compatibility engine,
    // consumers' rules with the matcher ops routes with, the declarations
    // as every tool reads them.
    (
        "governance",
        &["compat", "declarations", "event-pattern", "events", "repo"],
    ),
    // A dispatcher over the contract tools. The test command reads the
    // tests' local clouds' telemetry records (typed, from the boundary
    // crate) to name the event edges no test exercised; `schemas diff`
    // calls the compatibility engine itself.
    (
        "xtask",
        &[
            "compat",
            "declarations",
            "devstack-api",
            "governance",
            "repo",
        ],
    ),
    ("devstack-api", &[]),
    // moto's server with its launch script: the local cloud's, never a
    // function's. kit gives it the one SDK configuration for an endpoint
    // and the stream record shape.
    ("devstack-emulator", &["kit"]),
    ("devstack-template", &["repo"]),
    // S3's event notification payloads, which moto does not send, come
    // from the emulator crate.
    (
        "devstack-lambda",
        &["devstack-api", "devstack-emulator", "kit"],
    ),
    ("devstack-gateway", &["devstack-lambda", "kit"]),
    // Step Functions on moto's interpreter; the third-party sender's
    // stand-in knows no project crate (it is someone else's product).
    // It marks the Invoke calls it forwards (the header, defined once in
    // the boundary crate), so an invocation's hop names Step Functions.
    ("devstack-sfn", &["devstack-api", "kit"]),
    ("devstack-sender", &[]),
    // An outside identity provider's stand-in: someone else's product too.
    ("devstack-idp", &[]),
    // CloudFront played locally: its origins are the caller's to read.
    ("devstack-cdn", &[]),
    // The console reads the telemetry records (typed, from the boundary
    // crate) and acts through the ops binary, never the cloud's state; it
    // reads an execution with the Step Functions piece's own parser.
    ("devstack-console", &["devstack-api", "devstack-sfn"]),
    // The judge of AWS calls: pure, on a policy evaluator and the SDK's
    // signer, knowing no project crate; the cloud hands it the policies.
    ("devstack-iam", &[]),
    // Each deploy tags its stack with the contract the service carries
    // (declarations::Carried), as the workflows' `sam deploy --tags` do;
    // it seeds the stacks' secrets as an operator does (`ops::secret_store`),
    // so that writing a secret is no function's code; the bus's matcher
    // is `event-pattern`'s, so the engine delivers as the checks judge.
    (
        "devstack-cloud",
        &[
            "declarations",
            "devstack-api",
            "devstack-cdn",
            "devstack-console",
            "devstack-emulator",
            "devstack-gateway",
            "devstack-iam",
            "devstack-idp",
            "devstack-lambda",
            "devstack-sender",
            "devstack-sfn",
            "devstack-template",
            "event-pattern",
            "kit",
            "ops",
            "repo",
        ],
    ),
    ("devstack-client", &["devstack-api", "kit", "ops", "repo"]),
    // What the system's tests and the local cloud's own share: a kept
    // cloud, clients of it, a browser; it reaches a team's account as
    // `ops` does. Only tests depend on it.
    (
        "devstack-testkit",
        &[
            "devstack-client",
            "devstack-cloud",
            "events",
            "kit",
            "ops",
            "repo",
        ],
    ),
    // `devstack executions` reads and renders a history with the Step
    // Functions piece's own parser; `devstack least-privilege` reports with
    // the judge's; `devstack engine` becomes the emulator crate's engine.
    (
        "devstack",
        &[
            "devstack-api",
            "devstack-client",
            "devstack-cloud",
            "devstack-emulator",
            "devstack-iam",
            "devstack-sfn",
            "repo",
        ],
    ),
    ("tests", &[]),
];

pub(crate) fn workspace() -> Workspace {
    Workspace::load(&repo::root()).expect("cargo metadata")
}

/// Each crate's workspace dependencies, by name.
fn arrows(ws: &Workspace) -> BTreeMap<String, BTreeSet<String>> {
    let name_of = |dir: &Path| {
        ws.packages
            .iter()
            .find(|p| p.dir == dir)
            .map(|p| p.name.clone())
            .expect("a path dependency is a workspace crate")
    };
    ws.packages
        .iter()
        .map(|p| {
            let deps = p.path_deps.iter().map(|d| name_of(d)).collect();
            (p.name.clone(), deps)
        })
        .collect()
}

/// What every service (`repo::SERVICES`) may build with: the contracts
/// and the shared plumbing, never another service.
const SERVICE_ARROWS: &[&str] = &["events", "kit"];

/// The arrows that are not in the table, and the crates it does not know.
fn unreviewed(actual: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let services = repo::SERVICES.iter().map(|s| (*s, SERVICE_ARROWS));
    let allowed: BTreeMap<&str, BTreeSet<&str>> = (ALLOWED.iter().copied())
        .chain(services)
        .map(|(c, deps)| (c, deps.iter().copied().collect()))
        .collect();
    let mut problems = Vec::new();
    for (krate, deps) in actual {
        let Some(ok) = allowed.get(krate.as_str()) else {
            problems.push(format!("{krate}: a crate the layout table does not list"));
            continue;
        };
        for dep in deps {
            if !ok.contains(dep.as_str()) {
                problems.push(format!(
                    "{krate} → {dep}: an arrow the layout table does not allow"
                ));
            }
        }
    }
    problems
}

/// The product a team copies: the services, their event types and
/// declared contracts, and the plumbing every function links. The other
/// crates are the machinery that builds, checks and plays it, which the
/// product never builds with, whatever the table above says.
const PRODUCT: &[&str] = &["declarations", "events", "kit"];

/// The arrows from a product crate (`PRODUCT` and every service) to a
/// crate outside the product.
fn into_machinery(arrows: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let product: BTreeSet<&str> = (PRODUCT.iter().copied())
        .chain(repo::SERVICES.iter().copied())
        .collect();
    arrows
        .iter()
        .filter(|(krate, _)| product.contains(krate.as_str()))
        .flat_map(|(krate, deps)| {
            deps.iter()
                .filter(|d| !product.contains(d.as_str()))
                .map(move |d| format!("{krate} → {d}: the product builds with the machinery"))
        })
        .collect()
}

#[test]
fn no_product_crate_builds_with_the_machinery() {
    assert_eq!(into_machinery(&arrows(&workspace())), Vec::<String>::new());
    let table = ALLOWED
        .iter()
        .map(|(krate, deps)| {
            (
                krate.to_string(),
                deps.iter().map(|d| d.to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(
        into_machinery(&table),
        Vec::<String>::new(),
        "the table allows it"
    );
}

#[test]
fn a_product_crate_that_builds_with_the_machinery_is_named() {
    let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
    let arrows = BTreeMap::from([
        ("kit".to_owned(), set(&["events", "devstack-api"])),
        ("users".to_owned(), set(&["kit", "repo"])),
        ("ops".to_owned(), set(&["kit", "repo"])),
    ]);
    assert_eq!(
        into_machinery(&arrows),
        [
            "kit → devstack-api: the product builds with the machinery",
            "users → repo: the product builds with the machinery",
        ]
    );
}

#[test]
fn every_crate_arrow_is_in_the_table() {
    let problems = unreviewed(&arrows(&workspace()));
    assert!(
        problems.is_empty(),
        "a new crate-to-crate arrow is a design change: add it to ALLOWED in tests/tests/all/layout.rs \
         and to ARCHITECTURE.md, with the reason\n{}",
        problems.join("\n")
    );
}

#[test]
fn a_new_arrow_is_refused_by_name() {
    let mut actual = arrows(&workspace());
    actual
        .get_mut("events")
        .expect("events is a crate")
        .insert("kit".into());
    actual
        .get_mut("campaigns")
        .expect("campaigns is a service")
        .insert("users".into());
    actual.insert("reports".into(), BTreeSet::new());
    assert_eq!(
        unreviewed(&actual),
        [
            "campaigns → users: an arrow the layout table does not allow",
            "events → kit: an arrow the layout table does not allow",
            "reports: a crate the layout table does not list",
        ]
    );
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

/// The module a file of `src/` is (`src/a.rs` and `src/a/mod.rs` are `a`,
/// `src/a/b.rs` is `a::b`, the crate root is empty); `None` for
/// `src/bin/`, whose binaries are crates of their own.
fn module_path(src: &Path, file: &Path) -> Option<Vec<String>> {
    let rel = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_str().map(str::to_owned))
        .collect::<Option<_>>()?;
    if parts.first().is_some_and(|p| p == "bin") {
        return None;
    }
    let last = parts.pop()?;
    match last.as_str() {
        "lib.rs" | "main.rs" if parts.is_empty() => {}
        "mod.rs" => {}
        other => parts.push(other.trim_end_matches(".rs").to_owned()),
    }
    Some(parts)
}

/// The crate root's modules compiled from a file outside `src/` but inside
/// the crate (`#[path = "…"] pub mod name;`), each with its module path.
fn modules_from_elsewhere(src: &Path) -> Vec<(PathBuf, Vec<String>)> {
    let Ok(root) = std::fs::read_to_string(src.join("lib.rs")) else {
        return Vec::new();
    };
    let lines: Vec<&str> = root.lines().collect();
    lines
        .windows(2)
        .filter_map(|pair| {
            let path = pair[0].strip_prefix("#[path = \"")?.strip_suffix("\"]")?;
            let name = pair[1]
                .trim_start_matches("pub ")
                .strip_prefix("mod ")?
                .strip_suffix(';')?;
            Some((src.join(path), vec![name.to_owned()]))
        })
        .collect()
}

/// The paths a file's code names (not its comments, nor its `#[cfg(test)]`
/// module), absolute: `crate::a::b`, `super::x` from the file's own module
/// (`module`), `self::x`, each `{a, b}` group opened one level.
fn named_paths(text: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for line in text.lines().take_while(|l| !l.starts_with("#[cfg(test)]")) {
        let code = line.split("//").next().unwrap_or_default();
        for (at, _) in code.match_indices("::") {
            let head: String = code[..at]
                .chars()
                .rev()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            // Only a path's first `::`: its head (the whole run of path
            // characters before it, so not `my_crate` nor `a::crate`) is
            // one of the three words.
            let mut base = match head.as_str() {
                "crate" => Vec::new(),
                "self" => module.to_vec(),
                "super" => module[..module.len().saturating_sub(1)].to_vec(),
                _ => continue,
            };
            let mut rest = &code[at + 2..];
            while let Some(r) = rest.strip_prefix("super::") {
                base.pop();
                rest = r;
            }
            out.extend(path_tails(rest).into_iter().map(|tail| {
                let mut p = base.clone();
                p.extend(tail);
                p
            }));
        }
    }
    out
}

/// `a::b::X` as `[a, b, X]`; `a::{b::X, c}` as `[a, b, X]` and `[a, c]`.
fn path_tails(rest: &str) -> Vec<Vec<String>> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut head = Vec::new();
    let mut at = rest;
    loop {
        if let Some(group) = at.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or_default();
            return inner
                .split(',')
                .map(|item| {
                    let mut p = head.clone();
                    p.extend(item.trim().split("::").map(ident).filter(|s| !s.is_empty()));
                    p
                })
                .collect();
        }
        let name = ident(at);
        if name.is_empty() {
            break;
        }
        at = &at[name.len()..];
        head.push(name);
        match at.strip_prefix("::") {
            Some(r) => at = r,
            None => break,
        }
    }
    vec![head]
}

/// One crate's module graphs, one per parent module: its children, and
/// from each the siblings that anything inside it names (a name inside a
/// sibling's own modules counts as that sibling).
fn module_graphs(src: &Path) -> BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> {
    let mut files: Vec<(PathBuf, Vec<String>)> = sources(src)
        .into_iter()
        .filter_map(|f| module_path(src, &f).map(|m| (f, m)))
        .collect();
    files.extend(modules_from_elsewhere(src));
    let modules: BTreeSet<&[String]> = files.iter().map(|(_, m)| m.as_slice()).collect();
    let mut graphs: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (file, from) in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for named in named_paths(&text, from) {
            // The module named: the longest prefix that is one.
            let Some(to) = (1..=named.len())
                .rev()
                .map(|n| &named[..n])
                .find(|p| modules.contains(p))
            else {
                continue;
            };
            // Where the two part: siblings under a common parent.
            let Some(i) = (0..from.len().min(to.len())).find(|&i| from[i] != to[i]) else {
                continue;
            };
            graphs
                .entry(from[..i].to_vec())
                .or_default()
                .entry(from[i].clone())
                .or_default()
                .insert(to[i].clone());
        }
    }
    graphs
}

/// The cycles of a graph: its strongly connected components of more than
/// one module (Tarjan's algorithm).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.found
}

#[test]
fn no_crate_has_a_module_cycle() {
    let ws = workspace();
    let mut problems = Vec::new();
    for p in &ws.packages {
        let src = ws.root.join(&p.dir).join("src");
        for (parent, graph) in module_graphs(&src) {
            for cycle in cycles(&graph) {
                let at = parent.join("::");
                problems.push(format!("{}: {at}::{{{}}}", p.name, cycle.join(", ")));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "module cycles:\n{}",
        problems.join("\n")
    );
}

#[test]
fn a_module_cycle_is_found_at_any_depth_and_comments_do_not_count() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("c")).unwrap();
    std::fs::create_dir_all(src.join("e")).unwrap();
    std::fs::write(
        src.join("lib.rs"),
        "pub mod a; pub mod b; pub mod c; pub mod d; pub mod e;",
    )
    .unwrap();
    std::fs::write(src.join("a.rs"), "use crate::b::X;\n").unwrap();
    std::fs::write(src.join("b.rs"), "pub fn f() { super::c::g() }\n").unwrap();
    std::fs::write(src.join("c/mod.rs"), "mod inner;\n").unwrap();
    // `super` in c/inner.rs is c; its `super::super` is the root.
    std::fs::write(src.join("c/inner.rs"), "use super::super::{a::Y, d};\n").unwrap();
    // A doc link is no arrow, nor is a test module's path.
    std::fs::write(
        src.join("d.rs"),
        "//! See [`crate::a`].\nfn h() {}\n#[cfg(test)]\nmod tests { use crate::e::x::Z; }\n",
    )
    .unwrap();
    // Two modules of e that name each other: a cycle below the top.
    std::fs::write(src.join("e/mod.rs"), "mod x; mod y; pub use self::x::Z;\n").unwrap();
    std::fs::write(src.join("e/x.rs"), "use super::y::W; pub struct Z;\n").unwrap();
    std::fs::write(src.join("e/y.rs"), "pub struct W(crate::e::x::Z);\n").unwrap();
    let graphs = module_graphs(src);
    assert_eq!(cycles(&graphs[&vec![]]), [["a", "b", "c"]]);
    assert_eq!(graphs[&vec![]].get("d"), None);
    assert_eq!(cycles(&graphs[&vec!["e".to_owned()]]), [["x", "y"]]);
}

#[test]
fn a_module_compiled_from_another_folder_is_in_the_graph() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(dir.path().join("team")).unwrap();
    std::fs::write(
        src.join("lib.rs"),
        "#[path = \"../team/g.rs\"]\npub mod g;\npub mod h;\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("team/g.rs"), "use crate::h::X;\n").unwrap();
    std::fs::write(src.join("h.rs"), "pub struct X(crate::g::Y);\n").unwrap();
    assert_eq!(cycles(&module_graphs(&src)[&vec![]]), [["g", "h"]]);
}

/// Lines of a crate's `src/`.
fn src_lines(dir: &Path) -> usize {
    sources(&dir.join("src"))
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap().lines().count())
        .sum()
}

#[test]
fn no_crate_holds_more_than_a_quarter_of_the_code() {
    let ws = workspace();
    let lines: BTreeMap<&str, usize> = ws
        .packages
        .iter()
        .map(|p| (p.name.as_str(), src_lines(&ws.root.join(&p.dir))))
        .collect();
    let total: usize = lines.values().sum();
    let over: Vec<String> = lines
        .iter()
        .filter(|(_, n)| **n * 4 > total)
        .map(|(c, n)| format!("{c}: {n} of {total} lines"))
        .collect();
    assert!(over.is_empty(), "split these: {}", over.join("; "));
}

/// How a path into the checkout starts: the root's folders, the docs, the
/// generated workflows. (`tests/` is left out: every crate has one.)
pub(crate) const REPO_PATHS: &[&str] = &[
    "services/",
    "events/",
    "infra/",
    "kit/",
    "web/",
    "tooling/",
    "docs/",
    ".github/",
];

/// The lines of a file's code (not its comments, nor its `#[cfg(test)]`
/// module) that spell a path into the checkout, in a string literal or a
/// raw string's text, as `file:line`.
fn spelled_paths(file: &str, text: &str) -> Vec<String> {
    // `/kit/x` (anchored, as CODEOWNERS writes it) counts; `a/kit/x` not.
    let starts_a_path = |line: &str, at: usize| {
        let before = line[..at].strip_suffix('/').unwrap_or(&line[..at]);
        !before
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || "_-./".contains(c))
    };
    // A folder's bare name counts where it is no common word: "events",
    // "kit" and "web" are also a bus's, a crate's and a URL's.
    let bare = ["\"services\"", "\"infra\"", "\"tooling\"", "\"docs\""];
    let spells = |line: &str| {
        bare.iter().any(|b| line.contains(b))
            || (REPO_PATHS.iter())
                .any(|p| line.match_indices(p).any(|(at, _)| starts_a_path(line, at)))
    };
    text.lines()
        .take_while(|l| !l.starts_with("#[cfg(test)]"))
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//") && spells(l))
        .map(|(n, _)| format!("{file}:{}", n + 1))
        .collect()
}

#[test]
fn only_repo_spells_where_things_are() {
    let ws = workspace();
    let mut spelled = Vec::new();
    for p in ws.packages.iter().filter(|p| p.name != "repo") {
        for file in sources(&ws.root.join(&p.dir).join("src")) {
            let rel = file
                .strip_prefix(&ws.root)
                .unwrap_or(&file)
                .display()
                .to_string();
            spelled.extend(spelled_paths(
                &rel,
                &std::fs::read_to_string(&file).unwrap(),
            ));
        }
    }
    assert!(
        spelled.is_empty(),
        "ask repo for these paths (a function or constant there), so a move changes one crate: {spelled:#?}"
    );
}

#[test]
fn a_spelled_path_is_found_outside_comments_and_tests() {
    let text = "// see \"kit/x\"\nlet a = root.join(\"services/users\");\nlet b = \"tooling\";\nlet c = \"kits/\";\n  run: cd tooling/node\nlet d = \"a/docs/b\";\nlet e = \"/.github/x\";\n#[cfg(test)]\nmod tests { \"docs/a\" }\n";
    assert_eq!(
        spelled_paths("f.rs", text),
        ["f.rs:2", "f.rs:3", "f.rs:5", "f.rs:7"]
    );
}

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

/// The root the design names: each folder at the top, and what `repo`
/// says of each where it says anything.
const DESIGN_ROOT: &[&str] = &[
    "services",
    "events",
    "events/schemas",
    "events/examples",
    "infra",
    "tests",
    "kit",
    "web",
    "tooling",
    "docs",
];

/// Where each crate may live: a service alone in its folder under
/// `services/`, the product's shared crates at the root's named folders,
/// and the machinery under `tooling/`. `dirs` is each crate's folder
/// relative to the root, by name.
fn misplaced(root_dirs: &BTreeSet<String>, crates: &BTreeMap<String, String>) -> Vec<String> {
    let mut out: Vec<String> = (DESIGN_ROOT.iter())
        .filter(|d| !root_dirs.contains(**d))
        .map(|d| format!("{d}/: a folder the design names is not at the root"))
        .collect();
    let product_dirs = ["events", "events/declarations", "kit", "tests"];
    for (name, dir) in crates {
        let service = dir.strip_prefix("services/").filter(|s| !s.contains('/'));
        let placed = match service {
            Some(s) => s == name,
            None => product_dirs.contains(&dir.as_str()) || dir.starts_with("tooling/"),
        };
        if !placed {
            out.push(format!(
                "{name} in {dir}/: a crate outside the design's folders (services/<name>/, events/, kit/, tests/, tooling/)"
            ));
        }
    }
    out
}

#[test]
fn the_root_holds_the_folders_the_design_names() {
    let ws = workspace();
    let root_dirs = DESIGN_ROOT
        .iter()
        .filter(|d| ws.root.join(d).is_dir())
        .map(|d| d.to_string())
        .collect();
    let crates = (ws.packages.iter())
        .map(|p| (p.name.clone(), p.dir.display().to_string()))
        .collect();
    assert_eq!(misplaced(&root_dirs, &crates), Vec::<String>::new());
    let paths = [
        (repo::paths::SERVICES_DIR, "services"),
        (repo::paths::EVENTS_DIR, "events"),
        (repo::paths::SCHEMAS_DIR, "events/schemas"),
        (repo::paths::EXAMPLES_DIR, "events/examples"),
        (repo::paths::INFRA_DIR, "infra"),
        (repo::paths::WEB_DIR, "web"),
        (repo::paths::TOOLING, "tooling"),
    ];
    for (said, design) in paths {
        assert_eq!(said, design, "repo::paths names a folder the design fixes");
    }
    for service in repo::SERVICES {
        let dir = repo::service_dir_in(&ws.root, service);
        assert!(dir.join("template.yaml").is_file(), "{}", dir.display());
        assert!(
            ws.root.join(repo::paths::schemas_dir(service)).is_dir(),
            "{service}: its schemas"
        );
    }
}

#[test]
fn a_folder_or_crate_that_leaves_the_root_is_named() {
    let root_dirs = ["product", "events", "events/schemas", "tooling"]
        .iter()
        .map(|d| d.to_string())
        .collect();
    let crates = BTreeMap::from([
        ("users".to_owned(), "product/services/users".to_owned()),
        ("todos".to_owned(), "services/todos".to_owned()),
        ("helper".to_owned(), "services/todos/helper".to_owned()),
        ("kit".to_owned(), "kit".to_owned()),
        ("ops".to_owned(), "tooling/ops".to_owned()),
    ]);
    let found = misplaced(&root_dirs, &crates);
    for expected in [
        "services/: a folder the design names is not at the root",
        "events/examples/: a folder the design names is not at the root",
        "infra/: a folder the design names is not at the root",
        "users in product/services/users/: a crate outside",
        "helper in services/todos/helper/: a crate outside",
    ] {
        assert!(
            found.iter().any(|f| f.starts_with(expected)),
            "{expected}: {found:#?}"
        );
    }
    assert!(
        !found
            .iter()
            .any(|f| f.starts_with("todos ") || f.starts_with("ops "))
    );
}

/// The files a source file pulls in from elsewhere (`#[path = "…"]`,
/// `include_str!`, `include_bytes!`, `include!`), resolved from its folder.
fn pulled_in(file: &Path, text: &str) -> Vec<PathBuf> {
    let code: String = (text.lines())
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join("");
    let mut out = Vec::new();
    for opener in [
        "#[path = \"",
        "include_str!(\"",
        "include_bytes!(\"",
        "include!(\"",
    ] {
        for (at, _) in code.match_indices(opener) {
            let rest = &code[at + opener.len()..];
            if let Some(end) = rest.find('"') {
                out.push(normalised(&file.parent().unwrap().join(&rest[..end])));
            }
        }
    }
    out
}

/// `path` without its `.` and `..` parts.
fn normalised(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Each file a crate compiles from another crate's folder, as
/// `crate: file`: the crate that owns a file is the one that compiles it
/// by its place ([`Workspace::compilers`], the deepest folder holding it).
fn compiled_elsewhere(ws: &Workspace) -> Vec<String> {
    let owner = |file: &Path| {
        let relative = file.strip_prefix(&ws.root).unwrap_or(file);
        ws.compilers(relative).first().map(|p| p.name.clone())
    };
    let mut out = Vec::new();
    for p in &ws.packages {
        let owns = |file: &Path| owner(file).as_ref() == Some(&p.name);
        for file in sources(&ws.root.join(&p.dir))
            .into_iter()
            .filter(|f| owns(f))
        {
            let text = std::fs::read_to_string(&file).unwrap();
            for pulled in pulled_in(&file, &text) {
                if !owns(&pulled) {
                    let shown = pulled.strip_prefix(&ws.root).unwrap_or(&pulled);
                    out.push(format!("{}: {}", p.name, shown.display()));
                }
            }
        }
    }
    out
}

#[test]
fn no_crate_compiles_a_file_from_another_crates_folder() {
    assert_eq!(
        compiled_elsewhere(&workspace()),
        Vec::<String>::new(),
        "a file belongs to the crate whose folder holds it: move it there, or depend on that crate"
    );
}

#[test]
fn a_file_compiled_from_a_services_folder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "events/src/lib.rs",
        "#[path = \"../../services/todos/contract/events.rs\"]\npub mod todos;\nconst E: &str =\n    include_str!(\n        \"../examples/e.json\"\n    );\n",
    );
    write("events/examples/e.json", "{}");
    write(
        "events/declarations/src/lib.rs",
        "const X: &str = include_str!(\"../../src/lib.rs\");\n// include_str!(\"../../../kit/a.rs\")\n",
    );
    write("services/todos/contract/events.rs", "");
    write("services/todos/src/lib.rs", "");
    let package = |name: &str, dir: &str| repo::workspace::Package {
        name: name.into(),
        dir: dir.into(),
        path_deps: Vec::new(),
    };
    let ws = Workspace {
        root: root.to_path_buf(),
        target_dir: root.join("target"),
        packages: vec![
            package("events", "events"),
            package("declarations", "events/declarations"),
            package("todos", "services/todos"),
        ],
    };
    assert_eq!(
        compiled_elsewhere(&ws),
        [
            "events: services/todos/contract/events.rs",
            "declarations: events/src/lib.rs",
        ]
    );
}

/// `cargo xtask test <service>` takes the tests of this binary that its
/// filters match (`xtask::team_loop`): each must still name one, or a
/// renamed module silently leaves a team's run without its tests.
#[test]
fn each_teams_filters_name_a_test() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--list", "--format", "terse"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = (listed.lines())
        .filter_map(|l| l.strip_suffix(": test"))
        .collect();
    assert!(names.len() > 50, "{listed}");
    let mut unmatched = Vec::new();
    for service in repo::SERVICES {
        for filter in xtask::team_loop::system_tests(service) {
            if !names.iter().any(|n| n.contains(&filter)) {
                unmatched.push(format!("{service}: {filter}"));
            }
        }
    }
    assert!(unmatched.is_empty(), "no test matches: {unmatched:?}");
}
