//! xtask's commands run as a user runs them, one binary: a test binary is
//! linked against everything xtask uses (about 2 CPU-seconds a link), so
//! its integration tests are modules of one binary.

mod diff_cli;
mod pipeline;
