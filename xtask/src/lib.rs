//! Project automation in Rust (the xtask pattern): `cargo xtask --help`.

pub mod asyncapi;
pub mod catalog_page;
pub mod compat;
pub mod declared;
pub mod node;
pub mod patterns;
pub mod schemas;
pub mod venv;
