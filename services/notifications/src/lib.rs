//! The notifications service: turns other services' events into
//! notifications for a user.

pub mod contract;
pub mod domain;
pub mod handlers;
pub mod items;
pub mod publisher;
