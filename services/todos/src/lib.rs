//! The todos service: a user's todos and their attachments.
//!
//! `domain` is pure; `store` is the DynamoDB adapter; `api` maps HTTP API
//! (payload 2.0) requests onto both; `publisher` and `handlers` are the
//! event sides. `functions` wires them into the functions, one binary for
//! all of them (`src/main.rs`).

/// This service's name on the bus: its stack, its metrics and its events'
/// `source` (`app.<name>`). What it publishes and consumes is declared in
/// the `declarations` crate, the one declaration its template's rules, the
/// contract tests and the deploy tools are checked against.
pub const SERVICE: &str = "todos";

pub mod api;
pub mod domain;
pub mod functions;
pub mod handlers;
pub mod items;
pub mod objects;
pub mod openapi;
pub mod publisher;
pub mod store;
pub mod uploads;
