//! The partition router: which runner holds a task, and how many tasks each one runs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ractor::{ActorId, RpcReplyPort};
use taskward_core::TaskId;
use tokio::sync::watch;

use super::{Post, RunnerMsg};

/// How long a caller waits for a partition that is being restarted.
const RESTART_WAIT: Duration = Duration::from_secs(5);

/// One partition's place in the router.
#[derive(Debug)]
struct Place {
    runner: Option<Arc<Post>>,
    /// Tasks whose work it runs now (kept by the runner itself).
    running: AtomicUsize,
}

/// A place alone on its cache line (two lines: the adjacent-line prefetcher pairs them): each
/// partition's runner counts its works from its own worker, so two places on one line would
/// bounce it between the workers.
#[derive(Debug)]
#[repr(align(128))]
struct Padded(RwLock<Place>);

/// The runners, one per partition, by index: a task belongs to the partition its id hashes
/// to, for every attempt, so its messages always reach the same runner.
///
/// Kept by the runtime, not by an actor: the runner supervisor fills a place when it starts
/// (or restarts) the runner of that partition, and anyone holding the runtime reads it.
#[derive(Debug)]
pub(crate) struct Partitions {
    places: Vec<Padded>,
    /// Bumped whenever a place changes, so a caller can wait for a restart.
    generation: watch::Sender<u64>,
}

impl Partitions {
    pub(crate) fn new(count: usize) -> Self {
        let places = (0..count.max(1))
            .map(|_| {
                Padded(RwLock::new(Place {
                    runner: None,
                    running: AtomicUsize::new(0),
                }))
            })
            .collect();
        Self {
            places,
            generation: watch::Sender::new(0),
        }
    }

    /// How many partitions there are.
    pub(crate) fn len(&self) -> usize {
        self.places.len()
    }

    /// The partition a task belongs to: its id's low bits (ids are random, so partitions fill
    /// evenly).
    pub(crate) fn index_of(&self, id: &TaskId) -> usize {
        (id.as_uuid().as_u128() % self.places.len() as u128) as usize
    }

    fn place(&self, index: usize) -> std::sync::RwLockReadGuard<'_, Place> {
        self.places[index]
            .0
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The runner (its post) of partition `index`, if one is running.
    pub(crate) fn runner(&self, index: usize) -> Option<Arc<Post>> {
        self.place(index).runner.clone()
    }

    /// The live runner that holds (or will hold) a task; `None` while its partition's runner
    /// is stopped and not replaced yet.
    pub(crate) fn for_task(&self, id: &TaskId) -> Option<Arc<Post>> {
        self.runner(self.index_of(id))
            .filter(|runner| !runner.is_stopped())
    }

    /// The runner `holder` (a task's holder, by its actor's id) if it is the one now in
    /// place for the task's partition: a holder that was replaced is gone with its works.
    pub(crate) fn holding(&self, id: &TaskId, holder: ActorId) -> Option<Arc<Post>> {
        self.runner(self.index_of(id))
            .filter(|runner| runner.actor_id() == Some(holder))
    }

    /// Every runner now in place.
    pub(crate) fn runners(&self) -> Vec<Arc<Post>> {
        (0..self.len()).filter_map(|i| self.runner(i)).collect()
    }

    /// Puts (or clears) the runner of partition `index`.
    pub(crate) fn set(&self, index: usize, runner: Option<Arc<Post>>) {
        {
            let mut place = self.places[index]
                .0
                .write()
                .unwrap_or_else(|e| e.into_inner());
            place.runner = runner;
            place.running.store(0, Ordering::Relaxed);
        }
        self.generation.send_modify(|g| *g += 1);
    }

    /// The partition whose runner is `id`.
    pub(crate) fn index_of_runner(&self, id: ActorId) -> Option<usize> {
        (0..self.len()).find(|&i| {
            self.place(i)
                .runner
                .as_ref()
                .is_some_and(|r| r.actor_id() == Some(id))
        })
    }

    /// Partitions whose runner has stopped and was not replaced yet.
    pub(crate) fn stopped(&self) -> Vec<ActorId> {
        (0..self.len())
            .filter_map(|i| {
                let place = self.place(i);
                let runner = place.runner.as_ref()?;
                runner.is_stopped().then(|| runner.actor_id()).flatten()
            })
            .collect()
    }

    /// Records how many tasks partition `index` runs now.
    pub(crate) fn set_running(&self, index: usize, running: usize) {
        self.place(index).running.store(running, Ordering::Relaxed);
    }

    /// Tasks whose work runs now, in all partitions.
    pub(crate) fn running(&self) -> usize {
        (0..self.len())
            .map(|i| self.place(i).running.load(Ordering::Relaxed))
            .sum()
    }

    /// The runner of a task's partition, waiting for one being restarted.
    pub(crate) async fn wait_for(&self, id: &TaskId) -> Option<Arc<Post>> {
        let mut generation = self.generation.subscribe();
        let deadline = tokio::time::Instant::now() + RESTART_WAIT;
        loop {
            generation.borrow_and_update();
            if let Some(runner) = self.for_task(id) {
                return Some(runner);
            }
            if tokio::time::timeout_at(deadline, generation.changed())
                .await
                .is_err()
            {
                return None;
            }
        }
    }

    /// Asks every runner a question and collects the answers that come before `until`.
    pub(crate) async fn ask_all<T: Send + 'static>(
        &self,
        ask: impl Fn(RpcReplyPort<T>) -> RunnerMsg,
        until: tokio::time::Instant,
    ) -> Vec<T> {
        let calls = self.runners().into_iter().map(|runner| {
            let (tx, rx) = ractor::concurrency::oneshot();
            let sent = runner.send(ask(tx.into()));
            async move {
                if !sent {
                    return None;
                }
                tokio::time::timeout_at(until, rx).await.ok()?.ok()
            }
        });
        futures_util::future::join_all(calls)
            .await
            .into_iter()
            .flatten()
            .collect()
    }
}
