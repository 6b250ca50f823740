//! Plumbing shared by every service. Domain types never live here: the only
//! thing services truly share is the `events` crate.

pub mod stream;
