//! Inside a crate: no module cycle at any depth, and no crate holding
//! more than a quarter of the code.

use super::*;

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
    for line in outside_tests(text) {
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
