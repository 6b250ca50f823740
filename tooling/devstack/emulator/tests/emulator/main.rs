//! The emulator: its patches held to the semantics of the AWS services
//! they play, and its engine's forks kept apart; one binary (each test
//! binary is linked against every SDK crate it uses, about 2 CPU-seconds a
//! link).

mod cognito;
mod engine;
mod patches;
