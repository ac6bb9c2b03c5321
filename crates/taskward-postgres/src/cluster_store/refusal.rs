//! Refusals: the fenced writes of a batch that matched no row, reported to the node.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use taskward_core::TaskId;
use tokio::sync::mpsc;

use crate::Fenced;

/// A write of a [`ClusterStore`](crate::ClusterStore) batch that the database refused: the
/// node no longer holds the task under the fence it wrote with.
///
/// The rest of the batch committed: a refusal is not an error of the commit (the journal
/// would retry it forever). The node should stop the task's work if it still runs (its
/// result is dropped) and read the task by key ([`Cluster::get`](crate::Cluster::get)) for
/// what the cluster holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Refusal {
    /// The task written.
    pub id: TaskId,
    /// Why the write was refused: reclaimed by another attempt or node, already terminal
    /// (with which status), or gone.
    pub why: Fenced,
}

impl Refusal {
    pub(crate) fn new(id: TaskId, why: Fenced) -> Self {
        Self { id, why }
    }
}

/// The receiving end of a store's refusals: a bounded channel, and a count of the refusals
/// dropped because it was full.
///
/// Taken once with [`ClusterStore::refusals`](crate::ClusterStore::refusals). The store never
/// waits on it: when [`ClusterStoreOptions::refusals`](crate::ClusterStoreOptions) refusals
/// are waiting unread, later ones are dropped and counted in [`dropped`](Self::dropped) (a
/// node that falls behind finds its lost tasks with the next heartbeat, whose
/// [`held`](crate::Heartbeat::held) no longer lists them).
#[derive(Debug)]
pub struct Refusals {
    receiver: mpsc::Receiver<Refusal>,
    dropped: Arc<AtomicU64>,
}

impl Refusals {
    /// The next refusal, waiting for one; `None` once the store is dropped and every
    /// refusal was read.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a refusal is taken only when it is returned.
    pub async fn recv(&mut self) -> Option<Refusal> {
        self.receiver.recv().await
    }

    /// The next refusal if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Option<Refusal> {
        self.receiver.try_recv().ok()
    }

    /// How many refusals were dropped because the channel was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The sending end, kept by the store's connection.
#[derive(Debug, Clone)]
pub(crate) struct Sink {
    sender: mpsc::Sender<Refusal>,
    dropped: Arc<AtomicU64>,
}

impl Sink {
    /// A channel of `capacity` refusals (at least one).
    pub(crate) fn channel(capacity: usize) -> (Sink, Refusals) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let sink = Sink {
            sender,
            dropped: Arc::clone(&dropped),
        };
        (sink, Refusals { receiver, dropped })
    }

    /// Reports `refusal` without waiting: dropped (and counted) when the channel is full,
    /// ignored when nobody reads it any more. Logged either way.
    pub(crate) fn report(&self, refusal: Refusal) {
        tracing::info!(task = %refusal.id, why = %refusal.why, "postgres cluster store: a write was refused");
        if let Err(mpsc::error::TrySendError::Full(_)) = self.sender.try_send(refusal) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}
