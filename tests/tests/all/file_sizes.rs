//! Every room small: a source file holds at most 600 lines outside its
//! `#[cfg(test)]` module, a test file at most 1,000. Past that, a file
//! holds several subjects and splits along its seams. The pages' cap
//! (`docs.rs`) is counted the same way.

use crate::layout::{outside_tests, sources, workspace};

/// The most lines a source file may hold outside its test module.
const MAX_SOURCE_LINES: usize = 600;
/// The most lines a test file (under a crate's `tests/`, or a `tests.rs`
/// module) may hold.
const MAX_TEST_LINES: usize = 1000;

fn is_test_file(path: &str) -> bool {
    path.contains("/tests/") || path.starts_with("tests/") || path.ends_with("/tests.rs")
}

/// A file's lines as its cap counts them, and its cap.
fn measured(path: &str, text: &str) -> (usize, usize) {
    match is_test_file(path) {
        true => (text.lines().count(), MAX_TEST_LINES),
        false => (outside_tests(text).count(), MAX_SOURCE_LINES),
    }
}

/// Why the file at `path` (from the root) holding `text` is too big, if it
/// is.
fn too_big(path: &str, text: &str) -> Option<String> {
    let (lines, cap) = measured(path, text);
    beyond(path, lines, cap)
}

/// Why `path`, holding `lines` against `cap`, is too big, if it is.
pub(crate) fn beyond(path: &str, lines: usize, cap: usize) -> Option<String> {
    (lines > cap).then(|| format!("{path}: {lines} lines (at most {cap})"))
}

/// Each crate's source and test files, with their paths from the root.
fn every_file() -> Vec<(String, String)> {
    let ws = workspace();
    let mut files = Vec::new();
    for p in &ws.packages {
        let dir = ws.root.join(&p.dir);
        for file in sources(&dir.join("src"))
            .into_iter()
            .chain(sources(&dir.join("tests")))
        {
            let rel = file
                .strip_prefix(&ws.root)
                .unwrap_or(&file)
                .display()
                .to_string();
            files.push((rel, std::fs::read_to_string(&file).unwrap()));
        }
    }
    files
}

#[test]
fn no_file_grows_past_its_cap() {
    let over: Vec<String> = (every_file().iter())
        .filter_map(|(path, text)| too_big(path, text))
        .collect();
    assert!(
        over.is_empty(),
        "split these along their seams: {}",
        over.join("; ")
    );
}

#[test]
fn a_601_line_source_file_is_too_big_and_its_tests_do_not_count() {
    let lines = |n: usize| "fn f() {}\n".repeat(n);
    let path = "tooling/x/src/big.rs";
    assert_eq!(too_big(path, &lines(600)), None);
    assert_eq!(
        too_big(path, &lines(601)),
        Some(format!("{path}: 601 lines (at most 600)"))
    );
    let with_tests = format!(
        "{}#[cfg(test)]\nmod tests {{\n{}}}\n",
        lines(600),
        lines(500)
    );
    assert_eq!(too_big(path, &with_tests), None);
    // A test file's own cap.
    assert_eq!(too_big("tooling/x/tests/t.rs", &lines(1000)), None);
    assert!(too_big("tooling/x/tests/t.rs", &lines(1001)).is_some());
}
