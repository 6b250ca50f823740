//! todos against the emulator: its API, its attachments and its
//! consumer, one binary (each test binary is linked against every SDK
//! crate the service uses, about 2 CPU-seconds a link).

mod api;
mod attachments;
mod consumer;
