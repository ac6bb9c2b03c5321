//! The registry's book: counters, quotas, indexes and links that only the registry writes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ractor::ActorId;
use taskward_core::{ClosePolicy, Outcome, Phase, Progress, Scope, Status, TaskId, TaskRecord};

use crate::registry::{Dependencies, ResultCache, Retention, RunQueue};
use crate::spec::Owner;

/// An owner link of one task.
#[derive(Debug, Clone)]
pub(crate) struct Ownership {
    pub(crate) owner: Owner,
    pub(crate) policy: ClosePolicy,
}

/// A terminal record the store failed to write: the sweep writes it again.
#[derive(Debug, Clone)]
pub(crate) struct Unwritten {
    pub(crate) outcome: Outcome,
    pub(crate) progress: Option<Progress>,
    /// The task's last runner has reported: drop its control once the record is written.
    pub(crate) release: bool,
}

/// Everything the registry keeps beside the table. Lives in [`Shared`](crate::registry::Shared)
/// so that a restarted registry finds it as it was.
#[derive(Debug, Default)]
pub(crate) struct Book {
    /// The source of seqs (see [`Book::seq`]), shared with the routed submits.
    pub(crate) seqs: Arc<super::Seqs>,
    pub(crate) next_event: u64,
    pub(crate) live_total: usize,
    pub(crate) live_by_scope: HashMap<Scope, usize>,
    /// Live tasks outside the live counts (`TaskSpec::outside_live_limits`).
    pub(crate) uncounted: HashSet<TaskId>,
    pub(crate) idempotency: HashMap<(Scope, Arc<str>), TaskId>,
    pub(crate) owned_by: HashMap<TaskId, Ownership>,
    pub(crate) owners: HashMap<ActorId, HashSet<TaskId>>,
    pub(crate) children: HashMap<TaskId, Vec<TaskId>>,
    pub(crate) status_counts: [u64; 5],
    pub(crate) phase_counts: [u64; 6],
    pub(crate) closed: bool,
    /// Runners seen stopped (and not replaced) by the last sweep.
    pub(crate) stopped_runners: HashSet<ActorId>,
    /// Terminal records the store failed to write, by task.
    pub(crate) unwritten: HashMap<TaskId, Unwritten>,
    /// The retained finished tasks, oldest first, for the retention caps.
    pub(crate) retained: Retention,
    /// The completed tasks whose results a cacheable kind serves again.
    pub(crate) results: ResultCache,
    /// The running caps' slots and the tasks queued for one.
    pub(crate) queue: RunQueue,
    /// The tasks waiting for their dependencies.
    pub(crate) dependencies: Dependencies,
    /// Ended tasks whose dependents are still to be resolved, oldest first.
    pub(crate) resolving:
        std::collections::VecDeque<(TaskId, crate::registry::DepEnd, Vec<TaskId>)>,
    /// The desk is resolving dependents and starting queued tasks (see `Desk::admit_next`):
    /// a transition made meanwhile leaves its share to that loop.
    pub(crate) admitting: bool,
}

impl Book {
    /// The next task's seq: its creation order, unique in the table (see [`super::Seqs`]).
    pub(crate) fn seq(&mut self) -> u64 {
        self.seqs.next()
    }

    pub(crate) fn event_seq(&mut self) -> u64 {
        self.next_event += 1;
        self.next_event
    }

    /// Counts a record that enters the table.
    pub(crate) fn count_in(&mut self, record: &TaskRecord) {
        self.status_counts[record.status.index()] += 1;
        if let Some(phase) = record.phase {
            self.phase_counts[phase.index()] += 1;
        }
    }

    /// Counts a record that leaves the table.
    pub(crate) fn count_out(&mut self, record: &TaskRecord) {
        let s = &mut self.status_counts[record.status.index()];
        *s = s.saturating_sub(1);
        if let Some(phase) = record.phase {
            let p = &mut self.phase_counts[phase.index()];
            *p = p.saturating_sub(1);
        }
    }

    pub(crate) fn live_in(&self, scope: &Scope) -> usize {
        self.live_by_scope.get(scope).copied().unwrap_or(0)
    }

    pub(crate) fn add_live(&mut self, scope: &Scope) {
        self.live_total += 1;
        *self.live_by_scope.entry(scope.clone()).or_default() += 1;
    }

    pub(crate) fn remove_live(&mut self, scope: &Scope) {
        self.live_total = self.live_total.saturating_sub(1);
        if let Some(n) = self.live_by_scope.get_mut(scope) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.live_by_scope.remove(scope);
            }
        }
    }

    /// A task leaves the live counts (it ended, or was removed live); one outside them was
    /// never in.
    pub(crate) fn leave_live(&mut self, id: &TaskId, scope: &Scope) {
        if !self.uncounted.remove(id) {
            self.remove_live(scope);
        }
    }

    /// Forgets a removed task's links.
    pub(crate) fn forget(&mut self, record: &TaskRecord) {
        if let Some(key) = &record.idempotency_key {
            let k = (record.scope.clone(), key.clone());
            if self.idempotency.get(&k) == Some(&record.id) {
                self.idempotency.remove(&k);
            }
        }
        self.unown(&record.id);
        self.children.remove(&record.id);
        self.retained.forget(&record.id);
        self.results.forget(&record.id);
    }

    pub(crate) fn unown(&mut self, id: &TaskId) {
        if let Some(o) = self.owned_by.remove(id) {
            let owner = o.owner.cell.get_id();
            if let Some(tasks) = self.owners.get_mut(&owner) {
                tasks.remove(id);
                if tasks.is_empty() {
                    self.owners.remove(&owner);
                }
            }
        }
    }

    pub(crate) fn status_count(&self, status: Status) -> u64 {
        self.status_counts[status.index()]
    }

    pub(crate) fn phase_count(&self, phase: Phase) -> u64 {
        self.phase_counts[phase.index()]
    }
}
