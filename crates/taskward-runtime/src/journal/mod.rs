//! The journal: the registry's writes, handed in batches to a durable store by one writer
//! thread (group commit), and the waits for them to be durable.
//!
//! The registry writes the in-memory table as before; each write is also queued here, in
//! order. The writer thread takes everything queued, commits it in one call, and advances the
//! committed mark. A submit waits for the mark to pass its record's write, so it returns once
//! the record is durable; many submits share one commit.

mod journaled;
mod writer;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use serde_json::Value;
use taskward_core::{Durability, DurableStore, Error, StoreError, StoreWrite, TaskId};
use tokio::sync::oneshot;

pub(crate) use journaled::Journaled;

/// What the writer and the registry share, under one lock.
#[derive(Debug, Default)]
struct Queue {
    /// Writes not yet taken by the writer, in order.
    pending: Vec<StoreWrite>,
    /// The latest checkpoint of each task since the last take: coalesced, the last one wins.
    checkpoints: HashMap<TaskId, Arc<Value>>,
    /// How many writes were ever queued.
    queued: u64,
    /// How many writes are durable (every write up to this count).
    committed: u64,
    /// The submits waiting for their writes to be durable: the count each waits for and its
    /// wake-up, in the order of the counts. A commit wakes only those it makes durable.
    waiters: VecDeque<(u64, oneshot::Sender<()>)>,
    /// Threads blocked in [`Journal::flush`].
    flushers: usize,
    /// The writer sleeps waiting for writes.
    writer_waiting: bool,
    /// No more writes: the writer commits what is queued and stops.
    closed: bool,
}

#[derive(Debug)]
struct Inner {
    queue: Mutex<Queue>,
    /// Wakes the writer.
    work: Condvar,
    /// Wakes threads blocked in [`Journal::flush`].
    done: Condvar,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The journal of one runtime (see the module docs).
#[derive(Debug)]
pub(crate) struct Journal {
    inner: Arc<Inner>,
    durability: Durability,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Journal {
    /// Starts the writer thread over `store`.
    pub(crate) fn start(store: Box<dyn DurableStore>) -> Result<Arc<Self>, Error> {
        let durability = store.durability();
        let inner = Arc::new(Inner {
            queue: Mutex::new(Queue::default()),
            work: Condvar::new(),
            done: Condvar::new(),
        });
        let thread_inner = inner.clone();
        let writer = std::thread::Builder::new()
            .name("taskward-journal".into())
            .spawn(move || writer::run(&thread_inner, store))
            .map_err(|e| {
                Error::Store(StoreError::with_source(
                    "cannot start the journal writer",
                    e,
                ))
            })?;
        Ok(Arc::new(Self {
            inner,
            durability,
            writer: Mutex::new(Some(writer)),
        }))
    }

    /// The policy the store's commits meet.
    pub(crate) fn durability(&self) -> Durability {
        self.durability
    }

    /// Queues one write. Never blocks on the store: it takes one short lock, and wakes the
    /// writer only when it sleeps.
    pub(crate) fn push(&self, write: StoreWrite) {
        let mut queue = self.inner.lock();
        if queue.closed {
            tracing::warn!("a write reached the journal after it closed; it is not persisted");
            return;
        }
        queue.pending.push(write);
        queue.queued += 1;
        if queue.writer_waiting {
            queue.writer_waiting = false;
            drop(queue);
            self.inner.work.notify_one();
        }
    }

    /// Queues a task's latest checkpoint, replacing one queued earlier and not yet taken: a
    /// work that checkpoints in a hot loop costs one write per commit, not one per call.
    pub(crate) fn checkpoint(&self, id: TaskId, value: Arc<Value>) {
        let mut queue = self.inner.lock();
        if queue.closed {
            return;
        }
        queue.checkpoints.insert(id, value);
        if queue.writer_waiting {
            queue.writer_waiting = false;
            drop(queue);
            self.inner.work.notify_one();
        }
    }

    /// How many writes were queued so far: a mark to wait for with
    /// [`synced_to`](Self::synced_to).
    pub(crate) fn queued(&self) -> u64 {
        self.inner.lock().queued
    }

    /// Waits until every write queued so far is durable.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only waits; the writes are committed whether or not anyone waits.
    pub(crate) async fn synced(&self) -> Result<(), Error> {
        let target = self.queued();
        self.synced_to(target).await
    }

    /// Waits until the first `target` writes are durable: those queued before a mark taken
    /// with [`queued`](Self::queued), and not the ones queued since (a submit waits for its
    /// record, not for its task's later transitions).
    ///
    /// # Cancel safety
    ///
    /// As [`synced`](Self::synced).
    pub(crate) async fn synced_to(&self, target: u64) -> Result<(), Error> {
        let durable = {
            let mut queue = self.inner.lock();
            if queue.committed >= target {
                return Ok(());
            }
            let (tx, rx) = oneshot::channel();
            // Kept in order of target, which the writer relies on: a mark taken earlier may
            // be waited for later than a newer one (near the back, almost always).
            let at = queue.waiters.partition_point(|(t, _)| *t <= target);
            queue.waiters.insert(at, (target, tx));
            rx
        };
        durable
            .await
            .map_err(|_| Error::Store(StoreError::new("the journal writer stopped")))
    }

    /// Blocks until every write queued so far is durable (for shutdown).
    pub(crate) fn flush(&self) {
        let mut queue = self.inner.lock();
        let target = queue.queued;
        queue.flushers += 1;
        while queue.committed < target && !self.writer_gone() {
            queue = self
                .inner
                .done
                .wait_timeout(queue, std::time::Duration::from_millis(100))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        queue.flushers -= 1;
    }

    fn writer_gone(&self) -> bool {
        self.writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_none_or(JoinHandle::is_finished)
    }

    /// Commits what is queued, stops the writer and waits for it.
    pub(crate) fn close(&self) {
        {
            let mut queue = self.inner.lock();
            queue.closed = true;
        }
        self.inner.work.notify_one();
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(writer) = writer
            && writer.join().is_err()
        {
            tracing::error!("the journal writer panicked");
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.close();
    }
}
