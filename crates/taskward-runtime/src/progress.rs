//! The progress cell: where the work writes progress without a message per call.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use taskward_core::Progress;

const NO_TOTAL: u64 = u64::MAX;

/// Latest-wins progress shared by the work (writer) and the registry (reader).
///
/// A write is a few atomic operations (and a short lock only when the message changes). The
/// first write after the registry last read the cell marks it dirty and tells the caller to
/// nudge the registry; every later write until the next read only overwrites the values. So a
/// hot loop costs no message per call, and the registry sees the newest values whenever it
/// gets round to reading.
#[derive(Debug)]
pub(crate) struct ProgressCell {
    done: AtomicU64,
    total: AtomicU64,
    message: Mutex<Option<Arc<str>>>,
    dirty: AtomicBool,
}

impl ProgressCell {
    pub(crate) fn new() -> Self {
        Self {
            done: AtomicU64::new(0),
            total: AtomicU64::new(NO_TOTAL),
            message: Mutex::new(None),
            dirty: AtomicBool::new(false),
        }
    }

    /// Records progress; returns `true` when the registry must be nudged to read it.
    pub(crate) fn set(&self, done: u64, total: Option<u64>, message: Option<&str>) -> bool {
        self.done.fetch_max(done, Ordering::AcqRel);
        self.total
            .store(total.unwrap_or(NO_TOTAL), Ordering::Release);
        if let Some(m) = message {
            let mut current = self.message.lock().unwrap_or_else(|e| e.into_inner());
            if current.as_deref() != Some(m) {
                *current = Some(Arc::from(m));
            }
        }
        !self.dirty.load(Ordering::Acquire) && !self.dirty.swap(true, Ordering::AcqRel)
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
        let total = match self.total.load(Ordering::SeqCst) {
            NO_TOTAL => None,
            t => Some(t),
        };
        let message = self
            .message
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Progress::new(done, total, message)
    }

    /// Whether any progress was ever reported.
    pub(crate) fn is_reported(&self) -> bool {
        self.done.load(Ordering::Acquire) > 0
            || self.total.load(Ordering::Acquire) != NO_TOTAL
            || self
                .message
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_write_nudges_then_coalesces() {
        let cell = ProgressCell::new();
        assert!(cell.set(1, Some(10), Some("a")));
        assert!(!cell.set(2, Some(10), Some("b")));
        assert!(!cell.set(3, Some(10), None));
        let p = cell.take();
        assert_eq!(
            (p.done, p.total, p.message.as_deref()),
            (3, Some(10), Some("b"))
        );
        assert!(cell.set(4, None, None));
    }

    #[test]
    fn done_never_goes_backwards() {
        let cell = ProgressCell::new();
        cell.set(7, None, None);
        cell.set(3, None, None);
        assert_eq!(cell.take().done, 7);
    }
}
