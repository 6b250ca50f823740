//! The {{service}} service.
//!
//! `domain` is pure; `store` is the DynamoDB adapter; `api` is the HTTP
//! API; `handlers` takes the events it consumes; `publisher` turns the
//! table's stream into events.

/// This service's name on the bus: its stack, its metrics and its events'
/// `source` (`app.<name>`). What it publishes and consumes is declared in
/// the `declarations` crate, the one declaration its template's rules, the
/// contract tests and the deploy tools are checked against.
pub const SERVICE: &str = "{{service}}";

pub mod api;
pub mod domain;
pub mod functions;
pub mod handlers;
pub mod items;
pub mod openapi;
pub mod publisher;
pub mod store;
