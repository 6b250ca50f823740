//! The todos service: a user's todos and their attachments.
//!
//! `domain` is pure; `store` is the DynamoDB adapter; `api` maps HTTP API
//! (payload 2.0) requests onto both; `publisher` and `handlers` are the
//! event sides. The binaries in `src/bin/` only wire these together.

pub mod api;
pub mod contract;
pub mod domain;
pub mod handlers;
pub mod items;
pub mod objects;
pub mod openapi;
pub mod publisher;
pub mod store;
pub mod uploads;
