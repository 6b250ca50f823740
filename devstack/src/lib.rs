//! The local cloud. It deploys the same templates that ship to AWS into the
//! emulator, after adapting them in one explicit, tested place
//! ([`adapt`]), and provides itself what the emulator lacks.

pub mod adapt;
pub mod bench;
pub mod chaos;
pub mod cloud;
pub mod cognito;
pub mod dead_letter;
pub mod deploy;
pub mod gateway;
pub mod invoke;
pub mod lambda_api;
pub mod load;
pub mod redeploy;
pub mod runtime;
pub mod sources;
pub mod telemetry;
pub mod template;
pub mod walkthrough;
pub mod web;
pub mod websocket;
pub mod workspace;

use std::path::{Path, PathBuf};

/// The workspace root (the local cloud runs from the repository).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("devstack lives in the workspace")
        .to_path_buf()
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

/// The stacks, in deploy order: the platform first, then each service.
pub const PLATFORM: &str = "platform";
pub const SERVICES: &[&str] = &["users", "todos", "notifications"];

pub fn template_path(stack: &str) -> PathBuf {
    if stack == PLATFORM {
        root().join("infra/template.yaml")
    } else {
        root().join("services").join(stack).join("template.yaml")
    }
}

/// Where `sam build`, run in a service's folder, leaves its functions.
pub fn sam_build_dir(service: &str) -> PathBuf {
    root().join("services").join(service).join(".aws-sam/build")
}
