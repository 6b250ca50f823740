//! The repository as the tools see it. Only this crate knows its layout:
//! where the root is, where each folder is (`paths`), the stacks in
//! deploy order and where their templates live, the workspace
//! graph (`workspace`), the one git runner (`git`) and the one way to start
//! cargo (`cargo`); and how the tools
//! end when their reader goes away (`closed_pipe`).
//!
//! The root is the checkout the command runs in, found from the current
//! directory, never the path a binary was compiled at: two checkouts that
//! share one `CARGO_TARGET_DIR` share binaries too, because cargo does not
//! rebuild a binary whose sources merely moved.

pub mod cargo;
pub mod closed_pipe;
pub mod git;
pub mod paths;
pub mod workspace;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The platform stack: deployed first, owns the bus and the user pool.
pub const PLATFORM: &str = "platform";

/// What a service stack takes from the platform's outputs as parameters
/// of the same names, where it declares them: an export does not cross
/// accounts. The deploy workflows and the local cloud pass them.
pub const FROM_THE_PLATFORM: [&str; 3] = ["Issuer", "UserPoolClientId", "BrowserRoleArn"];

/// The platform stack's parameter naming the account `service`'s team
/// deploys into (`todos` → `TodosAccount`; empty: the platform's own).
pub fn account_parameter(service: &str) -> String {
    team_title(service) + "Account"
}

/// `todos` → `Todos`: a team's name as a logical id begins.
pub fn team_title(service: &str) -> String {
    let mut c = service.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// A service stack's parameter naming the platform's account (empty:
/// its own, one account for everything).
pub const PLATFORM_ACCOUNT: &str = "PlatformAccount";

/// The services, in deploy order after the platform: the one list, kept
/// in `events` because the event types and the declarations need a
/// module per service; the local cloud, the ops CLI and the automation
/// read it from here.
pub use events::SERVICES;

/// The web app's hosting (the site bucket and its CloudFront
/// distribution): deployed last, as it names nothing of the others.
pub const WEB: &str = "web";

/// Every stack in deploy order: the platform, then each service.
pub fn stacks() -> impl Iterator<Item = &'static str> {
    std::iter::once(PLATFORM).chain(SERVICES.iter().copied())
}

#[derive(Debug, thiserror::Error)]
#[error(
    "{0} is not inside the repository (no Cargo.toml with [workspace] above it): run the command from the checkout"
)]
pub struct NotInRepo(pub PathBuf);

/// The checkout that holds `dir`: the nearest folder at or above it whose
/// `Cargo.toml` declares the workspace.
pub fn find_root(dir: &Path) -> Result<PathBuf, NotInRepo> {
    dir.ancestors()
        .find(|d| {
            std::fs::read_to_string(d.join("Cargo.toml"))
                .is_ok_and(|t| t.lines().any(|l| l.trim() == "[workspace]"))
        })
        .map(Path::to_path_buf)
        .ok_or_else(|| NotInRepo(dir.to_path_buf()))
}

/// The checkout the running command works in (from its current directory).
pub fn try_root() -> Result<PathBuf, NotInRepo> {
    static ROOT: OnceLock<Result<PathBuf, PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let cwd = std::env::current_dir().unwrap_or_default();
        find_root(&cwd).map_err(|e| e.0)
    })
    .clone()
    .map_err(NotInRepo)
}

/// [`try_root`] for code that cannot run outside a checkout at all (tests,
/// the local cloud); binaries call `try_root` first to fail with a message.
pub fn root() -> PathBuf {
    try_root().unwrap_or_else(|e| panic!("{e}"))
}

/// The folder cargo built the running executable's profile into
/// (`<target>/debug` for a debug build), wherever the target directory is:
/// `CARGO_TARGET_DIR`, a config file or the default. The function binaries
/// of the same build sit there too.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the running executable has a path");
    let dir = exe.parent().expect("an executable lives in a folder");
    // Test harnesses live one level down, in `deps/`.
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().expect("deps/ has a parent").to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// The project's Python tools (`.venv/`, made by `cargo xtask venv`), or
/// the folder `PROJECT_VENV` names (the xtask commands set it).
pub fn venv() -> PathBuf {
    std::env::var_os("PROJECT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv"))
}

/// A service's folder (its crate, template and OpenAPI document) in `root`.
pub fn service_dir_in(root: &Path, service: &str) -> PathBuf {
    root.join(paths::SERVICES_DIR).join(service)
}

/// A service's folder in this checkout.
pub fn service_dir(service: &str) -> PathBuf {
    service_dir_in(&root(), service)
}

/// A stack's template, relative to `root`.
pub fn template_in(root: &Path, stack: &str) -> PathBuf {
    if stack == PLATFORM {
        root.join(paths::INFRA_DIR).join("template.yaml")
    } else if stack == WEB {
        root.join(paths::WEB_DIR).join("template.yaml")
    } else {
        service_dir_in(root, stack).join("template.yaml")
    }
}

/// A stack's template in this checkout.
pub fn template_path(stack: &str) -> PathBuf {
    template_in(&root(), stack)
}

/// Where `sam build`, run in a service's folder, leaves its functions.
pub fn sam_build_dir(service: &str) -> PathBuf {
    service_dir(service).join(".aws-sam/build")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_checkout_around_the_directory() {
        let outer = tempfile::tempdir().unwrap();
        let checkout = outer.path().join("checkout");
        let deep = checkout.join("services/users/src");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(checkout.join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
        std::fs::write(
            checkout.join("services/users/Cargo.toml"),
            "[package]\nname = \"users\"\n",
        )
        .unwrap();
        assert_eq!(find_root(&deep).unwrap(), checkout);
        assert!(find_root(outer.path()).is_err());
    }

    #[test]
    fn stacks_start_with_the_platform() {
        let all: Vec<_> = stacks().collect();
        assert_eq!(all[0], PLATFORM);
        assert_eq!(&all[1..], SERVICES);
    }
}
