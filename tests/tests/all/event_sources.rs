//! One list of the services: each team's `source` is its own events
//! module's `SOURCE`, written exactly as `cargo xtask new-service` writes
//! a new team's, and typed nowhere else in the `events` crate.

use std::path::Path;

/// The `SOURCE` lines `new-service` writes for `service`: from the doc
/// comment above the constant to the constant itself.
fn source_block(service: &str) -> String {
    let skeleton = repo::root()
        .join(repo::paths::SERVICE_SKELETON)
        .join(repo::paths::event_types_file("{{service}}"));
    let text = std::fs::read_to_string(&skeleton).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let end = (lines.iter())
        .position(|l| l.starts_with("pub const SOURCE"))
        .expect("the skeleton's SOURCE");
    let start = (0..end)
        .rev()
        .take_while(|&i| lines[i].starts_with("///"))
        .last()
        .unwrap_or(end);
    lines[start..=end]
        .join("\n")
        .replace("{{service}}", service)
}

/// Each place in `files` (its path, its text) where a service's source
/// is typed outside that service's own module.
fn typed_elsewhere(files: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (path, text) in files {
        for service in repo::SERVICES {
            let literal = format!("\"{}\"", repo::paths::source_of(service));
            if *path != repo::paths::event_types_file(service) && text.contains(&literal) {
                found.push(format!("{path}: {literal}"));
            }
        }
    }
    found
}

/// The `events` crate's sources, each with its path from the root.
fn events_sources(root: &Path) -> Vec<(String, String)> {
    let src = root.join(repo::paths::EVENTS_DIR).join("src");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            files.push((rel, std::fs::read_to_string(&path).unwrap()));
        }
    }
    files
}

#[test]
fn each_teams_source_is_its_own_modules_as_new_service_writes_it() {
    let root = repo::root();
    for service in repo::SERVICES {
        let module =
            std::fs::read_to_string(root.join(repo::paths::event_types_file(service))).unwrap();
        let block = source_block(service);
        assert!(
            module.contains(&block),
            "{} should hold, as new-service writes it:\n{block}",
            repo::paths::event_types_file(service)
        );
    }
    let elsewhere = typed_elsewhere(&events_sources(&root));
    assert!(
        elsewhere.is_empty(),
        "a team's source belongs to its own module's SOURCE: {elsewhere:?}"
    );
}

#[test]
fn a_source_typed_in_the_platforms_list_is_found() {
    let files = [
        (
            repo::paths::event_types_file("todos"),
            "pub const SOURCE: &str = \"app.todos\";".to_owned(),
        ),
        (
            repo::paths::EVENTS_LIB.to_owned(),
            "pub const TODOS: &str = \"app.todos\";".to_owned(),
        ),
    ];
    assert_eq!(
        typed_elsewhere(&files),
        [format!("{}: \"app.todos\"", repo::paths::EVENTS_LIB)]
    );
}
