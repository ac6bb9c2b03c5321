//! The controls of live tasks, by id, in shards.
//!
//! The registry's desk inserts and removes them (one writer, under its book); runners,
//! waiters and the desk itself look them up from any worker. One map behind one lock made
//! every lookup and every write bounce the same cache line between the workers; each shard
//! here has its own lock on a cache line of its own, chosen by the id, as the store's shards
//! are.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use taskward_core::TaskId;

use crate::control::Control;
use crate::memory_store::hasher::IdHasher;

const SHARDS: usize = 16;

type Map = HashMap<TaskId, Arc<Control>, BuildHasherDefault<IdHasher>>;

/// One shard, alone on its cache line (two lines: the adjacent-line prefetcher pairs them).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard(RwLock<Map>);

/// The controls of live tasks (see the module docs).
#[derive(Debug)]
pub(crate) struct Controls {
    shards: Box<[Shard]>,
}

impl Default for Controls {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }
}

impl Controls {
    fn shard(&self, id: &TaskId) -> &RwLock<Map> {
        // Not the store's byte (15): a shard here and there would fill together.
        let b = id.as_uuid().as_bytes();
        &self.shards[usize::from(b[14]) % SHARDS].0
    }

    fn read(shard: &RwLock<Map>) -> RwLockReadGuard<'_, Map> {
        shard.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(shard: &RwLock<Map>) -> RwLockWriteGuard<'_, Map> {
        shard.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The control of a task, if it is live (or ended and its runner has not reported).
    pub(crate) fn get(&self, id: &TaskId) -> Option<Arc<Control>> {
        Self::read(self.shard(id)).get(id).cloned()
    }

    pub(crate) fn insert(&self, id: TaskId, control: Arc<Control>) {
        Self::write(self.shard(&id)).insert(id, control);
    }

    pub(crate) fn remove(&self, id: &TaskId) -> Option<Arc<Control>> {
        Self::write(self.shard(id)).remove(id)
    }

    /// Every control, shard by shard (each shard's read lock held only while it is copied).
    pub(crate) fn snapshot(&self) -> Vec<Arc<Control>> {
        let mut all = Vec::new();
        for shard in &self.shards {
            all.extend(Self::read(&shard.0).values().cloned());
        }
        all
    }

    /// The ids of every control, shard by shard.
    pub(crate) fn ids(&self) -> Vec<TaskId> {
        let mut all = Vec::new();
        for shard in &self.shards {
            all.extend(Self::read(&shard.0).keys().copied());
        }
        all
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| Self::read(&s.0).len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_is_found_by_its_id_across_the_shards() {
        let controls = Controls::default();
        let ids: Vec<TaskId> = (0..200).map(|_| TaskId::new()).collect();
        for id in &ids {
            controls.insert(*id, Control::without_work(*id));
        }
        assert_eq!(controls.len(), ids.len());
        assert!(
            ids.iter()
                .all(|id| controls.get(id).is_some_and(|c| c.id == *id))
        );
        let mut listed = controls.ids();
        listed.sort();
        let mut expected = ids.clone();
        expected.sort();
        assert_eq!(listed, expected);
        assert_eq!(controls.snapshot().len(), ids.len());

        let gone = controls.remove(&ids[0]).expect("it was there");
        assert_eq!(gone.id, ids[0]);
        assert!(controls.get(&ids[0]).is_none());
        assert!(controls.remove(&ids[0]).is_none());
        assert_eq!(controls.len(), ids.len() - 1);
    }
}
