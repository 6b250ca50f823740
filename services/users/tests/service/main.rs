//! users against the emulator: its API and its Cognito triggers, one
//! binary (each test binary is linked against every SDK crate the service
//! uses, about 2 CPU-seconds a link).

mod api;
mod identity;
