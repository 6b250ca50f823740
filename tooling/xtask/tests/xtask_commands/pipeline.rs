//! The pipeline's files: CODEOWNERS covers what it must, the workflows hold
//! each service's dependency closure and lint clean, `affected` reads git.

use std::path::PathBuf;
use std::process::Command;

use governance::declared;
use repo::workspace::Workspace;
use xtask::owners::{self, owners_of, parse, team};

fn root() -> PathBuf {
    repo::root()
}

fn committed_owners() -> Vec<owners::Rule> {
    parse(&std::fs::read_to_string(root().join(owners::FILE)).unwrap())
}

fn owners(path: &str) -> Vec<String> {
    owners_of(&committed_owners(), path)
        .unwrap()
        .unwrap_or_else(|| panic!("{path} has no owner"))
        .owners
        .clone()
}

#[test]
fn codeowners_covers_every_member_and_template() {
    let workspace = Workspace::load(&root()).unwrap();
    for p in &workspace.packages {
        let manifest = format!("{}/Cargo.toml", p.dir.display());
        let got = owners(&manifest);
        if let Some(service) =
            (p.dir.strip_prefix(repo::paths::SERVICES_DIR).ok()).and_then(|s| s.to_str())
        {
            assert_eq!(got, [team(service)], "{manifest}");
        } else {
            assert!(!got.is_empty(), "{manifest}");
        }
    }
    for s in declared::services() {
        let template = format!("services/{}/template.yaml", s.name);
        assert!(root().join(&template).exists());
        assert_eq!(owners(&template), [team(s.name)], "{template}");
    }
    assert_eq!(owners("infra/template.yaml"), [team(owners::PLATFORM)]);
    // Every tracked file, with the matcher's supported patterns only.
    let files = Command::new("git")
        .arg("-C")
        .arg(root())
        .args(["ls-files"])
        .output()
        .unwrap();
    for file in String::from_utf8(files.stdout).unwrap().lines() {
        assert!(!owners(file).is_empty(), "{file}");
    }
}

/// A team owns its service's folder and its contract on the bus by path:
/// its modules of the event types and of the declarations, and its
/// source's schemas and examples. What every team shares stays the
/// platform's.
#[test]
fn each_team_owns_its_folder_and_contract_by_path() {
    let services = declared::services();
    for s in &services {
        let mut paths = vec![
            format!("{}/{}/Cargo.toml", repo::paths::SERVICES_DIR, s.name),
            repo::paths::event_types_file(s.name),
            repo::paths::declaration_file(s.name),
        ];
        for key in s.publishes {
            paths.push(repo::paths::schema_file(&key.schema_file()).unwrap());
            let examples =
                repo::paths::examples_dir(&format!("{}/v{}", key.rel_dir(), key.version)).unwrap();
            paths.push(format!("{examples}/example.json"));
        }
        for path in paths {
            assert!(root().join(&path).exists(), "{path}");
            assert_eq!(owners(&path), [team(s.name)], "{path}");
        }
    }
    for shared in [
        repo::paths::EVENTS_LIB,
        repo::paths::EVENTS_CATALOG,
        repo::paths::DECLARATIONS_LIB,
        repo::paths::ASYNCAPI,
    ] {
        assert_eq!(owners(shared), [team(owners::PLATFORM)], "{shared}");
    }
}

#[test]
fn a_hand_edit_of_a_generated_file_is_drift() {
    let generated = xtask::workflows::generate(&Workspace::load(&root()).unwrap(), repo::SERVICES);
    assert!(xtask::workflows::stale(&root(), &generated).is_empty());
    let scratch = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(scratch.path().join(xtask::workflows::DIR)).unwrap();
    for (file, text) in &generated {
        std::fs::write(scratch.path().join(file), text).unwrap();
    }
    let (users, text) = &generated[0];
    std::fs::write(
        scratch.path().join(users),
        text.replace("kit/**", "kit/src/**"),
    )
    .unwrap();
    std::fs::remove_file(scratch.path().join(&generated[1].0)).unwrap();
    assert_eq!(
        xtask::workflows::stale(scratch.path(), &generated),
        [
            format!("{}/users.yml", xtask::workflows::DIR),
            format!("{}/todos.yml", xtask::workflows::DIR)
        ]
    );
}

#[test]
fn a_service_workflow_watches_its_closure_and_nothing_else() {
    let workspace = Workspace::load(&root()).unwrap();
    let users = xtask::workflows::service_paths(&workspace, "users");
    for want in [
        "services/users/**",
        "events/**",
        "kit/**",
        "Cargo.lock",
        "rust-toolchain.toml",
    ] {
        assert!(
            users.iter().any(|p| p == want),
            "{want} missing from {users:?}"
        );
    }
    for never in [
        "services/todos/**",
        "tooling/devstack/**",
        "tooling/ops/**",
        "tooling/xtask/**",
    ] {
        assert!(!users.iter().any(|p| p == never), "{never} in {users:?}");
    }
}

#[test]
fn actionlint_flags_a_broken_workflow() {
    let scratch = tempfile::tempdir().unwrap();
    let bad = scratch.path().join("bad.yml");
    std::fs::write(
        &bad,
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: missing\n    steps:\n      - run: echo hi\n",
    )
    .unwrap();
    assert!(!xtask::node::run(&root(), "lint-workflows.mjs", &[&bad]).unwrap());
    let good = scratch.path().join("good.yml");
    std::fs::write(
        &good,
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n",
    )
    .unwrap();
    assert!(xtask::node::run(&root(), "lint-workflows.mjs", &[&good]).unwrap());
}

#[test]
fn changed_files_are_committed_edits_and_untracked_files_since_the_merge_base() {
    let repo = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(repo.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::create_dir_all(repo.path().join("kit")).unwrap();
    std::fs::write(repo.path().join("kit/a.rs"), "a").unwrap();
    std::fs::write(repo.path().join("README.md"), "r").unwrap();
    git(&["add", "."]);
    git(&["commit", "-qm", "base"]);
    git(&["tag", "base"]);
    std::fs::write(repo.path().join("kit/a.rs"), "b").unwrap();
    git(&["commit", "-qam", "edit"]);
    std::fs::write(repo.path().join("Cargo.lock"), "new").unwrap();
    let files = xtask::affected::changed_files(repo.path(), "base").unwrap();
    assert_eq!(files, ["Cargo.lock", "kit/a.rs"]);
    assert!(xtask::affected::changed_files(repo.path(), "nope").is_err());
}
