//! Time in tests: durations, settling, bounded waits (all meant for a paused clock).

use std::time::Duration;

use taskward::{Outcome, TaskHandle};

/// An hour, the usual "longer than the test" duration.
pub const HOUR: Duration = Duration::from_secs(3600);

/// `s` seconds.
pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Lets every actor and task run until the runtime is idle (virtual time barely moves).
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// Waits for the task's outcome; fails the test after ten minutes of (virtual) time.
pub async fn wait_for(task: &TaskHandle) -> Outcome {
    tokio::time::timeout(Duration::from_secs(600), task.wait())
        .await
        .expect("the task ended within ten minutes")
        .expect("wait")
}
