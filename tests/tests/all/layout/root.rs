//! The root the design names, where each crate may live, and each
//! team's filters naming its tests.

use super::*;

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
