//! The record changes the cluster makes in SQL transactions of its own (cancel, rescue), and
//! reading records back from rows.

use taskward_core::{
    Cancellation, CancelledBy, Failure, FailureCause, Outcome, Phase, Status, StoreError, TaskId,
    TaskRecord,
};
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::error::pg;

/// The statuses no transition leaves, as the `status` column spells them.
pub(crate) const TERMINAL: [&str; 3] = ["completed", "failed", "cancelled"];

/// Parses a record read as `record::text`.
pub(crate) fn parse(id: Uuid, text: &str) -> Option<TaskRecord> {
    match serde_json::from_str(text) {
        Ok(record) => Some(record),
        Err(e) => {
            tracing::warn!(task = %id, error = %e, "postgres cluster: a record does not parse");
            None
        }
    }
}

/// The record of row `row`, whose columns `idx` (the id) and `idx + 1` (`record::text`) are
/// read.
pub(crate) fn from_row(row: &Row, idx: usize) -> Result<Option<TaskRecord>, StoreError> {
    let id: Uuid = row.try_get(idx).map_err(pg("read a task"))?;
    let text: &str = row.try_get(idx + 1).map_err(pg("read a task"))?;
    Ok(parse(id, text))
}

/// The record cancelled by `by`: terminal, outcome cancelled.
pub(crate) fn cancelled(
    mut record: TaskRecord,
    by: CancelledBy,
    reason: Option<String>,
) -> TaskRecord {
    record.status = Status::Cancelled;
    record.phase = None;
    record.status_message = None;
    record.outcome = Some(Outcome::Cancelled(Cancellation::new(by, reason)));
    record.last_updated_at = OffsetDateTime::now_utc();
    record
}

/// The record failed with `failure`: terminal.
pub(crate) fn failed(mut record: TaskRecord, failure: Failure) -> TaskRecord {
    record.status = Status::Failed;
    record.phase = None;
    record.status_message = None;
    record.outcome = Some(Outcome::Failed(failure));
    record.last_updated_at = OffsetDateTime::now_utc();
    record
}

/// The record of a task whose node died, queued again for another node.
pub(crate) fn requeued(mut record: TaskRecord) -> TaskRecord {
    record.status = Status::Working;
    record.phase = Some(Phase::Queued);
    record.status_message = Some("its node stopped; waiting for another node".into());
    record.last_updated_at = OffsetDateTime::now_utc();
    record
}

/// The record of a task whose node died and that cannot run again: failed `interrupted`.
pub(crate) fn interrupted(record: TaskRecord, why: &str) -> TaskRecord {
    failed(record, Failure::new(FailureCause::Interrupted, why))
}

/// The task id of a row's uuid column.
pub(crate) fn task_id(row: &Row, idx: usize) -> Result<TaskId, StoreError> {
    row.try_get(idx)
        .map(TaskId::from_uuid)
        .map_err(pg("read a task id"))
}
