//! A batch's task writes, sorted by what the node holds: new rows, fenced updates, fenced
//! checkpoints, fences to forget.

use std::collections::HashMap;

use serde_json::Value;
use taskward_core::{InputRequest, StoreError, StoreWrite, TaskId};
use time::OffsetDateTime;
use tokio_postgres::types::Json;
use uuid::Uuid;

use crate::commit::{TaskColumns, expires_at, unknown};

/// The columns of each statement of a batch, as arrays. Only the last `Put`/`Remove` of
/// each task counts, as in the single-node store; a checkpoint goes with its task's `Put`
/// (same statement, so that a terminal `Put` after it cannot refuse it) unless a `Remove`
/// follows it.
#[derive(Default)]
pub(super) struct Plan<'a> {
    /// Tasks the node does not hold: new rows held by the node (attempt 1).
    pub(super) fresh: Fresh<'a>,
    /// Tasks the node holds: fenced updates.
    pub(super) held: Held<'a>,
    /// Checkpoints of held tasks without a `Put` in the batch.
    pub(super) checkpoints: Checkpoints<'a>,
    /// Tasks whose last write is a `Remove`: their fences are forgotten, their rows stay.
    pub(super) removed: Vec<TaskId>,
    /// The last list of outstanding input requests of each task the node holds.
    pub(super) inputs: Inputs<'a>,
}

#[derive(Default)]
pub(super) struct Inputs<'a> {
    pub(super) ids: Vec<Uuid>,
    pub(super) attempts: Vec<i32>,
    pub(super) requests: Vec<Json<&'a [InputRequest]>>,
}

#[derive(Default)]
pub(super) struct Fresh<'a> {
    pub(super) task: TaskColumns<'a>,
    pub(super) kinds: Vec<Option<&'a str>>,
    pub(super) checkpoints: Vec<Option<Json<&'a Value>>>,
}

#[derive(Default)]
pub(super) struct Held<'a> {
    pub(super) ids: Vec<Uuid>,
    pub(super) attempts: Vec<i32>,
    pub(super) statuses: Vec<&'static str>,
    pub(super) expiries: Vec<Option<OffsetDateTime>>,
    pub(super) records: Vec<Json<&'a taskward_core::TaskRecord>>,
    pub(super) checkpoints: Vec<Option<Json<&'a Value>>>,
}

#[derive(Default)]
pub(super) struct Checkpoints<'a> {
    pub(super) ids: Vec<Uuid>,
    pub(super) attempts: Vec<i32>,
    pub(super) values: Vec<Json<&'a Value>>,
}

/// Per task: the index of its last `Put`/`Remove`, of its last `Remove`, of its last
/// checkpoint.
#[derive(Default, Clone, Copy)]
struct Last {
    write: Option<usize>,
    remove: Option<usize>,
    checkpoint: Option<usize>,
}

impl<'a> Plan<'a> {
    /// Sorts `batch`'s task writes by `fences` (task → attempt the node holds it under).
    pub(super) fn of(
        batch: &'a [StoreWrite],
        fences: &HashMap<TaskId, u32>,
    ) -> Result<Self, StoreError> {
        let mut last: HashMap<&TaskId, Last> = HashMap::new();
        let mut inputs: HashMap<&TaskId, usize> = HashMap::new();
        for (i, write) in batch.iter().enumerate() {
            match write {
                StoreWrite::Put(record) => last.entry(&record.id).or_default().write = Some(i),
                StoreWrite::Remove(id) => {
                    let last = last.entry(id).or_default();
                    last.write = Some(i);
                    last.remove = Some(i);
                }
                StoreWrite::Checkpoint(id, _) => last.entry(id).or_default().checkpoint = Some(i),
                StoreWrite::Inputs(id, _) => _ = inputs.insert(id, i),
                StoreWrite::Session(_) | StoreWrite::SessionRemove(_) => {}
                other => return Err(unknown(other)),
            }
        }
        let checkpoint_of = |id: &TaskId| -> Option<Json<&'a Value>> {
            let last = last[id];
            let at = last.checkpoint?;
            if last.remove.is_some_and(|r| r > at) {
                return None;
            }
            match &batch[at] {
                StoreWrite::Checkpoint(_, value) => Some(Json(&**value)),
                _ => None,
            }
        };
        let mut plan = Plan::default();
        for (i, write) in batch.iter().enumerate() {
            match write {
                StoreWrite::Put(record) if last[&record.id].write == Some(i) => {
                    let checkpoint = checkpoint_of(&record.id);
                    match fences.get(&record.id) {
                        Some(&attempt) => {
                            let held = &mut plan.held;
                            held.ids.push(*record.id.as_uuid());
                            held.attempts
                                .push(i32::try_from(attempt).unwrap_or(i32::MAX));
                            held.statuses.push(record.status.as_str());
                            held.expiries.push(expires_at(record));
                            held.records.push(Json(&**record));
                            held.checkpoints.push(checkpoint);
                        }
                        None => {
                            let fresh = &mut plan.fresh;
                            fresh.task.push(record)?;
                            fresh
                                .kinds
                                .push(record.input.is_some().then_some(&*record.name));
                            fresh.checkpoints.push(checkpoint);
                        }
                    }
                }
                StoreWrite::Remove(id) if last[id].write == Some(i) => plan.removed.push(*id),
                // Written under the attempt the node holds the task by (a task inserted in
                // this batch: its first); a task it does not hold matches no row.
                StoreWrite::Inputs(id, requests) if inputs[id] == i => {
                    let attempt = fences.get(id).copied().unwrap_or(1);
                    plan.inputs.ids.push(*id.as_uuid());
                    plan.inputs
                        .attempts
                        .push(i32::try_from(attempt).unwrap_or(i32::MAX));
                    plan.inputs.requests.push(Json(&**requests));
                }
                StoreWrite::Checkpoint(id, value) if last[id].checkpoint == Some(i) => {
                    // With a `Put` last, the checkpoint went with it; after a `Remove`, or
                    // for a task the node does not hold, it is ignored.
                    let (Some(&attempt), None) = (fences.get(id), last[id].write) else {
                        continue;
                    };
                    let checkpoints = &mut plan.checkpoints;
                    checkpoints.ids.push(*id.as_uuid());
                    checkpoints
                        .attempts
                        .push(i32::try_from(attempt).unwrap_or(i32::MAX));
                    checkpoints.values.push(Json(&**value));
                }
                _ => {}
            }
        }
        Ok(plan)
    }
}
