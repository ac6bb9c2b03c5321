//! A durable store that counts what goes through it: commits (under the `power` policy each
//! is one fsync of SQLite's WAL), writes, and how long `load` took; and a table that notes
//! when each task's record reached the journal.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use taskward::{
    Durability, DurableStore, ListQuery, Loaded, MemoryStore, Page, Scope, StoreError, StoreWrite,
    TaskId, TaskRecord, TaskStore,
};

/// The counters, shared with the bench while the store is inside a runtime.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    commits: AtomicU64,
    writes: AtomicU64,
    load_ns: AtomicU64,
}

impl Counters {
    /// Commits completed so far.
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Acquire)
    }

    /// Writes committed so far.
    pub(crate) fn writes(&self) -> u64 {
        self.writes.load(Ordering::Acquire)
    }

    /// How long the last `load` took.
    pub(crate) fn load_time(&self) -> Duration {
        Duration::from_nanos(self.load_ns.load(Ordering::Acquire))
    }
}

/// `S`, counted.
#[derive(Debug)]
pub(crate) struct Counted<S> {
    store: S,
    counters: Arc<Counters>,
}

impl<S: DurableStore> Counted<S> {
    /// `store`, and the counters to read while a runtime uses it.
    pub(crate) fn new(store: S) -> (Self, Arc<Counters>) {
        let counters = Arc::new(Counters::default());
        let counted = Self {
            store,
            counters: counters.clone(),
        };
        (counted, counters)
    }
}

impl<S: DurableStore> DurableStore for Counted<S> {
    fn durability(&self) -> Durability {
        self.store.durability()
    }

    fn load(&mut self) -> Result<Loaded, StoreError> {
        let start = Instant::now();
        let loaded = self.store.load();
        let ns = start.elapsed().as_nanos() as u64;
        self.counters.load_ns.store(ns, Ordering::Release);
        loaded
    }

    fn commit(&mut self, batch: &[StoreWrite]) -> Result<(), StoreError> {
        self.store.commit(batch)?;
        self.counters
            .writes
            .fetch_add(batch.len() as u64, Ordering::AcqRel);
        // Counted once the commit is durable, before the runtime marks it committed: a submit
        // that reads the count after it returns sees every commit it waited for.
        self.counters.commits.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
}

/// The in-memory table under the journal, noting the commit count when each task's record
/// is inserted: the journal queues the record right after, so the commits completed between
/// that note and the submit's return are the commits the submit waited for.
#[derive(Debug)]
pub(crate) struct QueuedAt {
    table: MemoryStore,
    counters: Arc<Counters>,
    at: DashMap<TaskId, u64>,
}

impl QueuedAt {
    pub(crate) fn new(counters: Arc<Counters>) -> Self {
        Self {
            table: MemoryStore::new(),
            counters,
            at: DashMap::new(),
        }
    }

    /// Commits completed since the task's record was queued (and forgets the task).
    pub(crate) fn commits_since_queued(&self, id: &TaskId) -> u64 {
        let at = self.at.remove(id).map_or(0, |(_, at)| at);
        self.counters.commits() - at
    }
}

impl TaskStore for QueuedAt {
    fn insert(
        &self,
        record: Arc<TaskRecord>,
        expires_at: Option<std::time::Instant>,
    ) -> Result<(), StoreError> {
        self.at.insert(record.id, self.counters.commits());
        self.table.insert(record, expires_at)
    }

    fn replace(&self, record: Arc<TaskRecord>) -> Result<(), StoreError> {
        self.table.replace(record)
    }

    fn remove(&self, id: &TaskId) -> Result<Option<Arc<TaskRecord>>, StoreError> {
        self.table.remove(id)
    }

    fn get(&self, id: &TaskId) -> Option<Arc<TaskRecord>> {
        self.table.get(id)
    }

    fn list(&self, scope: &Scope, query: &ListQuery) -> Page {
        self.table.list(scope, query)
    }

    fn scope_ids(&self, scope: &Scope) -> Vec<TaskId> {
        self.table.scope_ids(scope)
    }

    fn expired(&self, now: std::time::Instant, max: usize) -> Vec<TaskId> {
        self.table.expired(now, max)
    }

    fn len(&self) -> usize {
        self.table.len()
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.table.flush()
    }
}
