//! What a change touches: the services to build, test and deploy again, from
//! the changed files and the cargo dependency graph. The workflows run it,
//! and so can people (`cargo xtask affected --base origin/main`).

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result};

use repo::paths;
use repo::workspace::{BUILD_INPUTS, Workspace};

/// What to run again after a change: service names, then `platform` and
/// `contracts` when those pipelines are touched.
pub fn units(workspace: &Workspace, services: &[&str], files: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for file in files {
        let path = Path::new(file);
        if BUILD_INPUTS.contains(&file.as_str()) {
            out.extend(services.iter().map(|s| (*s).to_owned()));
        }
        if path.starts_with(paths::INFRA_DIR) {
            out.insert(repo::PLATFORM.to_owned());
        }
        // The event types, schemas and examples, and who publishes and consumes
        // what: the contracts pipeline.
        if paths::is_contract_path(file) {
            out.insert("contracts".to_owned());
        }
        // A workflow edit re-runs its own pipeline.
        if let Some(name) = Path::new(file)
            .strip_prefix(paths::WORKFLOWS_DIR)
            .ok()
            .and_then(|f| f.to_str()?.strip_suffix(".yml"))
        {
            out.insert(name.to_owned());
        }
        for owner in workspace.compilers(path) {
            for service in services {
                if workspace
                    .closure(service)
                    .iter()
                    .any(|p| p.dir == owner.dir)
                {
                    out.insert((*service).to_owned());
                }
            }
        }
    }
    out
}

/// Files changed since `base` (its merge base with HEAD), committed or not,
/// plus untracked files: what a person's working tree would ship.
pub fn changed_files(repo: &Path, base: &str) -> Result<Vec<String>> {
    let git = |args: &[&str]| repo::git::run(repo, args);
    let merge_base = git(&["merge-base", base, "HEAD"]).with_context(|| {
        format!("{base} is not a revision this clone knows (fetch it, or use a full clone)")
    })?;
    let mut files: BTreeSet<String> = BTreeSet::new();
    files.extend(
        git(&["diff", "--name-only", merge_base.trim()])?
            .lines()
            .map(str::to_owned),
    );
    files.extend(
        git(&["ls-files", "--others", "--exclude-standard"])?
            .lines()
            .map(str::to_owned),
    );
    Ok(files.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use repo::workspace::Package;
    use std::path::PathBuf;

    fn workspace() -> Workspace {
        let p = |name: &str, dir: &str, deps: &[&str]| Package {
            name: name.into(),
            dir: dir.into(),
            path_deps: deps.iter().map(PathBuf::from).collect(),
        };
        Workspace {
            root: "/r".into(),
            target_dir: "/r/target".into(),
            packages: vec![
                p("events", "events", &[]),
                p("declarations", "events/declarations", &["events"]),
                p("kit", "kit", &["events"]),
                p("users", "services/users", &["events", "kit"]),
                p("todos", "services/todos", &["events", "kit"]),
                p("ops", "tooling/ops", &["kit"]),
                p("devstack", "tooling/devstack", &["kit"]),
            ],
        }
    }

    fn run(files: &[&str]) -> Vec<String> {
        let files: Vec<String> = files.iter().map(|f| (*f).to_owned()).collect();
        units(&workspace(), &["users", "todos"], &files)
            .into_iter()
            .collect()
    }

    #[test]
    fn a_service_file_touches_that_service_only() {
        assert_eq!(run(&["services/users/src/api.rs"]), ["users"]);
        assert_eq!(run(&["services/todos/template.yaml"]), ["todos"]);
    }

    #[test]
    fn shared_crates_reach_their_dependents_through_the_graph() {
        assert_eq!(run(&["kit/src/lib.rs"]), ["todos", "users"]);
        assert_eq!(run(&["events/src/lib.rs"]), ["contracts", "todos", "users"]);
        // A team's event types compile into `events`: every service that
        // builds with it, not the team's alone.
        assert_eq!(
            run(&["events/src/users.rs"]),
            ["contracts", "todos", "users"]
        );
        // Who publishes and consumes what is no service's build.
        assert_eq!(run(&["events/declarations/src/users.rs"]), ["contracts"]);
    }

    #[test]
    fn tools_no_service_builds_with_touch_no_service() {
        assert!(
            run(&[
                "tooling/devstack/cloud/src/start.rs",
                "tooling/ops/src/main.rs",
                "README.md"
            ])
            .is_empty()
        );
    }

    #[test]
    fn build_inputs_touch_everything_and_infra_the_platform() {
        assert_eq!(run(&["Cargo.lock"]), ["todos", "users"]);
        assert_eq!(run(&["rust-toolchain.toml"]), ["todos", "users"]);
        assert_eq!(run(&["infra/template.yaml"]), ["platform"]);
        assert_eq!(run(&[".github/workflows/users.yml"]), ["users"]);
    }
}
