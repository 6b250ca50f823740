//! The ops CLI's library: dead letters decoded, listed, exported, imported,
//! replayed and purged, against AWS or the local cloud; the secrets stacks
//! read by name.

pub mod archive;
pub mod bus_watch;
pub mod cli;
pub mod contracts;
pub mod dead_letters;
pub mod letter;
pub mod queue;
pub mod request_counts;
pub mod rule_targets;
pub mod secret_store;
pub mod tap;
pub mod targets;
