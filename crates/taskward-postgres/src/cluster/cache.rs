//! A node's cache of terminal records read from the shared table, so that a repeated read
//! of a finished task costs no round trip.
//!
//! A terminal row never changes again in the cluster: a fenced write of it is refused,
//! a cancel finds it terminal, a rescue leaves it alone, and a node's `Remove` forgets its
//! fence but keeps its row. It leaves the table only when the leader's sweep deletes it at
//! its expiry (`created_at + ttl`). So a cached terminal record is served only before that
//! expiry (read on this node's wall clock; the sweep reads the leader's, so the two agree
//! within the nodes' clock skew), and a live record is never cached. Entries also go at a `changed` notification of their task, and all of them at a
//! possibly missed notification (a cheap guard: no write is expected to change them). The
//! cache holds at most a count of entries and a number of bytes (the records' JSON text as
//! read), evicting the oldest first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use taskward_core::{Scope, TaskId, TaskRecord};
use time::OffsetDateTime;

/// The cache (see the module docs).
#[derive(Debug)]
pub(crate) struct TerminalCache {
    max_entries: usize,
    max_bytes: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<TaskId, Entry>,
    /// Insertion order, for eviction; may name ids removed since (skipped).
    order: VecDeque<TaskId>,
    bytes: usize,
}

#[derive(Debug)]
struct Entry {
    record: Arc<TaskRecord>,
    bytes: usize,
    expires_at: Option<OffsetDateTime>,
}

impl TerminalCache {
    /// A cache of at most `max_entries` records and `max_bytes` bytes (either 0: no cache).
    pub(crate) fn new(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            max_entries,
            max_bytes,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached record of `id` if it belongs to `scope` and has not expired at `now`; an
    /// expired entry is dropped.
    pub(crate) fn get(&self, scope: &Scope, id: TaskId, now: OffsetDateTime) -> Option<TaskRecord> {
        let mut inner = self.lock();
        let entry = inner.entries.get(&id)?;
        if entry.expires_at.is_some_and(|at| at <= now) {
            inner.remove(id);
            return None;
        }
        (entry.record.scope == *scope).then(|| (*entry.record).clone())
    }

    /// Keeps `record` (read as `bytes` bytes of text) if it is terminal, not expired at
    /// `now`, and fits; the oldest entries go to make room.
    pub(crate) fn put(&self, record: &TaskRecord, bytes: usize, now: OffsetDateTime) {
        let expires_at = record.expires_at();
        if !record.is_terminal()
            || self.max_entries == 0
            || bytes > self.max_bytes
            || expires_at.is_some_and(|at| at <= now)
        {
            return;
        }
        let mut inner = self.lock();
        inner.remove(record.id);
        while inner.entries.len() >= self.max_entries || inner.bytes + bytes > self.max_bytes {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            inner.remove(oldest);
        }
        inner.bytes += bytes;
        inner.order.push_back(record.id);
        inner.entries.insert(
            record.id,
            Entry {
                record: Arc::new(record.clone()),
                bytes,
                expires_at,
            },
        );
    }

    /// Drops the entry of `id`.
    pub(crate) fn forget(&self, id: TaskId) {
        self.lock().remove(id);
    }

    /// Drops every entry.
    pub(crate) fn clear(&self) {
        *self.lock() = Inner::default();
    }

    #[cfg(test)]
    fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.entries.len(), inner.bytes)
    }
}

impl Inner {
    fn remove(&mut self, id: TaskId) {
        if let Some(entry) = self.entries.remove(&id) {
            self.bytes -= entry.bytes;
            if self.order.len() > 2 * self.entries.len() + 16 {
                let entries = &self.entries;
                self.order.retain(|id| entries.contains_key(id));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use taskward_core::{Outcome, Status};

    use super::*;

    fn record(n: u64, ttl: Option<Duration>, status: Status) -> TaskRecord {
        let mut r = TaskRecord::new(TaskId::new(), Scope::session("s"), "k".into(), n);
        r.ttl = ttl;
        r.status = status;
        if status.is_terminal() {
            r.outcome = Some(Outcome::completed(serde_json::json!(n)));
        }
        r
    }

    #[test]
    fn only_terminal_records_are_kept_and_only_for_their_scope() {
        let cache = TerminalCache::new(8, 1 << 20);
        let now = OffsetDateTime::now_utc();
        let live = record(1, None, Status::Working);
        cache.put(&live, 10, now);
        assert!(cache.get(&live.scope, live.id, now).is_none());
        let done = record(2, None, Status::Completed);
        cache.put(&done, 10, now);
        assert_eq!(cache.get(&done.scope, done.id, now), Some(done.clone()));
        assert!(cache.get(&Scope::session("other"), done.id, now).is_none());
        cache.forget(done.id);
        assert!(cache.get(&done.scope, done.id, now).is_none());
    }

    #[test]
    fn an_entry_never_outlives_its_tasks_expiry() {
        let cache = TerminalCache::new(8, 1 << 20);
        let done = record(1, Some(Duration::from_secs(60)), Status::Completed);
        let at = done.expires_at().unwrap();
        cache.put(&done, 10, at - time::Duration::seconds(1));
        assert!(
            cache
                .get(&done.scope, done.id, at - time::Duration::seconds(1))
                .is_some()
        );
        assert!(
            cache.get(&done.scope, done.id, at).is_none(),
            "served at its expiry"
        );
        assert_eq!(cache.usage(), (0, 0), "the expired entry is dropped");
        // Already expired when read: not kept.
        cache.put(&done, 10, at);
        assert_eq!(cache.usage(), (0, 0));
    }

    #[test]
    fn the_count_and_the_bytes_are_bounded_oldest_out_first() {
        let cache = TerminalCache::new(3, 100);
        let now = OffsetDateTime::now_utc();
        let records: Vec<_> = (0..5).map(|n| record(n, None, Status::Completed)).collect();
        for r in &records {
            cache.put(r, 10, now);
        }
        assert_eq!(cache.usage(), (3, 30));
        assert!(cache.get(&records[1].scope, records[1].id, now).is_none());
        assert!(cache.get(&records[4].scope, records[4].id, now).is_some());

        // Bytes: a big one pushes the older out; one above the bound is not kept.
        let big = record(9, None, Status::Failed);
        cache.put(&big, 85, now);
        assert_eq!(cache.usage(), (2, 95));
        assert!(cache.get(&big.scope, big.id, now).is_some());
        let huge = record(10, None, Status::Cancelled);
        cache.put(&huge, 101, now);
        assert!(cache.get(&huge.scope, huge.id, now).is_none());
        assert_eq!(cache.usage(), (2, 95));

        // A re-put replaces, without counting twice; clear empties.
        cache.put(&big, 85, now);
        assert_eq!(cache.usage(), (2, 95));
        cache.clear();
        assert_eq!(cache.usage(), (0, 0));
    }

    #[test]
    fn a_zero_bound_caches_nothing() {
        let cache = TerminalCache::new(0, 0);
        let now = OffsetDateTime::now_utc();
        let done = record(1, None, Status::Completed);
        cache.put(&done, 0, now);
        assert!(cache.get(&done.scope, done.id, now).is_none());
    }
}
