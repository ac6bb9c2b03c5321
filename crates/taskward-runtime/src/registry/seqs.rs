//! Task seqs: the creation order, unique in the table (and across nodes).

use std::sync::atomic::{AtomicU64, Ordering};

/// The bits of a seq that hold the node's slot (see [`Seqs::next`]).
pub(crate) const SLOT_BITS: u32 = 10;

/// The source of task seqs, shared by the registry and the submits routed to the shared
/// queue (which never pass through the registry), so that both draw from one sequence.
#[derive(Debug, Default)]
pub(crate) struct Seqs {
    /// The last seq given.
    last: AtomicU64,
    /// This node's slot, when it is one of several: seqs are then unique across nodes.
    slot: Option<u16>,
}

impl Seqs {
    pub(crate) fn new(slot: Option<u16>) -> Self {
        Self {
            last: AtomicU64::new(0),
            slot,
        }
    }

    /// The next task's seq: its creation order, unique in the table.
    ///
    /// On a single node a counter. On one of several nodes (a slot), unique across them
    /// without asking: microseconds since the Unix epoch (or one past the last seq's, if the
    /// clock has not moved on or went back) above the node's slot in the low [`SLOT_BITS`]
    /// bits, so that a page of a scope across nodes is in creation order within the clocks'
    /// skew, and two nodes never give the same seq. It fits PostgreSQL's `bigint` until the
    /// year 2248.
    pub(crate) fn next(&self) -> u64 {
        let step = |last: u64| match self.slot {
            None => last + 1,
            Some(slot) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| {
                        u64::try_from(d.as_micros()).unwrap_or(u64::MAX >> SLOT_BITS)
                    });
                let time = now.max((last >> SLOT_BITS) + 1);
                (time << SLOT_BITS) | u64::from(slot)
            }
        };
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let next = step(last);
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(now) => last = now,
            }
        }
    }

    /// Makes the next seqs come after `seq` (a restored task's).
    pub(crate) fn at_least(&self, seq: u64) {
        self.last.fetch_max(seq, Ordering::AcqRel);
    }
}
