//! The local cloud's integration tests, one binary: each test binary is
//! linked against every SDK crate the crate uses (about 2 CPU-seconds a
//! link), so a crate's integration tests are modules of one binary.

mod accounts;
mod bus_log;
mod conformance;
mod console;
mod deploy;
mod engine;
mod failure;
mod gradual;
mod oidc;
mod parity;
mod patterns;
mod sessions;
mod strict;
