//! The ops CLI's commands against the emulator, one binary: each test
//! binary is linked against every SDK crate ops uses (about 2 CPU-seconds
//! a link), so its integration tests are modules of one binary.

mod dlq;
mod events;
mod pattern_vs_emulator;
mod secrets;
