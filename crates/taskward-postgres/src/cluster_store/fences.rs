//! The fences of the tasks a node holds: which attempt its writes of each task name.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use taskward_core::{StoreError, TaskId};

use crate::{Claimed, Fence, NodeId};

/// The fences of the tasks a [`ClusterStore`](crate::ClusterStore)'s node holds, shared
/// between the store and the node: the store adds the tasks it inserts and those it loads,
/// and forgets those the runtime removes; the node [`adopt`](Self::adopt)s the tasks it
/// claims, so that the store writes them under their claim's attempt.
///
/// Cheap to clone (a shared map).
///
/// # Examples
///
/// ```no_run
/// use taskward_postgres::{Caps, Cluster, ClusterStore};
///
/// # async fn run(cluster: Cluster, store: &ClusterStore) -> Result<(), Box<dyn std::error::Error>> {
/// let fences = store.fences();
/// for claimed in cluster.claim(store.node(), &["resize"], 4, &Caps::new()).await? {
///     fences.adopt(&claimed)?;
///     // hand claimed.record to the runtime: its writes are now fenced by this claim
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Fences {
    node: NodeId,
    attempts: Arc<Mutex<HashMap<TaskId, u32>>>,
}

impl Fences {
    pub(crate) fn new(node: NodeId) -> Self {
        Self {
            node,
            attempts: Arc::default(),
        }
    }

    /// Makes the store write `claimed`'s task under its claim: adopt a claimed task before
    /// the runtime writes it (a write of a task without a fence inserts a new row, which
    /// the claimed row refuses).
    ///
    /// # Errors
    ///
    /// The claim is another node's.
    pub fn adopt(&self, claimed: &Claimed) -> Result<(), StoreError> {
        let fence = claimed.fence;
        if fence.node != self.node {
            return Err(StoreError::new(format!(
                "postgres cluster store: task {} was claimed by node {}, not by this store's \
                 node {}",
                fence.id, fence.node, self.node
            )));
        }
        self.lock().insert(fence.id, fence.attempt);
        Ok(())
    }

    /// The fence the store writes task `id` under, if the node holds it.
    pub fn get(&self, id: TaskId) -> Option<Fence> {
        self.lock()
            .get(&id)
            .map(|&attempt| Fence::new(id, self.node, attempt))
    }

    /// How many tasks the node holds a fence of.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the node holds no fence.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, HashMap<TaskId, u32>> {
        // The map stays consistent whatever panicked while holding it (single inserts).
        self.attempts.lock().unwrap_or_else(|e| e.into_inner())
    }
}
