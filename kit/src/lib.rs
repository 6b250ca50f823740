//! Plumbing shared by every service, and exactly what a function links.
//! Domain types never live here (the only thing services truly share is the
//! `events` crate), nor does the local cloud (`devstack-emulator`).

pub mod call_time;
pub mod config;
pub mod erasure;
pub mod handler;
pub mod hook;
pub mod http_api;
pub mod idempotency;
pub mod invocation;
pub mod jwt;
pub mod logging;
pub mod openapi;
#[cfg(feature = "otlp")]
pub mod otlp;
pub mod outbound;
pub mod outbox;
pub mod publisher;
#[cfg(feature = "secrets")]
pub mod secrets;
pub mod signed;
pub mod stream;
pub mod table;
pub mod telemetry;
pub mod transport;
pub mod xray;
