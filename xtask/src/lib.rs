//! Project automation in Rust (the xtask pattern): `cargo xtask --help`.

pub mod affected;
pub mod asyncapi;
pub mod browser;
pub mod can_i_deploy;
pub mod catalog_page;
pub mod compat;
pub mod declared;
pub mod git;
pub mod node;
pub mod owners;
pub mod patterns;
pub mod schemas;
pub mod venv;
pub mod web;
pub mod workflows;

/// The workspace as cargo reports it; shared with devstack (its deploy
/// command builds one service) by path, as it needs std and serde_json only.
#[path = "../../devstack/src/workspace.rs"]
pub mod workspace;
