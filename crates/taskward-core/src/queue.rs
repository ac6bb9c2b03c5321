//! The shared queue of several nodes: what a node hands it for a task of a registered kind
//! that any node may run, and what it answers.

use crate::{Limit, TaskId, TaskRecord};

/// A task of a registered kind to queue for any node (see [`SharedTasks::enqueue`]): its
/// record (status `working`, phase `queued`) and the live limits to admit it under.
///
/// [`SharedTasks::enqueue`]: crate::SharedTasks::enqueue
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Enqueue {
    /// The record as the submitting node made it; its `depends_on` are checked.
    pub record: TaskRecord,
    /// The most live tasks in the whole cluster, counted with this one (`None`: no limit).
    pub max_live: Option<u64>,
    /// The most live tasks in the record's scope, counted with this one.
    pub max_live_per_scope: Option<u64>,
}

impl Enqueue {
    /// A task to queue under no live limit.
    pub fn new(record: TaskRecord) -> Self {
        Self {
            record,
            max_live: None,
            max_live_per_scope: None,
        }
    }

    /// Sets the live limits (`None`: no limit).
    pub fn limits(mut self, max_live: Option<u64>, max_live_per_scope: Option<u64>) -> Self {
        self.max_live = max_live;
        self.max_live_per_scope = max_live_per_scope;
        self
    }
}

/// What the shared queue did with an [`Enqueue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Enqueued {
    /// The task is durable in the queue.
    Queued,
    /// The task is durable, held already by the node that received it (attempt 1), which
    /// has room for it: that node's runtime runs it at once, as it would a claimed task,
    /// instead of waiting for a claim.
    Taken,
    /// A live limit is reached: nothing was queued.
    Refused {
        /// Which limit.
        limit: Limit,
        /// Its value.
        max: u64,
    },
    /// A dependency names no task of the record's scope: nothing was queued.
    UnknownDependency(TaskId),
}
