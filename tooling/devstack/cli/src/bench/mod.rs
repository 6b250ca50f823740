//! `devstack bench`: how fast the local cloud starts and answers, and where
//! the time of the end-to-end path goes, hop by hop. Targets live here as
//! figures to compare, never as assertions in tests.
//!
//! One round is one fresh local cloud, measured in a process of its own
//! (`bench --one-round`): function processes and the emulator end with the
//! process that started them, so rounds cannot leak into each other. A
//! shared machine is noisy, so a figure is the median of the rounds, shown
//! with its spread and the machine's load.

mod hops;
mod report;
mod rounds;

pub use report::*;
pub use rounds::{one_round, run};
