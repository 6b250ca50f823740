//! Project automation in Rust (the xtask pattern): `cargo xtask --help`.

pub mod compat;
pub mod schemas;
pub mod venv;
