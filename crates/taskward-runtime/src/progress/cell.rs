//! The progress cell: where the work writes progress without a message per call.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use taskward_core::Progress;

use super::ProgressMessage;

/// Latest-wins progress shared by the work (writer) and the registry (reader).
///
/// A write is a few atomic operations (and a short lock only when it sets or clears the
/// message). The first write after the registry last read the cell marks it dirty and tells
/// the caller to put the task on the registry's dirty-progress list; every later write until
/// the next read only overwrites the values. So a hot loop costs no message and no wake-up per
/// call, and the registry sees the newest values whenever it reads.
///
/// `done` never goes backwards (an atomic max); the total is stored with a flag of its own, so
/// any `u64` round-trips; a total below `done` is raised to `done` when read
/// ([`Progress::new`]).
#[derive(Debug)]
pub(crate) struct ProgressCell {
    done: AtomicU64,
    total: AtomicU64,
    has_total: AtomicBool,
    message: Mutex<Option<Arc<str>>>,
    dirty: AtomicBool,
    /// Set by the first write ever; never cleared.
    reported: AtomicBool,
}

impl ProgressCell {
    pub(crate) fn new() -> Self {
        Self {
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            has_total: AtomicBool::new(false),
            message: Mutex::new(None),
            dirty: AtomicBool::new(false),
            reported: AtomicBool::new(false),
        }
    }

    /// Records progress; returns `true` on the first write since the last read, when the
    /// caller must list the task as having progress to read.
    pub(crate) fn set(&self, done: u64, total: Option<u64>, message: ProgressMessage<'_>) -> bool {
        self.done.fetch_max(done, Ordering::AcqRel);
        match total {
            Some(t) => {
                self.total.store(t, Ordering::Release);
                self.has_total.store(true, Ordering::Release);
            }
            None => self.has_total.store(false, Ordering::Release),
        }
        match message {
            ProgressMessage::Keep => {}
            ProgressMessage::Set(m) => {
                let mut current = self.message.lock().unwrap_or_else(|e| e.into_inner());
                if current.as_deref() != Some(m) {
                    *current = Some(Arc::from(m));
                }
            }
            ProgressMessage::Clear => {
                *self.message.lock().unwrap_or_else(|e| e.into_inner()) = None;
            }
        }
        if self.dirty.load(Ordering::Acquire) {
            return false;
        }
        // Before the dirty mark, so whoever sees the cell dirty sees it reported.
        self.reported.store(true, Ordering::Release);
        !self.dirty.swap(true, Ordering::AcqRel)
    }

    /// Reads the latest progress and clears the dirty mark (before reading, so a write that
    /// races with the read marks the cell dirty again and is read next time).
    pub(crate) fn take(&self) -> Progress {
        self.dirty.store(false, Ordering::SeqCst);
        self.snapshot()
    }

    /// Reads the latest progress without clearing the dirty mark.
    pub(crate) fn snapshot(&self) -> Progress {
        let done = self.done.load(Ordering::SeqCst);
        let total = self
            .has_total
            .load(Ordering::SeqCst)
            .then(|| self.total.load(Ordering::SeqCst));
        let message = self
            .message
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Progress::new(done, total, message)
    }

    /// Whether any progress was ever reported.
    pub(crate) fn is_reported(&self) -> bool {
        self.reported.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(cell: &ProgressCell) -> (u64, Option<u64>, Option<String>) {
        let p = cell.take();
        (p.done, p.total, p.message.map(|m| m.to_string()))
    }

    #[test]
    fn first_write_lists_then_coalesces() {
        let cell = ProgressCell::new();
        assert!(!cell.is_reported());
        assert!(cell.set(1, Some(10), "a".into()));
        assert!(cell.is_reported());
        assert!(!cell.set(2, Some(10), "b".into()));
        assert!(!cell.set(3, Some(10), None.into()));
        assert_eq!(read(&cell), (3, Some(10), Some("b".into())));
        assert!(cell.set(4, None, None.into()));
    }

    #[test]
    fn done_never_goes_backwards() {
        let cell = ProgressCell::new();
        cell.set(7, None, None.into());
        cell.set(3, None, None.into());
        assert_eq!(cell.take().done, 7);
    }

    #[test]
    fn any_total_round_trips_and_none_is_unknown() {
        let cell = ProgressCell::new();
        cell.set(1, Some(u64::MAX), None.into());
        assert_eq!(read(&cell), (1, Some(u64::MAX), None));
        cell.set(1, None, None.into());
        assert_eq!(read(&cell), (1, None, None));
    }

    #[test]
    fn a_total_below_done_reads_as_done() {
        let cell = ProgressCell::new();
        cell.set(8, Some(5), None.into());
        assert_eq!(read(&cell), (8, Some(8), None));
        cell.set(9, Some(20), None.into());
        cell.set(2, Some(4), None.into());
        assert_eq!(read(&cell), (9, Some(9), None));
    }

    #[test]
    fn the_message_is_kept_replaced_or_cleared() {
        let cell = ProgressCell::new();
        cell.set(1, None, "a".into());
        cell.set(2, None, ProgressMessage::Keep);
        assert_eq!(read(&cell), (2, None, Some("a".into())));
        cell.set(3, None, ProgressMessage::Clear);
        assert_eq!(read(&cell), (3, None, None));
        cell.set(4, None, "b".into());
        assert_eq!(read(&cell), (4, None, Some("b".into())));
    }
}
