//! The docs stay true: every `cargo xtask …`, `devstack …` and `ops …`
//! command that README.md or a page of `docs/` shows names subcommands and
//! flags that the CLI's own clap definition has. A renamed flag fails here,
//! naming the page and line that still shows the old one.

use std::path::{Path, PathBuf};

use clap::CommandFactory;

/// The three command lines the pages show.
#[derive(Clone, Copy)]
enum Tool {
    Xtask,
    Devstack,
    Ops,
}

impl Tool {
    fn command(self) -> clap::Command {
        let mut c = match self {
            Tool::Xtask => xtask::cli::Cli::command(),
            Tool::Devstack => devstack::cli::Cli::command(),
            Tool::Ops => ops::cli::Cli::command(),
        };
        // Global flags are copied into every subcommand.
        c.build();
        c
    }
}

/// How a page spells each command line, longest first so that `cargo
/// devstack`'s own words are not read twice (`.cargo/config.toml`'s
/// aliases).
const SPELLINGS: &[(&str, Tool)] = &[
    ("cargo devstack", Tool::Devstack),
    ("cargo ops", Tool::Ops),
    ("cargo xtask", Tool::Xtask),
    ("devstack", Tool::Devstack),
    ("ops", Tool::Ops),
];

/// `cargo xtask X -- ARGS` hands ARGS to `devstack X`.
const FORWARDED: &[&str] = &["up", "load", "bench"];

/// Code on a page: each fenced line, and each inline span (which may wrap
/// onto the next line), with the line it starts on.
fn code(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fenced = false;
    let mut prose: Vec<(usize, &str)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            out.push((i + 1, line.to_owned()));
        } else {
            prose.push((i + 1, line));
        }
    }
    // Spans are read across the prose's lines, joined with spaces.
    let mut open: Option<(usize, String)> = None;
    for (n, line) in prose {
        for (k, part) in line.split('`').enumerate() {
            if k > 0 {
                open = match open.take() {
                    Some(span) => {
                        out.push(span);
                        None
                    }
                    None => Some((n, String::new())),
                };
            }
            if let Some((_, span)) = open.as_mut() {
                span.push_str(part);
            }
        }
        if let Some((_, span)) = open.as_mut() {
            if line.trim().is_empty() {
                open = None; // a paragraph ends an unclosed span
            } else {
                span.push(' ');
            }
        }
    }
    out
}

/// Each command a fragment of code shows: the tool and the words after
/// its spelling, up to the shell's next operator.
fn commands(fragment: &str) -> Vec<(Tool, Vec<String>)> {
    let mut out = Vec::new();
    let mut rest = fragment;
    // The earliest spelling wins; at one place, the longest (listed first,
    // and `min_by_key` keeps the first of equals).
    while let Some((at, spelling, tool)) = SPELLINGS
        .iter()
        .filter_map(|&(s, t)| find_word(rest, s).map(|at| (at, s, t)))
        .min_by_key(|&(at, _, _)| at)
    {
        let after = &rest[at + spelling.len()..];
        let (words, used) = words(after);
        out.push((tool, words));
        rest = &after[used..];
    }
    out
}

/// Where `word` starts in `text` as a word of its own (not `devstack-api`
/// nor `tooling/devstack/cli`).
fn find_word(text: &str, word: &str) -> Option<usize> {
    text.match_indices(word).map(|(at, _)| at).find(|&at| {
        let before = text[..at].chars().last();
        let after = text[at + word.len()..].chars().next();
        before.is_none_or(|c| c.is_whitespace() || "($`".contains(c))
            && after.is_none_or(char::is_whitespace)
    })
}

/// The words of a command up to a shell operator, and how much of the text
/// they took.
fn words(text: &str) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut end = 0;
    for (at, word) in text
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
    {
        end = at + word.len();
        if is_operator(word) {
            end = at;
            break;
        }
        let closes = word.trim_end_matches(['"', '\'']).ends_with(')');
        let word = word.trim_matches(|c| "[]()\"'".contains(c));
        if !word.is_empty() && word != "..." && word != "…" {
            out.push(word.to_owned());
        }
        if closes {
            break;
        }
    }
    (out, end)
}

/// A shell operator or comment: the command's words end before it. A
/// word in angle brackets is a placeholder, not a redirection.
fn is_operator(word: &str) -> bool {
    word == "<"
        || word.starts_with("2>")
        || ["#", "|", ">", ";", "&"]
            .iter()
            .any(|op| word.starts_with(op))
}

/// What is wrong with one command as clap defines it; `None` if nothing.
fn judge(tool: Tool, words: &[String]) -> Option<String> {
    let mut path = vec![tool_name(tool).to_owned()];
    let mut cmd = tool.command();
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        if word == "--" {
            let forwarded = matches!(tool, Tool::Xtask)
                && path.len() == 2
                && FORWARDED.contains(&path[1].as_str());
            if !forwarded {
                return None;
            }
            let name = path[1].clone();
            let Some(sub) = Tool::Devstack.command().find_subcommand(&name).cloned() else {
                return Some(format!("`devstack` has no subcommand {name} to forward to"));
            };
            cmd = sub;
            path = vec!["devstack".into(), name];
            continue;
        }
        if let Some(flag) = word.strip_prefix('-').filter(|f| !f.is_empty()) {
            let (name, inline) = match flag.split_once('=') {
                Some((n, _)) => (n, true),
                None => (flag, false),
            };
            let arg = match name.strip_prefix('-') {
                Some(long) => cmd.get_arguments().find(|a| {
                    a.get_long() == Some(long)
                        || a.get_all_aliases().is_some_and(|al| al.contains(&long))
                }),
                None => cmd
                    .get_arguments()
                    .find(|a| a.get_short().map(String::from).as_deref() == Some(name)),
            };
            let builtin = ["--help", "-h", "--version", "-V"].contains(&word.as_str());
            let Some(arg) = arg else {
                if builtin {
                    continue;
                }
                return Some(format!("`{}` has no flag {word}", path.join(" ")));
            };
            if arg.get_action().takes_values() && !inline {
                i += 1; // its value
            }
            continue;
        }
        if cmd.has_subcommands() {
            let Some(sub) = cmd.find_subcommand(word).cloned() else {
                return Some(format!("`{}` has no subcommand {word}", path.join(" ")));
            };
            path.push(sub.get_name().to_owned());
            cmd = sub;
        }
        // Otherwise a positional argument's value.
    }
    None
}

fn tool_name(tool: Tool) -> &'static str {
    match tool {
        Tool::Xtask => "cargo xtask",
        Tool::Devstack => "devstack",
        Tool::Ops => "ops",
    }
}

/// Every command a page shows that its CLI does not have, as `page:line:
/// problem`.
fn problems(page: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (line, fragment) in code(text) {
        for (tool, words) in commands(&fragment) {
            if let Some(problem) = judge(tool, &words) {
                out.push(format!("{page}:{line}: {problem}"));
            }
        }
    }
    out
}

/// README.md and every page of docs/.
fn pages(root: &Path) -> Vec<(String, String)> {
    let mut files = vec![root.join("README.md")];
    // The pages, and the catalog's page of each team's events.
    let dirs = [root.join("docs"), root.join(repo::paths::CATALOG_TEAMS_DIR)];
    let mut docs: Vec<_> = (dirs.iter())
        .flat_map(|dir| std::fs::read_dir(dir).unwrap().flatten())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
        .into_iter()
        .map(|f| {
            let page = f.strip_prefix(root).unwrap().display().to_string();
            (page, std::fs::read_to_string(&f).unwrap())
        })
        .collect()
}

#[test]
fn every_command_the_docs_show_exists() {
    let root = repo::root();
    let pages = pages(&root);
    let shown: usize = pages
        .iter()
        .map(|(_, text)| {
            code(text)
                .iter()
                .map(|(_, f)| commands(f).len())
                .sum::<usize>()
        })
        .sum();
    // A reader that found nothing would pass anything.
    assert!(shown > 50, "only {shown} commands found in the docs");
    let problems: Vec<String> = pages
        .iter()
        .flat_map(|(page, text)| problems(page, text))
        .collect();
    assert!(
        problems.is_empty(),
        "the docs show commands the CLIs do not have:\n{}",
        problems.join("\n")
    );
}

/// The README is the first page anyone reads: what the system is, its two
/// commands, its folders, and links to the pages that say how.
const README_LINES: usize = 150;

#[test]
fn the_readme_stays_short() {
    let lines = std::fs::read_to_string(repo::root().join("README.md"))
        .unwrap()
        .lines()
        .count();
    assert!(
        lines <= README_LINES,
        "README.md has {lines} lines, over {README_LINES}: move the detail to a page of docs/"
    );
}

/// The map names only what rarely changes: bird's-eye view, code map,
/// invariants, where to change what.
const ARCHITECTURE_LINES: usize = 300;

#[test]
fn the_architecture_stays_a_map() {
    let lines = std::fs::read_to_string(repo::root().join("ARCHITECTURE.md"))
        .unwrap()
        .lines()
        .count();
    assert!(
        lines <= ARCHITECTURE_LINES,
        "ARCHITECTURE.md has {lines} lines, over {ARCHITECTURE_LINES}: move figures and details to the docs page that uses them"
    );
}

#[test]
fn a_made_up_flag_or_subcommand_is_named_with_its_line() {
    let page = "# A page\n\
        ```sh\n\
        cargo xtask schemas check --base origin/main   # fine\n\
        cargo xtask up -- --no-such-flag\n\
        ```\n\
        Then `ops dlq replay todos --to bus --dry-run` and\n\
        `devstack load --users 5\n--made-up 3`, `ops dlq\nrewind todos`.\n\
        TOKEN=$(cargo devstack token --email a@b.c) is not code.\n";
    assert_eq!(
        problems("page.md", page),
        [
            "page.md:4: `devstack up` has no flag --no-such-flag",
            "page.md:7: `devstack load` has no flag --made-up",
            "page.md:8: `ops dlq` has no subcommand rewind",
        ]
    );
}

#[test]
fn shell_operators_values_and_other_words_end_or_skip_nothing_real() {
    let line = "TOKEN=$(cargo devstack token --email ada@example.com) \
        && devstack token --email x >/dev/null # then ops dlq list";
    let found: Vec<Vec<String>> = commands(line).into_iter().map(|(_, w)| w).collect();
    assert_eq!(
        found,
        [
            vec!["token", "--email", "ada@example.com"],
            vec!["token", "--email", "x"],
            vec!["dlq", "list"],
        ]
    );
    // Names that merely start like a command are not one.
    assert!(commands("devstack-api, tooling/devstack/cli/ and opsworks").is_empty());
}

/// Where a path into the checkout starts, as the pages write one: the
/// folders only `repo` may spell in code, and `tests/`.
fn root_folders() -> impl Iterator<Item = &'static str> {
    (crate::layout::REPO_PATHS.iter().copied()).chain(["tests/"])
}

/// Parts of a path the build or a tool makes, which no checkout holds.
const MADE_BY_A_BUILD: &[&str] = &[".aws-sam", "dist", "node_modules", ".venv", "target"];

/// Each path into the checkout a page names (in code or as a link) that is
/// not there, as `page:line: path`. A path with a placeholder (`<service>`,
/// `{{service}}`, `*`, `…`) names a shape, not a file, and is skipped.
fn missing_paths(root: &Path, page: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let (line, targets) = link_targets(line);
        // Each path as the page shows it, and where it leads from the root.
        let mut named: Vec<(String, Option<PathBuf>)> = (targets.into_iter())
            .map(|target| {
                let path = resolved(page, &target);
                (target, path)
            })
            .collect();
        let words: Vec<&str> = line.split(|c: char| "`()[]\"' ,;".contains(c)).collect();
        // `--features kit/otlp` names a crate's feature, not a folder.
        let candidates = (words.iter().enumerate())
            .filter(|(i, _)| *i == 0 || !["--features", "-F"].contains(&words[i - 1]))
            .map(|(_, w)| w.trim_end_matches([':', '.']))
            .map(|w| w.split('#').next().unwrap_or_default())
            .filter(|w| root_folders().any(|f| w.starts_with(f)))
            .filter(|w| !is_placeholder(w) && !w.contains("..."))
            .map(|w| w.split(':').next().unwrap_or_default());
        named.extend(candidates.map(|p| (p.to_owned(), Some(PathBuf::from(p)))));
        for (shown, path) in named {
            let made = shown.split('/').any(|part| MADE_BY_A_BUILD.contains(&part));
            if !made && !path.is_some_and(|p| root.join(p).exists()) {
                out.push(format!("{page}:{}: {shown}", n + 1));
            }
        }
    }
    out
}

/// A path with a placeholder (`<service>`, `{{service}}`, `*`, `…`, `$x`)
/// names a shape, not a file.
fn is_placeholder(path: &str) -> bool {
    path.contains(['<', '{', '*', '…', '$'])
}

/// A line without its Markdown links' targets, and those targets that
/// name a file of the checkout (not a web address, nor an anchor alone),
/// each without its anchor.
fn link_targets(line: &str) -> (String, Vec<String>) {
    let mut rest = line;
    let mut kept = String::new();
    let mut targets = Vec::new();
    while let Some(at) = rest.find("](") {
        kept.push_str(&rest[..at + 2]);
        let after = &rest[at + 2..];
        let end = after.find(')').unwrap_or(after.len());
        let target = after[..end].split('#').next().unwrap_or_default();
        if !target.is_empty() && !target.contains("://") && !is_placeholder(target) {
            targets.push(target.to_owned());
        }
        rest = &after[end..];
    }
    kept.push_str(rest);
    (kept, targets)
}

/// Where a link on `page` leads, from the root: from the page's folder,
/// each `..` a folder up; `None` above the root.
fn resolved(page: &str, target: &str) -> Option<PathBuf> {
    let mut parts: Vec<&str> = page.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            _ => parts.push(part),
        }
    }
    Some(parts.iter().collect())
}

/// Every page but the history, which records what was, where it was then.
#[test]
fn every_path_the_docs_name_exists() {
    let root = repo::root();
    let mut pages = pages(&root);
    pages.push((
        "ARCHITECTURE.md".into(),
        std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap(),
    ));
    let missing: Vec<String> = pages
        .iter()
        .filter(|(page, _)| page != "docs/history.md")
        .flat_map(|(page, text)| missing_paths(&root, page, text))
        .collect();
    assert!(
        missing.is_empty(),
        "the docs name paths that are not in the checkout:\n{}",
        missing.join("\n")
    );
}

#[test]
fn a_path_that_moved_is_named_with_its_line() {
    let root = repo::root();
    let page = "See `kit/src/lib.rs` and [the stack](infra/template.yaml).\n\
                The old `product/kit/src/lib.rs`, `services/<service>/template.yaml`,\n\
                then `kit/src/gone.rs:12` and (tooling/nowhere/) and `target/debug/x`.\n\
                A build with `--features kit/otlp`.\n";
    assert_eq!(
        missing_paths(&root, "p.md", page),
        ["p.md:3: kit/src/gone.rs", "p.md:3: tooling/nowhere/"]
    );
    // A link leads from its page's folder: `../` up, a bare name beside it.
    let page = "[up](../kit/src/lib.rs), [beside](testing.md#x), [web](https://x.y/z),\n\
                [gone](../kit/src/gone.rs), [from the root](kit/src/lib.rs), [too far](../../x).\n";
    assert_eq!(
        missing_paths(&root, "docs/p.md", page),
        [
            "docs/p.md:2: ../kit/src/gone.rs",
            "docs/p.md:2: kit/src/lib.rs",
            "docs/p.md:2: ../../x"
        ]
    );
}

/// The most lines a page of docs/ holds: past it, a page answers more
/// than its first line promises.
const PAGE_LINES: usize = 600;

#[test]
fn no_page_grows_past_six_hundred_lines() {
    let long: Vec<String> = (pages(&repo::root()).iter())
        .filter_map(|(page, text)| {
            crate::file_sizes::beyond(page, text.lines().count(), PAGE_LINES)
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these by what each part answers: {long:?}"
    );
    assert!(crate::file_sizes::beyond("docs/x.md", 601, PAGE_LINES).is_some());
    assert!(crate::file_sizes::beyond("docs/x.md", 600, PAGE_LINES).is_none());
}
