//! The status changes of a scope's tasks held by other nodes, for a protocol binding that
//! notifies its sessions.

use taskward_core::{Scope, ScopeWatch, TaskId};
use tokio::sync::mpsc;

use super::Taskward;
#[cfg(doc)]
use crate::builder::Builder;

/// The ids of a scope's tasks whose status another node changed, from
/// [`Taskward::watch_elsewhere`]; the watch ends when this is dropped.
///
/// Each id is a hint: read the task ([`Taskward::find`]) for its status. One may be missed
/// (the shared table's listener reconnecting); none comes for this node's own tasks, whose
/// changes are this runtime's events.
#[derive(Debug)]
pub struct ElsewhereStatuses {
    ids: mpsc::UnboundedReceiver<TaskId>,
    _watch: ScopeWatch,
}

impl ElsewhereStatuses {
    /// The next task whose status changed elsewhere; `None` once the shared table stopped
    /// listening.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an id not yet returned stays queued.
    pub async fn recv(&mut self) -> Option<TaskId> {
        self.ids.recv().await
    }
}

impl Taskward {
    /// On a node of several ([`Builder::shared_tasks`]), watches the status changes of
    /// `scope`'s tasks that other nodes make (see
    /// [`SharedTasks::watch_scope`](taskward_core::SharedTasks::watch_scope)); `None` on a
    /// single node, or when the shared table watches nothing.
    pub fn watch_elsewhere(&self, scope: &Scope) -> Option<ElsewhereStatuses> {
        let shared = self.shared_tasks()?;
        let (tx, ids) = mpsc::unbounded_channel();
        let watch = shared.watch_scope(
            scope,
            Box::new(move |id| {
                let _ = tx.send(id);
            }),
        )?;
        Some(ElsewhereStatuses { ids, _watch: watch })
    }
}
