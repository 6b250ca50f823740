//! The todos service: a user's todos and their attachments.

pub mod contract;
pub mod handlers;
pub mod items;
pub mod publisher;
