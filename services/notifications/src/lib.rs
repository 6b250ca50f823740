//! The notifications service: turns other services' events into
//! notifications for a user, stores them, and hands them to a delivery topic.
//!
//! `domain` is pure; `store` is the DynamoDB adapter; `handlers` consume
//! bus events; `fan_out` sends stored notifications on to SNS and, through
//! `push`, to the user's open WebSocket connections, from the table's
//! stream; `socket` runs the WebSocket API's routes and `authorizer` its
//! `$connect` check; `api` lists them; `publisher` announces them on the bus.

/// This service's name on the bus: its stack, its metrics and its events'
/// `source` (`app.<name>`). What it publishes and consumes is declared in
/// the `declarations` crate, the one declaration its template's rules, the
/// contract tests and the deploy tools are checked against.
pub const SERVICE: &str = "notifications";

pub mod api;
pub mod authorizer;
pub mod domain;
pub mod fan_out;
pub mod functions;
pub mod handlers;
pub mod items;
pub mod openapi;
pub mod publisher;
pub mod push;
pub mod socket;
pub mod store;
