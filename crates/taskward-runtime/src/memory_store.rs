//! The default task store, in memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use taskward_core::{Cursor, ListQuery, Page, Scope, StoreError, TaskId, TaskRecord, TaskStore};

const SHARDS: usize = 16;

type Shard = RwLock<HashMap<TaskId, Arc<TaskRecord>>>;

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
    expiry_of: HashMap<TaskId, (Instant, u64)>,
    len: usize,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
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
                index.expiry_of.insert(id, (at, seq));
            }
            index.len += 1;
        }
        let previous = self
            .shard(&id)
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, record);
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
                Some(slot) => std::mem::replace(slot, record.clone()),
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
        let Some(old) = self
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
        if let Some(key) = index.expiry_of.remove(id) {
            index.by_expiry.remove(&key);
        }
        index.len -= 1;
        Ok(Some(old))
    }

    fn get(&self, id: &TaskId) -> Option<Arc<TaskRecord>> {
        self.shard(id)
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    fn list(&self, scope: &Scope, query: &ListQuery) -> Page {
        let size = query.page_size();
        let start = query.cursor.map_or(0, |c| c.seq().saturating_add(1));
        let mut tasks = Vec::with_capacity(size.min(64));
        let mut last_seq = None;
        let mut more = false;
        // Collect ids under the index lock, then read records shard by shard.
        let candidates: Vec<(u64, TaskId)> = {
            let index = self.index();
            let Some(ids) = index.by_scope.get(scope) else {
                return Page::default();
            };
            let filtered = query.status.is_some() || query.live_only;
            // Without filters a page needs size + 1 ids; with filters, read on in batches.
            let take = if filtered { usize::MAX } else { size + 1 };
            ids.range(start..)
                .take(take)
                .map(|(s, id)| (*s, *id))
                .collect()
        };
        for (seq, id) in candidates {
            let Some(record) = self.get(&id) else {
                continue;
            };
            if !query.matches(&record) {
                continue;
            }
            if tasks.len() == size {
                more = true;
                break;
            }
            last_seq = Some(seq);
            tasks.push(record);
        }
        let next_cursor = if more {
            last_seq.map(Cursor::after_seq)
        } else {
            None
        };
        Page::new(tasks, next_cursor)
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
