//! What a function's environments measured, for the bench.

use std::time::Duration;

/// Startup measurements, for the bench.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    /// Process spawn → first `next` request, per start.
    pub init: Vec<Duration>,
    /// A start's first invocation, event handed over → answer, with the
    /// start's index in `init`. With its `init`, what the request that
    /// found no warm process waited for.
    pub first_invocation: Vec<(usize, Duration)>,
    /// The first environment's process running now (its peak memory is in
    /// `/proc`).
    pub pid: Option<u32>,
    pub restarts: u32,
    /// Invocations handed to the function: counted when queued.
    pub invocations: u32,
    /// Invocations that ended, answered or not: a caller that waits for
    /// an effect waits for these, not for the queued ones.
    pub completed: u32,
    pub errors: u32,
    /// `rawPath` of the latest HTTP events this function received.
    pub recent_paths: std::collections::VecDeque<String>,
    /// Execution environments started so far.
    pub environments: u32,
    /// The most invocations that ran at once.
    pub peak_concurrency: u32,
}
