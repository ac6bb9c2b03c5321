//! Task dependencies: checked at submit, waited for while live, resolved as each ends.
//!
//! A task with dependencies is recorded `working`, phase `queued`, until every one of them
//! has completed; then it starts (or queues for a running slot). A dependency that fails
//! fails it (`dependency_failed`); one that is cancelled or expires cancels it (by
//! `dependency`). Ends are resolved by [`Desk::admit_next`]'s loop, so a chain of dependents
//! ends one after another, never by recursion.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::json;
use taskward_core::{CancelledBy, Error, Failure, FailureCause, Outcome, TaskId, TaskRecord};

use super::Desk;
use crate::control::Control;
use crate::registry::DepEnd;
use crate::spec::{MAX_DEPENDENCIES, TaskSpec};

/// How a task with work may start as it is recorded.
pub(super) enum Gate {
    /// Now: the caps allow it and it waits for nothing.
    Start,
    /// In the admission queue: a running cap is full.
    Queue,
    /// After these live dependencies complete.
    Wait(Vec<TaskId>),
    /// Never: this dependency ended without completing.
    Ended(TaskId, DepEnd),
}

impl Desk<'_> {
    /// The dependencies of a new task: at most [`MAX_DEPENDENCIES`], each a task of its scope.
    pub(super) fn check_dependencies(&self, spec: &TaskSpec) -> Result<(), Error> {
        let count = spec.depends_on.len();
        if count > MAX_DEPENDENCIES {
            let distinct: HashSet<&TaskId> = spec.depends_on.iter().collect();
            return Err(Error::TooManyDependencies {
                count: distinct.len(),
                max: MAX_DEPENDENCIES,
            });
        }
        for dep in &spec.depends_on {
            self.scoped(&spec.scope, *dep)?;
        }
        Ok(())
    }

    /// How a task with work may start: its dependencies (`depends_on`: the spec's, which a
    /// task claimed from the shared queue leaves empty, its dependencies having completed
    /// elsewhere) first, then the caps of its `name`.
    pub(super) fn gate(&self, depends_on: &[TaskId], name: &str) -> Gate {
        let mut live = Vec::new();
        for dep in depends_on {
            match self.dependency_state(dep) {
                None => live.push(*dep),
                Some(DepEnd::Completed) => {}
                Some(end) => return Gate::Ended(*dep, end),
            }
        }
        if !live.is_empty() {
            Gate::Wait(live)
        } else if self.book.queue.full(name).is_some() {
            Gate::Queue
        } else {
            Gate::Start
        }
    }

    /// How a dependency ended; `None` while it is live.
    fn dependency_state(&self, dep: &TaskId) -> Option<DepEnd> {
        if let Some(control) = self.shared.control(dep) {
            return control.outcome.get().map(DepEnd::of);
        }
        match self.shared.store.get(dep) {
            Some(record) if !record.is_terminal() => None,
            Some(record) => Some(record.outcome.as_ref().map_or(DepEnd::Gone, DepEnd::of)),
            None => Some(DepEnd::Gone),
        }
    }

    /// The message of a task waiting for `n` dependencies.
    pub(super) fn waiting_message(n: usize) -> String {
        match n {
            1 => "queued: waiting for 1 dependency".to_owned(),
            n => format!("queued: waiting for {n} dependencies"),
        }
    }

    /// A task ended (its terminal transition): it leaves the queue, frees its slot, waits no
    /// more, and its dependents are resolved.
    pub(super) fn leave_admission(&mut self, id: &TaskId, end: DepEnd) {
        self.book.queue.remove(id);
        if !self.book.dependencies.is_empty() {
            let dependents = self.book.dependencies.ended(id);
            if !dependents.is_empty() {
                self.book.resolving.push_back((*id, end, dependents));
            }
        }
        self.book.queue.free_slot(id);
        if !self.book.resolving.is_empty() || self.book.queue.len() > 0 {
            self.admit_next();
        }
    }

    /// `dep` ended: each of its dependents counts it done, or ends.
    pub(super) fn resolve_dependents(&mut self, dep: TaskId, end: DepEnd, dependents: Vec<TaskId>) {
        for id in dependents {
            let Some(control) = self.shared.control(&id) else {
                continue;
            };
            if control.is_terminal() {
                continue;
            }
            if end != DepEnd::Completed {
                self.end_on_dependency(&control, dep, end);
                continue;
            }
            if self.book.dependencies.completed_one(&id) {
                self.start_or_queue(&control);
            } else if let Some(left) = self.book.dependencies.left(&id) {
                self.set_queued(&control, &Self::waiting_message(left));
            }
        }
    }

    /// Ends a task whose dependency `dep` ended without completing: failed
    /// (`dependency_failed`) when it failed, cancelled (by `dependency`) otherwise.
    pub(super) fn end_on_dependency(
        &mut self,
        control: &Arc<Control>,
        dep: TaskId,
        end: DepEnd,
    ) -> Option<Arc<TaskRecord>> {
        match end {
            DepEnd::Completed => None,
            DepEnd::Failed(cause) => {
                let mut failure = Failure::new(
                    FailureCause::DependencyFailed,
                    format!("dependency {dep} failed ({cause})"),
                );
                failure.data =
                    Some(json!({ "dependency": dep.to_string(), "outcome": cause.as_str() }));
                let record = self.finish(control, Outcome::Failed(failure));
                self.remove_control(&control.id);
                record
            }
            DepEnd::Cancelled(by) => self.cancel_control(
                control,
                CancelledBy::Dependency,
                Some(format!("dependency {dep} was cancelled by {by}")),
            ),
            DepEnd::Gone => self.cancel_control(
                control,
                CancelledBy::Dependency,
                Some(format!("dependency {dep} is gone")),
            ),
        }
    }
}
