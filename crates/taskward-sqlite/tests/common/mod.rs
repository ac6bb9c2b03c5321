//! Helpers shared by the store's tests: records and sessions that exercise every column.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use taskward_core::{
    Outcome, Phase, Progress, Scope, SessionRecord, Status, StoreWrite, TaskId, TaskRecord,
};

/// A working task of a registered kind, with progress, a TTL and JSON input.
pub fn working(seq: u64) -> TaskRecord {
    let mut record = TaskRecord::new(
        TaskId::new(),
        Scope::session("s-1").with_principal("alice"),
        "count_primes".into(),
        seq,
    );
    record.phase = Some(Phase::Running);
    record.progress = Some(Progress::new(seq, Some(seq + 10), Some("counting".into())));
    record.ttl = Some(Duration::from_secs(3600));
    record.input = Some(Arc::new(json!({ "below": 1_000_000 })));
    record
}

/// The same task, completed with a value.
pub fn completed(record: &TaskRecord) -> TaskRecord {
    let mut done = record.clone();
    done.status = Status::Completed;
    done.phase = None;
    done.outcome = Some(Outcome::completed(json!({ "primes": 78_498 })));
    done
}

/// A `Put` of a record.
pub fn put(record: &TaskRecord) -> StoreWrite {
    StoreWrite::Put(Arc::new(record.clone()))
}

/// A `Checkpoint` of a value.
pub fn checkpoint(id: TaskId, value: serde_json::Value) -> StoreWrite {
    StoreWrite::Checkpoint(id, Arc::new(value))
}

/// A session bound to a principal.
pub fn session(id: &str) -> SessionRecord {
    let mut session = SessionRecord::new(id, Some("alice".into()));
    session.data = json!({ "protocolVersion": "2025-11-25" });
    session.expires_at = Some(session.created_at + Duration::from_secs(600));
    session
}
