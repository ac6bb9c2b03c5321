//! A durable store for tests: a "disk" that outlives the runtimes that write it, and counts
//! and can slow its commits.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use taskward::{
    Durability, DurableStore, Loaded, SessionRecord, StoreError, StoreWrite, StoredTask, TaskId,
    TaskRecord,
};

/// What the disk holds.
#[derive(Debug, Default)]
pub struct Platters {
    pub tasks: BTreeMap<TaskId, (TaskRecord, Option<Arc<Value>>)>,
    pub sessions: BTreeMap<Arc<str>, SessionRecord>,
    pub commits: usize,
    pub writes: usize,
}

/// A disk shared by the runtimes of one test (one "process" after another).
#[derive(Debug, Clone, Default)]
pub struct Disk {
    pub platters: Arc<Mutex<Platters>>,
    /// How long each commit takes.
    pub commit_time: Duration,
}

impl Disk {
    pub fn new() -> Self {
        Self::default()
    }

    /// A disk whose every commit takes `time` (on the writer thread).
    pub fn slow(time: Duration) -> Self {
        Self {
            commit_time: time,
            ..Self::default()
        }
    }

    /// What the disk holds at this instant, on a disk of its own: the process "dies" now,
    /// and whatever it writes later does not reach the copy.
    pub fn crash_copy(&self) -> Self {
        let p = self.platters.lock().unwrap();
        let copy = Platters {
            tasks: p.tasks.clone(),
            sessions: p.sessions.clone(),
            commits: 0,
            writes: 0,
        };
        Self {
            platters: Arc::new(Mutex::new(copy)),
            commit_time: Duration::ZERO,
        }
    }

    pub fn record(&self, id: TaskId) -> Option<TaskRecord> {
        self.platters
            .lock()
            .unwrap()
            .tasks
            .get(&id)
            .map(|t| t.0.clone())
    }

    pub fn commits(&self) -> usize {
        self.platters.lock().unwrap().commits
    }

    /// Writes a record as if an earlier process had.
    pub fn put(&self, record: TaskRecord) {
        self.platters
            .lock()
            .unwrap()
            .tasks
            .insert(record.id, (record, None));
    }
}

impl DurableStore for Disk {
    fn durability(&self) -> Durability {
        Durability::Process
    }

    fn load(&mut self) -> Result<Loaded, StoreError> {
        let platters = self.platters.lock().unwrap();
        let mut loaded = Loaded::default();
        let mut tasks: Vec<_> = platters
            .tasks
            .values()
            .map(|(r, c)| StoredTask::new(r.clone(), c.clone()))
            .collect();
        tasks.sort_by_key(|t| t.record.seq);
        loaded.tasks = tasks;
        loaded.sessions = platters.sessions.values().cloned().collect();
        Ok(loaded)
    }

    fn commit(&mut self, batch: &[StoreWrite]) -> Result<(), StoreError> {
        if !self.commit_time.is_zero() {
            std::thread::sleep(self.commit_time);
        }
        let mut platters = self.platters.lock().unwrap();
        platters.commits += 1;
        platters.writes += batch.len();
        for write in batch {
            match write {
                StoreWrite::Put(r) => {
                    let checkpoint = platters.tasks.get(&r.id).and_then(|t| t.1.clone());
                    platters.tasks.insert(r.id, ((**r).clone(), checkpoint));
                }
                StoreWrite::Remove(id) => {
                    platters.tasks.remove(id);
                }
                StoreWrite::Checkpoint(id, value) => {
                    if let Some(t) = platters.tasks.get_mut(id) {
                        t.1 = Some(value.clone());
                    }
                }
                StoreWrite::Session(s) => {
                    platters.sessions.insert(s.id.clone(), (**s).clone());
                }
                StoreWrite::SessionRemove(id) => {
                    platters.sessions.remove(id);
                }
                _ => {}
            }
        }
        Ok(())
    }
}
