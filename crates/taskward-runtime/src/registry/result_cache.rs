//! The result cache's index (`Kind::cache_results`): the cache is the task table itself, and
//! this index finds in it, by scope, kind and input, the latest completed task whose result
//! may be served again, until when.
//!
//! An entry lives no longer than its task: it is forgotten when the task leaves the table
//! (expiry, eviction over a retention cap), so the cache is bounded by the retention caps and
//! persisted with the store (restore rebuilds the index from the restored tasks).

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};
use taskward_core::{Scope, TaskId};
use tokio::time::Instant;

/// Where a cached result is found: the submitter's scope (a cache shared across scopes would
/// hand one principal another's results), the kind, and a digest of the input's canonical
/// JSON (object keys sorted).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    scope: Scope,
    kind: Arc<str>,
    digest: [u8; 32],
}

impl CacheKey {
    pub(crate) fn new(scope: &Scope, kind: &Arc<str>, input: &Value) -> Self {
        let mut hasher = Sha256::new();
        // Writing into a hasher cannot fail.
        let _ = write_canonical(input, &mut hasher);
        Self {
            scope: scope.clone(),
            kind: kind.clone(),
            digest: hasher.finalize().into(),
        }
    }
}

/// One cached result: the task that carries it, served until `until` (on the runtime's clock).
#[derive(Debug, Clone, Copy)]
struct CacheEntry {
    id: TaskId,
    until: Instant,
}

/// The index, in the registry's book.
#[derive(Debug, Default)]
pub(crate) struct ResultCache {
    entries: HashMap<CacheKey, CacheEntry>,
    keys: HashMap<TaskId, CacheKey>,
}

impl ResultCache {
    /// Makes task `id` the entry of `key` until `until`, in place of any earlier one.
    pub(crate) fn put(&mut self, key: CacheKey, id: TaskId, until: Instant) {
        if let Some(old) = self.entries.insert(key.clone(), CacheEntry { id, until })
            && old.id != id
        {
            self.keys.remove(&old.id);
        }
        self.keys.insert(id, key);
    }

    /// The task whose result `key` finds at `now`; an entry past its time is dropped.
    pub(crate) fn fresh(&mut self, key: &CacheKey, now: Instant) -> Option<TaskId> {
        let entry = *self.entries.get(key)?;
        if now < entry.until {
            return Some(entry.id);
        }
        self.entries.remove(key);
        self.keys.remove(&entry.id);
        None
    }

    /// A task left the table: its entry, if it is one, goes with it.
    pub(crate) fn forget(&mut self, id: &TaskId) {
        if let Some(key) = self.keys.remove(id)
            && self.entries.get(&key).is_some_and(|e| e.id == *id)
        {
            self.entries.remove(&key);
        }
    }

    /// The number of entries (stale ones included until looked up or forgotten).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Writes `value` as JSON with every object's keys sorted, whatever the map's own order (the
/// `preserve_order` feature of serde_json keeps insertion order), so that equal inputs write
/// the same bytes.
fn write_canonical(value: &Value, out: &mut impl Write) -> io::Result<()> {
    match value {
        Value::Array(items) => {
            out.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_canonical(item, out)?;
            }
            out.write_all(b"]")
        }
        Value::Object(map) => {
            let mut members: Vec<_> = map.iter().collect();
            members.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.write_all(b"{")?;
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut *out, key)?;
                out.write_all(b":")?;
                write_canonical(item, out)?;
            }
            out.write_all(b"}")
        }
        scalar => Ok(serde_json::to_writer(out, scalar)?),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    fn key(input: Value) -> CacheKey {
        CacheKey::new(&Scope::global(), &Arc::from("k"), &input)
    }

    #[test]
    fn equal_inputs_share_a_key_whatever_their_key_order() {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":[{"y":2,"x":3}]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":[{"x":3,"y":2}],"b":1}"#).unwrap();
        assert_eq!(key(a), key(b));
        assert_ne!(key(json!({"a": 1})), key(json!({"a": "1"})));
        assert_ne!(key(json!([1, 2])), key(json!([2, 1])));
    }

    #[test]
    fn entries_end_with_their_time_and_their_task() {
        let mut cache = ResultCache::default();
        let (first, second) = (TaskId::new(), TaskId::new());
        let now = Instant::now();
        cache.put(key(json!(1)), first, now + Duration::from_secs(5));
        cache.put(key(json!(1)), second, now + Duration::from_secs(5));
        assert_eq!(cache.fresh(&key(json!(1)), now), Some(second));
        cache.forget(&first);
        assert_eq!(cache.fresh(&key(json!(1)), now), Some(second));
        assert_eq!(
            cache.fresh(&key(json!(1)), now + Duration::from_secs(5)),
            None
        );
        assert_eq!(cache.len(), 0);
        cache.put(key(json!(2)), first, now + Duration::from_secs(5));
        cache.forget(&first);
        assert_eq!(cache.fresh(&key(json!(2)), now), None);
    }
}
