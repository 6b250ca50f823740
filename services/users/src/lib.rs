//! The users service: a profile per identity-provider subject.

pub mod contract;
pub mod items;
pub mod publisher;
