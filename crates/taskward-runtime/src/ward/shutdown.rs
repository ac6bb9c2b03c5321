//! Shutdown: what it did, and the shutdown itself.

use std::time::Duration;

use taskward_core::Error;

use super::Taskward;
use crate::registry::RegistryMsg;
use crate::runner::RunnerMsg;

/// What a shutdown did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Runners that were still running when shutdown began (their tasks are cancelled).
    pub runners: usize,
    /// Runners whose work did not stop by the deadline and was aborted.
    pub aborted: usize,
}

impl Taskward {
    /// Shuts the runtime down within `deadline`: stops admitting, cancels every live task
    /// (cancelled by shutdown), waits for the work to stop, aborts what has not by the
    /// deadline, flushes the store and stops the supervision tree. Every task ends terminal.
    pub async fn shutdown(&self, deadline: Duration) -> Result<ShutdownReport, Error> {
        let shared = self.shared().clone();
        let until = tokio::time::Instant::now() + deadline;
        let runners = if shared.is_stopping() {
            Vec::new()
        } else {
            self.call(RegistryMsg::BeginShutdown)
                .await
                .unwrap_or_default()
        };
        let mut report = ShutdownReport {
            runners: runners.len(),
            aborted: 0,
        };
        for runner in &runners {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            if runner.get_cell().wait(Some(left)).await.is_err() {
                let _ = runner.cast(RunnerMsg::Abort);
                report.aborted += 1;
            }
        }
        for runner in &runners {
            let _ = runner.get_cell().wait(Some(Duration::from_secs(1))).await;
        }
        // Let the registry record the runners' last reports before the tree stops.
        let _ = self.call(RegistryMsg::Status).await;
        shared
            .stopping
            .store(true, std::sync::atomic::Ordering::Release);
        shared.store.flush()?;
        let root = self.inner.root.get_cell();
        let _ = root
            .stop_and_wait(Some("shutdown".into()), Some(Duration::from_secs(5)))
            .await;
        shared.set_registry(None);
        shared.set_runner_sup(None);
        let join = self
            .inner
            .join
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(join) = join {
            let _ = join.await;
        }
        Ok(report)
    }
}
