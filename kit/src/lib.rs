//! Plumbing shared by every service. Domain types never live here: the only
//! thing services truly share is the `events` crate.

pub mod calls;
pub mod config;
pub mod emulator;
pub mod http;
pub mod https;
pub mod idempotency;
pub mod jwt;
pub mod logging;
pub mod openapi;
#[cfg(feature = "otlp")]
pub mod otlp;
pub mod outbound;
pub mod outbox;
pub mod publisher;
pub mod s3;
#[cfg(feature = "secrets")]
pub mod secrets;
pub mod signed;
pub mod stream;
pub mod table;
pub mod telemetry;
pub mod xray;
