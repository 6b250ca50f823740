//! This service's name on the bus. What it publishes and consumes is
//! declared in this folder's `contract/declaration.rs` (compiled into the
//! `contracts` crate), the one declaration the template's rules, the
//! contract tests and the deploy tools are checked against.

pub const SERVICE: &str = "notifications";
