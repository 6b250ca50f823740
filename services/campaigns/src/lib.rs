//! The campaigns service: email campaigns to the audience (its own
//! projection of the users events), sent by a third-party sender and
//! followed by a Step Functions workflow until the sender confirms them.
//!
//! `domain` is pure (input rules, how a campaign moves as the sender
//! reports, when the waiting flow wakes); `store` is the DynamoDB adapter;
//! `api` is the admin API; `sender` calls the sender's API; `webhook`
//! verifies and applies its reports; `flow` runs the state machine's
//! steps; `handlers` keeps the audience; `publisher` turns recorded
//! recipients into events.

/// This service's name on the bus: its stack, its metrics and its events'
/// `source` (`app.<name>`). What it publishes and consumes is declared in
/// the `declarations` crate, the one declaration its template's rules, the
/// contract tests and the deploy tools are checked against.
pub const SERVICE: &str = "campaigns";

pub mod api;
pub mod domain;
pub mod flow;
pub mod functions;
pub mod handlers;
pub mod items;
pub mod openapi;
pub mod page;
pub mod page_cache;
pub mod publisher;
pub mod sender;
pub mod status;
pub mod store;
pub mod webhook;
