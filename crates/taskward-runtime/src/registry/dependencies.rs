//! Task dependencies: which tasks wait for which, and how many they still wait for.
//!
//! A task waits while some task it depends on is live. Each dependency's end is looked up
//! once, by its id: O(dependents) per end, never a scan of the waiting tasks.

use std::collections::HashMap;

use taskward_core::{CancelledBy, FailureCause, Outcome, TaskId};

/// How a dependency ended, as its dependents need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DepEnd {
    Completed,
    Failed(FailureCause),
    Cancelled(CancelledBy),
    /// It is gone (removed before a restart found it).
    Gone,
}

impl DepEnd {
    pub(crate) fn of(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Completed { .. } => DepEnd::Completed,
            Outcome::Failed(f) => DepEnd::Failed(f.cause),
            Outcome::Cancelled(c) => DepEnd::Cancelled(c.by),
            _ => DepEnd::Gone,
        }
    }
}

/// The waiting tasks and their dependencies (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Dependencies {
    /// Per waiting task: the dependencies not completed yet.
    waiting: HashMap<TaskId, usize>,
    /// Per live dependency: the tasks waiting for it (some may have ended since: skipped).
    dependents: HashMap<TaskId, Vec<TaskId>>,
}

impl Dependencies {
    /// `id` waits for each of `live` (at least one).
    pub(crate) fn wait(&mut self, id: TaskId, live: &[TaskId]) {
        if live.is_empty() {
            return;
        }
        self.waiting.insert(id, live.len());
        for dep in live {
            self.dependents.entry(*dep).or_default().push(id);
        }
    }

    /// Whether no task waits and none is anyone's dependency: nothing to do when a task ends.
    pub(crate) fn is_empty(&self) -> bool {
        self.waiting.is_empty() && self.dependents.is_empty()
    }

    /// Tasks waiting now.
    pub(crate) fn len(&self) -> usize {
        self.waiting.len()
    }

    /// `id` ended or was removed: it waits no more, and is no one's dependency any more.
    /// Returns the tasks still waiting that waited for it.
    pub(crate) fn ended(&mut self, id: &TaskId) -> Vec<TaskId> {
        self.waiting.remove(id);
        let mut dependents = self.dependents.remove(id).unwrap_or_default();
        dependents.retain(|d| self.waiting.contains_key(d));
        dependents
    }

    /// The dependencies `id` still waits for.
    pub(crate) fn left(&self, id: &TaskId) -> Option<usize> {
        self.waiting.get(id).copied()
    }

    /// One of `id`'s dependencies completed: returns whether it waits for none any more (it is
    /// then forgotten).
    pub(crate) fn completed_one(&mut self, id: &TaskId) -> bool {
        let Some(left) = self.waiting.get_mut(id) else {
            return false;
        };
        *left = left.saturating_sub(1);
        if *left == 0 {
            self.waiting.remove(id);
            return true;
        }
        false
    }
}
