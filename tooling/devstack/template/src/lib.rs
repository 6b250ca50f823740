//! The template side of the local cloud: SAM translated offline
//! ([`translate`]) and adapted for the emulator ([`adapt`]), the one place a
//! template deployed locally differs from AWS. It returns the [`adapt::Plan`]
//! of what the local cloud plays itself. Pure: no SDK, no async runtime, no
//! knowledge of the pieces that carry the plan out.

pub mod adapt;
pub mod translate;

pub use adapt::{Plan, adapt};
pub use translate::load;
