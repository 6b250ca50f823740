//! Bringing the whole system up, one phase after another: the engine
//! boots (`boot`), the stacks deploy or a kept state returns (`deploying`,
//! `kept`), the functions start with their routes and sockets
//! (`functions`) and their event source mappings (`mappings`), then what
//! faces the outside (`front`, `sign_in`).

mod boot;
mod configured;
mod deploying;
mod detached;
mod front;
mod functions;
mod kept;
mod mappings;
mod options;
mod phases;
mod run;
mod sign_in;
mod wiring;

pub use detached::{Detached, start_detached};
pub use options::{Options, Override, default_environments};
pub use run::{Running, start};
