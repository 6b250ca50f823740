//! The ops CLI's library: dead letters decoded, listed, exported, imported,
//! replayed and purged, against AWS or the local cloud.

pub mod calls;
pub mod commands;
pub mod letter;
pub mod queue;
pub mod stacks;
pub mod targets;
pub mod web_config;
