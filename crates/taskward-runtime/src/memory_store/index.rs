//! The store's ordered indexes: each scope's tasks by status and creation sequence, and every
//! task with a TTL by expiry.
//!
//! A scope keeps one map per status, `seq -> id`, so every task has exactly one entry: a
//! filtered page is a range read of the maps its filter admits (one for a status, the live
//! ones for `live_only`), merged in sequence order, from the cursor on. Terminal tasks a
//! filter excludes are never visited, so a page costs O(log n + page) whatever the filter.

use std::collections::HashMap;
use std::collections::btree_map::{self, BTreeMap};
use std::iter::Peekable;
use std::time::Instant;

use taskward_core::{ListQuery, Scope, Status, TaskId, TaskRecord};

/// Statuses, as many as the core defines.
const STATUSES: usize = Status::ALL.len();

/// The position of a status in [`Status::ALL`], which lists every status.
fn slot(status: Status) -> usize {
    Status::ALL
        .iter()
        .position(|s| *s == status)
        .expect("Status::ALL lists every status")
}

/// One scope's tasks: one map per status (in [`Status::ALL`]'s order), by creation sequence.
#[derive(Debug, Default)]
struct ScopeIndex([BTreeMap<u64, TaskId>; STATUSES]);

impl ScopeIndex {
    fn is_empty(&self) -> bool {
        self.0.iter().all(BTreeMap::is_empty)
    }

    /// The entries from `from` on of the maps whose status passes `admits`, in sequence order.
    fn range(&self, from: u64, admits: impl Fn(Status) -> bool) -> Merged<'_> {
        let heads = Status::ALL
            .iter()
            .zip(&self.0)
            .filter(|(status, ids)| admits(**status) && !ids.is_empty())
            .map(|(_, ids)| ids.range(from..).peekable())
            .collect();
        Merged { heads }
    }
}

/// Several ranges of sequence-ordered maps, merged into one sequence order. There are at most
/// as many as statuses, so the next entry is the least of a handful of heads.
struct Merged<'a> {
    heads: Vec<Peekable<btree_map::Range<'a, u64, TaskId>>>,
}

impl Iterator for Merged<'_> {
    type Item = (u64, TaskId);

    fn next(&mut self) -> Option<Self::Item> {
        let least = self
            .heads
            .iter_mut()
            .filter_map(|range| range.peek().map(|(seq, _)| **seq).zip(Some(range)))
            .min_by_key(|(seq, _)| *seq)?
            .1;
        least.next().map(|(seq, id)| (*seq, *id))
    }
}

/// The indexes of the in-memory store.
#[derive(Debug, Default)]
pub(super) struct Index {
    by_scope: HashMap<Scope, ScopeIndex>,
    by_expiry: BTreeMap<(Instant, u64), TaskId>,
    len: usize,
}

impl Index {
    /// Indexes a new task.
    pub(super) fn insert(&mut self, record: &TaskRecord, expires_at: Option<Instant>) {
        self.link(record);
        if let Some(at) = expires_at {
            self.by_expiry.insert((at, record.seq), record.id);
        }
        self.len += 1;
    }

    /// Moves a task's entry from where its old record put it to where its new one does.
    pub(super) fn relink(&mut self, old: &TaskRecord, new: &TaskRecord) {
        self.unlink(old);
        self.link(new);
    }

    /// Forgets a removed task.
    pub(super) fn remove(&mut self, record: &TaskRecord, expires_at: Option<Instant>) {
        self.unlink(record);
        if let Some(at) = expires_at {
            self.by_expiry.remove(&(at, record.seq));
        }
        self.len -= 1;
    }

    fn link(&mut self, record: &TaskRecord) {
        let ids = match self.by_scope.get_mut(&record.scope) {
            Some(ids) => ids,
            None => self.by_scope.entry(record.scope.clone()).or_default(),
        };
        ids.0[slot(record.status)].insert(record.seq, record.id);
    }

    fn unlink(&mut self, record: &TaskRecord) {
        if let Some(ids) = self.by_scope.get_mut(&record.scope) {
            ids.0[slot(record.status)].remove(&record.seq);
            if ids.is_empty() {
                self.by_scope.remove(&record.scope);
            }
        }
    }

    /// Up to `max` entries of `scope` from sequence `from` on that the query's filters admit,
    /// by their status alone, in sequence order.
    pub(super) fn page(
        &self,
        scope: &Scope,
        query: &ListQuery,
        from: u64,
        max: usize,
    ) -> Vec<(u64, TaskId)> {
        self.by_scope.get(scope).map_or_else(Vec::new, |ids| {
            ids.range(from, |status| query.admits(status))
                .take(max)
                .collect()
        })
    }

    /// Every task of a scope, oldest first.
    pub(super) fn scope_ids(&self, scope: &Scope) -> Vec<TaskId> {
        self.by_scope.get(scope).map_or_else(Vec::new, |ids| {
            ids.range(0, |_| true).map(|(_, id)| id).collect()
        })
    }

    /// Up to `max` ids whose expiry is at or before `now`, earliest first.
    pub(super) fn expired(&self, now: Instant, max: usize) -> Vec<TaskId> {
        self.by_expiry
            .iter()
            .take_while(|((at, _), _)| *at <= now)
            .take(max)
            .map(|(_, id)| *id)
            .collect()
    }

    /// The number of tasks indexed.
    pub(super) fn len(&self) -> usize {
        self.len
    }
}
