//! The event audit: every task gets at most one terminal event, and (when the subscriber
//! did not lag) exactly as many terminal events as `wait` saw outcomes.

use std::collections::HashMap;

use taskward::{CancelledBy, Event, EventKind, Subscription, TaskId};

use crate::tally::Row;
use tokio_util::sync::CancellationToken;

/// What the audit counted.
#[derive(Debug, Default)]
pub(crate) struct Audit {
    pub(crate) completed: u64,
    pub(crate) failed: u64,
    pub(crate) cancelled: u64,
    pub(crate) expired: u64,
    /// Tasks that got a second terminal event.
    pub(crate) duplicates: u64,
    /// `late_result` events.
    pub(crate) late: u64,
    /// Tasks removed by their TTL (the `expired` event, terminal tasks included).
    pub(crate) removed: u64,
    /// Events missed by lagging.
    pub(crate) lagged: u64,
    /// The terminal event's row of every task (a few bytes each: a million fit).
    pub(crate) rows: HashMap<TaskId, Row>,
}

impl Audit {
    pub(crate) fn terminal(&self) -> u64 {
        self.completed + self.failed + self.cancelled + self.expired
    }
}

/// Reads events until `stop` fires and nothing more is buffered; `tasks` sizes the map of
/// terminal rows up front, so that no rehash stalls the audit behind the event stream.
pub(crate) async fn audit(mut sub: Subscription, stop: CancellationToken, tasks: usize) -> Audit {
    let mut audit = Audit {
        rows: HashMap::with_capacity(tasks),
        ..Audit::default()
    };
    loop {
        let event = tokio::select! {
            biased;
            event = sub.recv() => event,
            () = stop.cancelled() => None,
        };
        let event = match event {
            Some(Event::Task(event)) => event,
            Some(Event::Lagged(n)) => {
                audit.lagged += n;
                continue;
            }
            _ => return audit,
        };
        let terminal = match &event.kind {
            EventKind::Completed => &mut audit.completed,
            EventKind::Failed(_) => &mut audit.failed,
            EventKind::Cancelled(c) if c.by == CancelledBy::Expiry => &mut audit.expired,
            EventKind::Cancelled(_) => &mut audit.cancelled,
            EventKind::LateResult { .. } => {
                audit.late += 1;
                continue;
            }
            EventKind::Expired => {
                audit.removed += 1;
                continue;
            }
            _ => continue,
        };
        *terminal += 1;
        if let Some(row) = Row::of_event(&event.kind)
            && audit.rows.insert(event.task_id, row).is_some()
        {
            audit.duplicates += 1;
        }
    }
}
