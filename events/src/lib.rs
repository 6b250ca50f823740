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
mod wire;

// One module per team: the event types it publishes. The team owns its
// module, its source's schemas and examples (CODEOWNERS).
pub mod campaigns;
pub mod notifications;
pub mod todos;
pub mod users;

pub use catalog::{EventSpec, catalog, find};
pub use contract::{Compatibility, Event, EventKey, open_enum};
pub use envelope::{Envelope, Metadata};
pub use wire::{ContractError, PutEntry, ReceivedKey, decode, received_key};

/// The `source` of each producing service. Changing one is a breaking change
/// for every rule on the bus.
pub mod sources {
    pub const USERS: &str = "app.users";
    pub const TODOS: &str = "app.todos";
    pub const NOTIFICATIONS: &str = "app.notifications";
    pub const CAMPAIGNS: &str = "app.campaigns";
}
