//! The users service: a profile per identity-provider subject.
//!
//! `domain` is pure; `store` is the DynamoDB adapter; `api` is the HTTP
//! API; `identity` the user pool's triggers (sign-up checks, the profile
//! made at confirmation); `erasure` the end of a deletion (every service
//! erased the user, so `accounts` deletes their sign-in); `publisher` turns the table's stream into events; `snapshot` the
//! live users into the events that registered them (`users-snapshot`).

/// This service's name on the bus: its stack, its metrics and its events'
/// `source` (`app.<name>`). What it publishes and consumes is declared in
/// the `declarations` crate, the one declaration its template's rules, the
/// contract tests and the deploy tools are checked against.
pub const SERVICE: &str = "users";

pub mod accounts;
pub mod api;
pub mod domain;
pub mod erasure;
pub mod functions;
pub mod identity;
pub mod items;
pub mod openapi;
pub mod publisher;
pub mod snapshot;
pub mod store;
