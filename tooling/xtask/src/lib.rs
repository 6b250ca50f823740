//! Project automation in Rust (the xtask pattern): `cargo xtask --help`.

pub mod affected;
pub mod asyncapi;
pub mod browser;
pub mod can_i_deploy;
pub mod catalog_page;
pub mod changes;
pub mod cli;
pub mod declared;
pub mod edges;
pub mod folders;
pub mod new_service;
pub mod node;
pub mod owners;
pub mod plan;
pub mod rules;
pub mod schemas;
pub mod venv;
pub mod web;
pub mod workflows;
