//! Where things are: only `repo` spells a path into the checkout, and
//! no crate compiles a file from another crate's folder.

use super::*;

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
    outside_tests(text)
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
