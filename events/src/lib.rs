//! The event contracts every service shares, and nothing else.
//!
//! One Rust type per event *version*. A type knows its EventBridge `source`,
//! `detail-type` and version through [`Event`]; the wire shape of the
//! EventBridge `detail` is [`Envelope`]: `{"metadata": {...}, "data": {...}}`.
//! The JSON Schemas in `events/schemas/<source>/<DetailType>/v<N>.json` are
//! generated from [`catalog()`] and guarded by `cargo xtask schemas check`.

mod catalog;
mod contract;
mod envelope;
pub mod examples;
mod services;
mod wire;

// One module per team, from the one list (`services.rs`): the event types
// it publishes. The team owns its module, its source's schemas and
// examples (CODEOWNERS).
macro_rules! service_modules {
    ($($service:ident),*) => {
        $(pub mod $service;)*

        /// The services, in the order their stacks deploy after the
        /// platform's: the one list, which the tools read too.
        pub const SERVICES: &[&str] = &[$(stringify!($service)),*];

        /// Each service's versions, in the list's order.
        const CATALOGS: &[fn() -> Vec<EventSpec>] = &[$($service::catalog),*];
    };
}
each_service!(service_modules);

pub use catalog::{EventSpec, catalog, find};
pub use contract::{Compatibility, Event, EventKey, open_enum};
pub use envelope::{Envelope, Metadata};
pub use wire::{ContractError, PutEntry, ReceivedKey, decode, received_key};
