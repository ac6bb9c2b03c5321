//! The default task store, in memory.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use taskward_core::{Cursor, ListQuery, Page, Scope, StoreError, TaskId, TaskRecord, TaskStore};

const SHARDS: usize = 16;

/// A record and, when it has a TTL, its key in the expiry index.
type Slot = (Arc<TaskRecord>, Option<Instant>);

type Shard = RwLock<HashMap<TaskId, Slot, BuildHasherDefault<IdHasher>>>;

/// Hashes a [`TaskId`] by taking 64 of its bits. Ids are 128 bits from a CSPRNG and only the
/// runtime creates them, so they are already uniformly spread: SipHash over them (the
/// default, ~20 ns) buys nothing. A lookup of a chosen id cannot lengthen probing, since the
/// table holds only random ids.
#[derive(Debug, Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // A uuid hashes as its 16 bytes (after a length prefix on some paths): keep the last
        // eight, mixed with what came before.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }
}

/// Ids read from the scope index per batch when a filtered list reads on.
const LIST_BATCH: usize = 256;

/// The in-memory [`TaskStore`]: the default.
///
/// Records sit in sharded maps behind read-write locks, so `get` from many threads costs one
/// uncontended read lock and an `Arc` clone. A per-scope index ordered by creation serves list
/// pages from a cursor in O(page), and a time-ordered expiry index serves the TTL sweep in
/// O(expired).
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

#[derive(Debug, Default)]
struct Index {
    by_scope: HashMap<Scope, BTreeMap<u64, TaskId>>,
    by_expiry: BTreeMap<(Instant, u64), TaskId>,
    len: usize,
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

    fn index(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl TaskStore for MemoryStore {
    fn insert(
        &self,
        record: Arc<TaskRecord>,
        expires_at: Option<Instant>,
    ) -> Result<(), StoreError> {
        let id = record.id;
        let seq = record.seq;
        {
            let mut index = self.index();
            index
                .by_scope
                .entry(record.scope.clone())
                .or_default()
                .insert(seq, id);
            if let Some(at) = expires_at {
                index.by_expiry.insert((at, seq), id);
            }
            index.len += 1;
        }
        let previous = self
            .shard(&id)
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, (record, expires_at));
        if previous.is_some() {
            return Err(StoreError::new(format!("task {id} inserted twice")));
        }
        Ok(())
    }

    fn replace(&self, record: Arc<TaskRecord>) -> Result<(), StoreError> {
        let id = record.id;
        let old = {
            let mut shard = self.shard(&id).write().unwrap_or_else(|e| e.into_inner());
            match shard.get_mut(&id) {
                Some((slot, _)) => std::mem::replace(slot, record.clone()),
                None => return Err(StoreError::new(format!("task {id} is not in the store"))),
            }
        };
        if old.scope != record.scope {
            let mut index = self.index();
            if let Some(ids) = index.by_scope.get_mut(&old.scope) {
                ids.remove(&old.seq);
                if ids.is_empty() {
                    index.by_scope.remove(&old.scope);
                }
            }
            index
                .by_scope
                .entry(record.scope.clone())
                .or_default()
                .insert(record.seq, id);
        }
        Ok(())
    }

    fn remove(&self, id: &TaskId) -> Result<Option<Arc<TaskRecord>>, StoreError> {
        let Some((old, expires_at)) = self
            .shard(id)
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id)
        else {
            return Ok(None);
        };
        let mut index = self.index();
        if let Some(ids) = index.by_scope.get_mut(&old.scope) {
            ids.remove(&old.seq);
            if ids.is_empty() {
                index.by_scope.remove(&old.scope);
            }
        }
        if let Some(at) = expires_at {
            index.by_expiry.remove(&(at, old.seq));
        }
        index.len -= 1;
        Ok(Some(old))
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
        // Without filters a page needs size + 1 ids; with filters, read on in batches, so a
        // page costs O(page + skipped), never a copy of the scope's whole index.
        let filtered = query.status.is_some() || query.live_only;
        let batch = if filtered { LIST_BATCH } else { size + 1 };
        loop {
            // Collect a batch of ids under the index lock, then read records shard by shard.
            let candidates: Vec<(u64, TaskId)> = {
                let index = self.index();
                let Some(ids) = index.by_scope.get(scope) else {
                    return Page::new(tasks, None);
                };
                ids.range(from..)
                    .take(batch)
                    .map(|(s, id)| (*s, *id))
                    .collect()
            };
            let exhausted = candidates.len() < batch;
            for (seq, id) in candidates {
                from = seq.saturating_add(1);
                let Some(record) = self.get(&id) else {
                    continue;
                };
                if !query.matches(&record) {
                    continue;
                }
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
        self.index()
            .by_scope
            .get(scope)
            .map(|ids| ids.values().copied().collect())
            .unwrap_or_default()
    }

    fn expired(&self, now: Instant, max: usize) -> Vec<TaskId> {
        self.index()
            .by_expiry
            .iter()
            .take_while(|((at, _), _)| *at <= now)
            .take(max)
            .map(|(_, id)| *id)
            .collect()
    }

    fn len(&self) -> usize {
        self.index().len
    }
}
