//! The users service: a profile per identity-provider subject.
//!
//! `domain` is pure; `store` is the DynamoDB adapter; `api` is the HTTP
//! API; `identity` the user pool's triggers (sign-up checks, the profile
//! made at confirmation); `publisher` turns the table's stream into events; `snapshot` the
//! live users into the events that registered them (`users-snapshot`).

pub mod api;
pub mod contract;
pub mod domain;
pub mod identity;
pub mod items;
pub mod openapi;
pub mod publisher;
pub mod snapshot;
pub mod store;
