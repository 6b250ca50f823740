//! The start's steps, timed.

use std::time::{Duration, Instant};

/// The start's steps, each as the time since it began.
pub(super) struct Phases {
    pub(super) started: Instant,
    pub(super) done: Vec<(String, Duration)>,
}

impl Phases {
    pub(super) fn mark(&mut self, name: &str) {
        self.done.push((name.to_owned(), self.started.elapsed()));
    }
}
