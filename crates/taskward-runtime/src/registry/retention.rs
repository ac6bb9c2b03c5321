//! The retained finished tasks, in the order they finished: the index the retention caps
//! evict from, oldest first, in O(log n) per task.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use taskward_core::{Scope, TaskId};

/// One finished task as the index keeps it.
#[derive(Debug)]
struct Kept {
    id: TaskId,
    scope: Scope,
    bytes: usize,
}

/// One scope's finished tasks: their order and their bytes.
#[derive(Debug, Default)]
struct ScopeKept {
    order: BTreeSet<u64>,
    bytes: usize,
}

/// Every retained finished task, by the order it finished in, in total and per scope.
#[derive(Debug, Default)]
pub(crate) struct Retention {
    next: u64,
    order: BTreeMap<u64, Kept>,
    by_task: HashMap<TaskId, u64>,
    scopes: HashMap<Scope, ScopeKept>,
    bytes: usize,
}

/// The caps one check applies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caps {
    pub(crate) tasks: Option<usize>,
    pub(crate) tasks_per_scope: Option<usize>,
    pub(crate) bytes: Option<usize>,
    pub(crate) bytes_per_scope: Option<usize>,
}

impl Retention {
    /// Indexes a task that just finished, with the bytes of its stored outcome.
    pub(crate) fn keep(&mut self, id: TaskId, scope: &Scope, bytes: usize) {
        if self.by_task.contains_key(&id) {
            return;
        }
        self.next += 1;
        let at = self.next;
        let kept = self.scopes.entry(scope.clone()).or_default();
        kept.order.insert(at);
        kept.bytes += bytes;
        self.bytes += bytes;
        self.by_task.insert(id, at);
        self.order.insert(
            at,
            Kept {
                id,
                scope: scope.clone(),
                bytes,
            },
        );
    }

    /// Forgets a task (removed for any reason); nothing when it was not kept.
    pub(crate) fn forget(&mut self, id: &TaskId) {
        let Some(at) = self.by_task.remove(id) else {
            return;
        };
        let Some(kept) = self.order.remove(&at) else {
            return;
        };
        self.bytes = self.bytes.saturating_sub(kept.bytes);
        if let Some(scope) = self.scopes.get_mut(&kept.scope) {
            scope.order.remove(&at);
            scope.bytes = scope.bytes.saturating_sub(kept.bytes);
            if scope.order.is_empty() {
                self.scopes.remove(&kept.scope);
            }
        }
    }

    /// The oldest finished task to evict for `scope` to be within the caps, if any: its
    /// scope's oldest while the scope is over a per-scope cap, else the oldest of all while
    /// the total is over a cap. Never `newest`, the task that just finished: it stays even
    /// alone over a cap, so that its result can be read.
    pub(crate) fn over(&self, scope: &Scope, caps: Caps, newest: TaskId) -> Option<TaskId> {
        self.oldest_over(scope, caps).filter(|id| *id != newest)
    }

    fn oldest_over(&self, scope: &Scope, caps: Caps) -> Option<TaskId> {
        if let Some(kept) = self.scopes.get(scope) {
            let over = caps
                .tasks_per_scope
                .is_some_and(|max| kept.order.len() > max)
                || caps.bytes_per_scope.is_some_and(|max| kept.bytes > max);
            if over {
                let at = kept.order.first()?;
                return self.order.get(at).map(|k| k.id);
            }
        }
        let over = caps.tasks.is_some_and(|max| self.order.len() > max)
            || caps.bytes.is_some_and(|max| self.bytes > max);
        if over {
            return self.order.first_key_value().map(|(_, k)| k.id);
        }
        None
    }

    /// Finished tasks retained, and their bytes.
    pub(crate) fn totals(&self) -> (usize, usize) {
        (self.order.len(), self.bytes)
    }
}
