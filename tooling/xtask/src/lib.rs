//! Project automation in Rust (the xtask pattern): `cargo xtask --help`.
//! The contract tools are the `governance` crate; xtask dispatches to them.

pub mod affected;
pub mod browser;
pub mod cli;
pub mod edges;
pub mod new_service;
pub mod node;
pub mod owners;
pub mod team_accounts;
pub mod team_loop;
pub mod venv;
pub mod web;
pub mod workflows;
