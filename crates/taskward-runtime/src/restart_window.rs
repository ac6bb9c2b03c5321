//! The sliding window a supervisor counts its restarts in.

use std::collections::VecDeque;

use tokio::time::Instant;

use crate::config::Intensity;

/// The restarts (or crashes) a supervisor saw within its intensity's window.
#[derive(Debug, Default)]
pub(crate) struct RestartWindow {
    times: VecDeque<Instant>,
}

impl RestartWindow {
    /// Records one restart now; returns whether the intensity is exceeded (more than
    /// `max_restarts` within `within`), in which case the supervisor must give up.
    pub(crate) fn record(&mut self, intensity: Intensity) -> bool {
        let now = Instant::now();
        self.times.push_back(now);
        while self
            .times
            .front()
            .is_some_and(|t| now.duration_since(*t) > intensity.within)
        {
            self.times.pop_front();
        }
        self.times.len() > intensity.max_restarts as usize
    }
}
