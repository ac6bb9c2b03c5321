//! The handle of a running node.

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The handle of a [`Node`](crate::Node) that [runs](crate::Node::run): [`stop`](Self::stop)
/// it at shutdown, before the runtime's. Dropping the handle stops the node too (its loop
/// ends after the duty it is doing), without waiting.
#[derive(Debug)]
pub struct NodeHandle {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl NodeHandle {
    pub(super) fn new(stop: oneshot::Sender<()>, task: JoinHandle<()>) -> Self {
        Self {
            stop: Some(stop),
            task,
        }
    }

    /// Stops the node's duties (no more heartbeats, claims, rescues) and waits until its loop
    /// has ended. The node's leases then expire after a lease unless the runtime finishes
    /// its tasks first.
    ///
    /// # Cancel safety
    ///
    /// Cancelling the wait leaves the loop stopping on its own.
    pub async fn stop(mut self) {
        drop(self.stop.take());
        if let Err(err) = (&mut self.task).await
            && err.is_panic()
        {
            tracing::error!("the node's loop panicked: {err}");
        }
    }

    /// Whether the node's loop has ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}
