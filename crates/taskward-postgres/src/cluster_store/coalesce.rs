//! Progress coalescing: a held task's `Put` that changes neither its status nor its phase,
//! within the interval after the task's last write, waits as the task's pending record
//! instead of being written; the next write of the task that is not deferred supersedes
//! it, or the worker's timer writes it once the interval has passed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use taskward_core::{Phase, Status, StoreWrite, TaskId, TaskRecord};
use tokio::time::Instant;

/// What the store last wrote of each task it may defer writes of, and the record waiting.
#[derive(Debug)]
pub(super) struct Coalescer {
    interval: Duration,
    tasks: HashMap<TaskId, Entry>,
}

#[derive(Debug)]
struct Entry {
    status: Status,
    phase: Option<Phase>,
    at: Instant,
    pending: Option<Arc<TaskRecord>>,
}

/// A batch split into what goes to the database now and what waits.
#[derive(Debug, Default)]
pub(super) struct Split {
    /// The writes of this batch, with the pending records a checkpoint-only write carries.
    pub(super) writes: Vec<StoreWrite>,
    /// The records that wait (each its task's last `Put` in the batch).
    deferred: Vec<Arc<TaskRecord>>,
}

/// Per task: the index of its last `Put`/`Remove`, and whether it has a checkpoint.
#[derive(Default, Clone, Copy)]
struct Last {
    write: Option<usize>,
    checkpoint: bool,
}

impl Coalescer {
    pub(super) fn new(interval: Duration) -> Self {
        Self {
            interval,
            tasks: HashMap::new(),
        }
    }

    /// Forgets everything (a load: the rows are the truth again).
    pub(super) fn clear(&mut self) {
        self.tasks.clear();
    }

    /// Splits `batch`: a held task (in `fences`) whose last write is a non-terminal `Put` of
    /// the status and phase last written, less than the interval after that write, and
    /// without a checkpoint in the batch, waits; every other write goes now, and a task with
    /// only a checkpoint in the batch takes its pending record with it.
    pub(super) fn split(
        &self,
        batch: &[StoreWrite],
        fences: &HashMap<TaskId, u32>,
        now: Instant,
    ) -> Split {
        let mut last: HashMap<TaskId, Last> = HashMap::new();
        for (i, write) in batch.iter().enumerate() {
            match write {
                StoreWrite::Put(record) => last.entry(record.id).or_default().write = Some(i),
                StoreWrite::Remove(id) => last.entry(*id).or_default().write = Some(i),
                StoreWrite::Checkpoint(id, _) => last.entry(*id).or_default().checkpoint = true,
                _ => {}
            }
        }
        let mut split = Split::default();
        let mut waits: HashSet<TaskId> = HashSet::new();
        for (id, l) in &last {
            let defer = match l.write.map(|i| &batch[i]) {
                Some(StoreWrite::Put(record)) => !l.checkpoint && self.defers(record, fences, now),
                _ => false,
            };
            if defer {
                waits.insert(*id);
                if let Some(StoreWrite::Put(record)) = l.write.map(|i| &batch[i]) {
                    split.deferred.push(Arc::clone(record));
                }
            } else if l.write.is_none()
                && let Some(pending) = self.tasks.get(id).and_then(|e| e.pending.as_ref())
            {
                // A checkpoint alone: its pending record goes with it (same statement).
                split.writes.push(StoreWrite::Put(Arc::clone(pending)));
            }
        }
        split.writes.extend(
            batch
                .iter()
                .filter(|write| {
                    let id = match write {
                        StoreWrite::Put(record) => record.id,
                        StoreWrite::Remove(id) => *id,
                        _ => return true,
                    };
                    !waits.contains(&id)
                })
                .cloned(),
        );
        split
    }

    fn defers(&self, record: &TaskRecord, fences: &HashMap<TaskId, u32>, now: Instant) -> bool {
        if record.status.is_terminal() || !fences.contains_key(&record.id) {
            return false;
        }
        self.tasks.get(&record.id).is_some_and(|e| {
            e.status == record.status
                && e.phase == record.phase
                && now.saturating_duration_since(e.at) < self.interval
        })
    }

    /// Records a committed split at `now`: what was written, what waits, what left.
    pub(super) fn committed(&mut self, split: Split, now: Instant) {
        self.written(&split.writes, now);
        for record in split.deferred {
            if let Some(entry) = self.tasks.get_mut(&record.id) {
                entry.pending = Some(record);
            }
        }
    }

    /// Records committed writes at `now`: each task's last `Put` is its last write (a
    /// terminal one ends its tracking), a `Remove` drops the task and its pending record.
    fn written(&mut self, writes: &[StoreWrite], now: Instant) {
        for write in writes {
            match write {
                StoreWrite::Put(record) if record.status.is_terminal() => {
                    self.tasks.remove(&record.id);
                }
                StoreWrite::Put(record) => {
                    let entry = Entry {
                        status: record.status,
                        phase: record.phase,
                        at: now,
                        pending: None,
                    };
                    self.tasks.insert(record.id, entry);
                }
                StoreWrite::Remove(id) => {
                    self.tasks.remove(id);
                }
                _ => {}
            }
        }
    }

    /// When the first pending record is due, if any waits.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.tasks
            .values()
            .filter(|e| e.pending.is_some())
            .map(|e| e.at + self.interval)
            .min()
    }

    /// Takes the pending records due at `now` (all of them with `all`) as `Put`s.
    pub(super) fn take_due(&mut self, now: Instant, all: bool) -> Vec<StoreWrite> {
        let interval = self.interval;
        self.tasks
            .values_mut()
            .filter(|e| all || e.at + interval <= now)
            .filter_map(|e| e.pending.take())
            .map(StoreWrite::Put)
            .collect()
    }

    /// Records the flush of `writes` at `now`: written, or failed (then they wait another
    /// interval, unless a newer record replaced them meanwhile).
    pub(super) fn flushed(&mut self, writes: Vec<StoreWrite>, now: Instant, ok: bool) {
        if ok {
            self.written(&writes, now);
            return;
        }
        for write in writes {
            if let StoreWrite::Put(record) = write
                && let Some(entry) = self.tasks.get_mut(&record.id)
                && entry.pending.is_none()
            {
                entry.at = now;
                entry.pending = Some(record);
            }
        }
    }
}
