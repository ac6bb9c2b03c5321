//! A runner's timers: one ordered timer queue per partition, not a sleeping future per task.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};

use taskward_core::TaskId;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::RunnerMsg;
use super::post::Post;

/// An armed timer: when it fires, and a number no other timer of the partition has.
pub(crate) type TimerKey = (Instant, u64);

#[derive(Debug, Default)]
struct Queue {
    /// What each timer is for: the deadline, grace period or backoff of one attempt.
    entries: BTreeMap<TimerKey, (TaskId, u32)>,
    next_seq: u64,
}

/// The deadlines, grace periods and backoffs of a partition's tasks, ordered by time, and a
/// companion tokio task that sleeps until the earliest and tells the runner of each one that
/// expires with a [`RunnerMsg::Timer`] naming it.
///
/// The runner inserts and removes entries directly (one uncontended lock); keys are never
/// reused, so a timer removed after it fired removes nothing else, and the runner can tell a
/// stale expiry from the timer it has armed now. Timers fire at their exact instant.
///
/// Not tokio-util's `DelayQueue`: its keys are slab slots, reused once an entry has expired,
/// and expiries reach the runner as messages, so removing the key of a timer that had just
/// fired could remove another task's timer; it also rounds deadlines up to the millisecond.
#[derive(Debug)]
pub(crate) struct Timers {
    queue: Arc<Mutex<Queue>>,
    /// Wakes the companion when an earlier timer is armed.
    earlier: Arc<Notify>,
    ticker: JoinHandle<()>,
}

impl Timers {
    /// Starts the companion that tells the runner of `post` of each expiry.
    pub(crate) fn start(post: Weak<Post>) -> Self {
        let queue = Arc::new(Mutex::new(Queue::default()));
        let earlier = Arc::new(Notify::new());
        let ticker = tokio::spawn(tick(post, queue.clone(), earlier.clone()));
        Self {
            queue,
            earlier,
            ticker,
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Arms a timer for an attempt.
    pub(crate) fn insert(&self, id: TaskId, attempt: u32, at: Instant) -> TimerKey {
        let (key, first) = {
            let mut queue = self.queue();
            let key = (at, queue.next_seq);
            queue.next_seq += 1;
            queue.entries.insert(key, (id, attempt));
            let first = queue.entries.first_key_value().map(|(k, _)| *k) == Some(key);
            (key, first)
        };
        if first {
            self.earlier.notify_one();
        }
        key
    }

    /// Disarms a timer, if it has not fired yet.
    pub(crate) fn remove(&self, key: &TimerKey) {
        self.queue().entries.remove(key);
    }
}

impl Drop for Timers {
    fn drop(&mut self) {
        self.ticker.abort();
    }
}

/// The companion: fires every timer that is due, then sleeps until the next one (or until an
/// earlier one is armed).
async fn tick(post: Weak<Post>, queue: Arc<Mutex<Queue>>, earlier: Arc<Notify>) {
    loop {
        let (due, next) = {
            let mut queue = queue.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let mut due = Vec::new();
            while let Some(entry) = queue.entries.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                let ((_, seq), (id, attempt)) = entry.remove_entry();
                due.push((id, attempt, seq));
            }
            (due, queue.entries.first_key_value().map(|(k, _)| k.0))
        };
        if !due.is_empty() {
            let Some(post) = post.upgrade() else {
                return;
            };
            for (id, attempt, seq) in due {
                if !post.send(RunnerMsg::Timer { id, attempt, seq }) {
                    return;
                }
            }
        }
        match next {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = earlier.notified() => {}
                }
            }
            None => earlier.notified().await,
        }
    }
}
