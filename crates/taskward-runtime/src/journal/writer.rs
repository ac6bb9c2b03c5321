//! The writer thread: takes everything queued, commits it in one call, advances the mark.

use std::time::Duration;

use taskward_core::{DurableStore, StoreWrite};

use super::Inner;

/// The first wait before a failed commit is tried again; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Once the journal is closed, a batch that keeps failing is given up after this many tries,
/// so that shutdown ends.
const TRIES_WHEN_CLOSED: u32 = 5;

/// The writer's loop, until the journal is closed and everything queued is committed.
pub(super) fn run(inner: &Inner, mut store: Box<dyn DurableStore>) {
    loop {
        let (batch, upto, closed) = {
            let mut queue = inner.lock();
            while queue.pending.is_empty() && queue.checkpoints.is_empty() && !queue.closed {
                queue.writer_waiting = true;
                queue = inner
                    .work
                    .wait(queue)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            if queue.pending.is_empty() && queue.checkpoints.is_empty() {
                // Nothing is left to commit: a submit still waiting is told the writer stopped.
                queue.waiters.clear();
                return;
            }
            let mut batch = std::mem::take(&mut queue.pending);
            // After the task writes: a store applies a checkpoint to the row as it stands.
            batch.extend(
                queue
                    .checkpoints
                    .drain()
                    .map(|(id, value)| StoreWrite::Checkpoint(id, value)),
            );
            (batch, queue.queued, queue.closed)
        };
        commit(inner, store.as_mut(), &batch, closed);
        let (durable, flushers) = {
            let mut queue = inner.lock();
            queue.committed = upto;
            let durable = queue.waiters.partition_point(|(target, _)| *target <= upto);
            let durable: Vec<_> = queue.waiters.drain(..durable).collect();
            (durable, queue.flushers)
        };
        // Wakes only the submits this commit made durable, and flush only when one waits.
        for (_, waiter) in durable {
            let _ = waiter.send(());
        }
        if flushers > 0 {
            inner.done.notify_all();
        }
    }
}

/// Commits one batch, trying again with backoff until it succeeds: the writes stay queued in
/// order, and submits wait for them (a full disk that frees up loses nothing).
fn commit(inner: &Inner, store: &mut dyn DurableStore, batch: &[StoreWrite], closed: bool) {
    let mut backoff = FIRST_BACKOFF;
    let mut tries = 0u32;
    loop {
        match store.commit(batch) {
            Ok(()) => return,
            Err(error) => {
                tries += 1;
                let closed = closed || inner.lock().closed;
                if closed && tries >= TRIES_WHEN_CLOSED {
                    tracing::error!(%error, writes = batch.len(), "the durable store failed at shutdown; the batch is given up");
                    return;
                }
                tracing::error!(%error, writes = batch.len(), retry_in = ?backoff, "the durable store failed to commit; trying again");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
