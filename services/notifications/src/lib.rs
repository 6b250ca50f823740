//! The notifications service: turns other services' events into
//! notifications for a user, stores them, and hands them to a delivery topic.
//!
//! `domain` is pure; `store` is the DynamoDB adapter; `handlers` consume
//! bus events; `delivery` fans stored notifications out to SNS from the
//! table's stream; `api` lists them; `publisher` announces them on the bus.

pub mod api;
pub mod contract;
pub mod delivery;
pub mod domain;
pub mod handlers;
pub mod items;
pub mod publisher;
pub mod store;
