//! The {{service}} service.
//!
//! `domain` is pure; `store` is the DynamoDB adapter; `api` is the HTTP
//! API; `handlers` takes the events it consumes; `publisher` turns the
//! table's stream into events.

pub mod api;
pub mod contract;
pub mod domain;
pub mod handlers;
pub mod items;
pub mod openapi;
pub mod publisher;
pub mod store;
