//! The local cloud's process boundary. Every type that crosses it is
//! defined here once and read typed on both sides: the endpoints file
//! (`endpoints`), the control API (`control` for deploys, `chaos` for
//! faults) and the telemetry folder's records (`telemetry`). Clients of a
//! running cloud link this crate, never the cloud itself.

pub mod chaos;
pub mod control;
pub mod endpoints;
pub mod telemetry;

pub use endpoints::{Consumer, Endpoints, ServiceEndpoints};
