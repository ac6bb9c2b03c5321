//! The default task store, in memory.
//!
//! Locks: the indexes sit behind one mutex, the records in shards behind read-write locks.
//! A write that changes a task's index entries (insert, remove, a replace that changes the
//! status or the scope) takes the index mutex first and then the shard, and holds both until
//! the two agree; nothing takes the index mutex while it holds a shard lock, so the order is
//! one and deadlock-free. `get` takes one shard's read lock and never the index; `list` reads
//! ids from the index, lets it go, then reads the records shard by shard and skips any that
//! changed status or scope in between.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::BuildHasherDefault;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use taskward_core::{Cursor, ListQuery, Page, Scope, StoreError, TaskId, TaskRecord, TaskStore};

pub(crate) mod hasher;
mod index;
#[cfg(test)]
mod tests;

use hasher::IdHasher;
use index::Index;

const SHARDS: usize = 16;

/// A record and, when it has a TTL, its key in the expiry index.
type Slot = (Arc<TaskRecord>, Option<Instant>);

type Shard = RwLock<HashMap<TaskId, Slot, BuildHasherDefault<IdHasher>>>;

/// The in-memory [`TaskStore`]: the default.
///
/// Records sit in sharded maps behind read-write locks, so `get` from many threads costs one
/// uncontended read lock and an `Arc` clone. Each scope has an index per status ordered by
/// creation, so a list page, filtered by status, live only or not at all, is a range read from
/// its cursor: O(log n + page), however many tasks the filter skips. A time-ordered expiry
/// index serves the TTL sweep in O(expired).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use taskward_core::{ListQuery, Scope, TaskId, TaskRecord, TaskStore};
/// use taskward_runtime::MemoryStore;
///
/// let store = MemoryStore::new();
/// let scope = Scope::session("s");
/// let record = Arc::new(TaskRecord::new(TaskId::new(), scope.clone(), "job".into(), 1));
/// store.insert(record.clone(), None).unwrap();
/// assert_eq!(store.get(&record.id).unwrap().name.as_ref(), "job");
/// assert_eq!(store.list(&scope, &ListQuery::new()).tasks.len(), 1);
/// assert!(store.list(&Scope::session("other"), &ListQuery::new()).tasks.is_empty());
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    shards: Box<[Shard]>,
    index: Mutex<Index>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| RwLock::new(HashMap::default()))
                .collect(),
            index: Mutex::new(Index::default()),
        }
    }

    fn shard(&self, id: &TaskId) -> &Shard {
        let b = id.as_uuid().as_bytes();
        &self.shards[usize::from(b[15]) % SHARDS]
    }

    fn index(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

fn not_in_store(id: TaskId) -> StoreError {
    StoreError::new(format!("task {id} is not in the store"))
}

/// Whether two records of a task sit at the same index entry (same scope, status and seq).
fn same_entry(a: &TaskRecord, b: &TaskRecord) -> bool {
    a.status == b.status && a.seq == b.seq && a.scope == b.scope
}

impl TaskStore for MemoryStore {
    fn insert(
        &self,
        record: Arc<TaskRecord>,
        expires_at: Option<Instant>,
    ) -> Result<(), StoreError> {
        let id = record.id;
        let mut index = self.index();
        match self
            .shard(&id)
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(id)
        {
            Entry::Occupied(_) => return Err(StoreError::new(format!("task {id} inserted twice"))),
            Entry::Vacant(slot) => {
                slot.insert((record.clone(), expires_at));
            }
        }
        index.insert(&record, expires_at);
        Ok(())
    }

    fn replace(&self, record: Arc<TaskRecord>) -> Result<(), StoreError> {
        let id = record.id;
        // Progress, phase and messages leave the index alone: the shard lock is enough.
        {
            let mut shard = self.shard(&id).write().unwrap_or_else(|e| e.into_inner());
            let (slot, _) = shard.get_mut(&id).ok_or_else(|| not_in_store(id))?;
            if same_entry(slot, &record) {
                let old = std::mem::replace(slot, record);
                drop(shard);
                drop(old);
                return Ok(());
            }
        }
        // A new status or scope moves the entry: the index first, then the shard.
        let mut index = self.index();
        let old = {
            let mut shard = self.shard(&id).write().unwrap_or_else(|e| e.into_inner());
            let (slot, _) = shard.get_mut(&id).ok_or_else(|| not_in_store(id))?;
            std::mem::replace(slot, record.clone())
        };
        index.relink(&old, &record);
        drop(index);
        Ok(())
    }

    fn remove(&self, id: &TaskId) -> Result<Option<Arc<TaskRecord>>, StoreError> {
        let mut index = self.index();
        let removed = self
            .shard(id)
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        if let Some((old, expires_at)) = &removed {
            index.remove(old, *expires_at);
        }
        drop(index);
        Ok(removed.map(|(old, _)| old))
    }

    fn get(&self, id: &TaskId) -> Option<Arc<TaskRecord>> {
        self.shard(id)
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .map(|(record, _)| record.clone())
    }

    fn list(&self, scope: &Scope, query: &ListQuery) -> Page {
        let size = query.page_size();
        let mut from = query.cursor.map_or(0, |c| c.seq().saturating_add(1));
        let mut tasks = Vec::with_capacity(size.min(128));
        let mut last_seq = None;
        loop {
            // The ids the filters admit, and one more to tell whether a next page exists;
            // read on only when records changed since the index was read.
            let want = size + 1 - tasks.len();
            let candidates = self.index().page(scope, query, from, want);
            let mut exhausted = candidates.len() < want;
            for (seq, id) in candidates {
                #[cfg(test)]
                tests::probe::examine();
                match seq.checked_add(1) {
                    Some(next) => from = next,
                    None => exhausted = true,
                }
                let Some(record) = self
                    .get(&id)
                    .filter(|r| r.scope == *scope && query.matches(r))
                else {
                    continue;
                };
                if tasks.len() == size {
                    return Page::new(tasks, last_seq.map(Cursor::after_seq));
                }
                last_seq = Some(seq);
                tasks.push(record);
            }
            if exhausted {
                return Page::new(tasks, None);
            }
        }
    }

    fn scope_ids(&self, scope: &Scope) -> Vec<TaskId> {
        self.index().scope_ids(scope)
    }

    fn expired(&self, now: Instant, max: usize) -> Vec<TaskId> {
        self.index().expired(now, max)
    }

    fn len(&self) -> usize {
        self.index().len()
    }
}
