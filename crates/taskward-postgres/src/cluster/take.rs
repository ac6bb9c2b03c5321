//! Taking a task at admission: a task the receiving node has room for is inserted already
//! held by that node (attempt 1, a lease, as
//! [`Cluster::insert_local`](super::Cluster::insert_local) does) and runs there at once,
//! with no claim round trip, when nothing else would claim it first.
//!
//! A task of the batch is taken when it passed admission, has no dependency, no cap
//! ([`Caps`](crate::Caps), global or of its kind) applies to it, the node has a free slot
//! (its capacity minus the claimed and taken tasks it runs, shared with its claims through
//! its room), and no claimable task of its kind with at least its priority waits in the
//! queue (read, in the admission's transaction, from the `tasks_queue` index), nor a task
//! of its kind queued earlier in the batch: taking never overtakes the queue's order.

use std::collections::{BTreeMap, HashSet};

use taskward_core::{Enqueue, Enqueued, StoreError, TaskId};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::{Claimed, Fence, NewTask};
use crate::error::pg;
use crate::node::{Reserved, Room};

/// The kinds of which a claimable task waits with at least the given priority.
const WAITING: &str = "SELECT k.kind FROM unnest($1::text[], $2::int4[]) AS k(kind, priority) \
     WHERE EXISTS (SELECT 1 FROM tasks t WHERE t.queued AND t.kind = k.kind \
     AND t.priority >= k.priority AND (t.available_at IS NULL OR t.available_at <= now()))";

/// Which tasks of a batch are taken, and the slots reserved for them until they count.
pub(super) struct Takes<'a> {
    /// One per task of the batch.
    pub(super) taken: Vec<bool>,
    reserved: Option<(&'a Room, Reserved<'a>)>,
}

impl<'a> Takes<'a> {
    fn none(len: usize) -> Self {
        Self {
            taken: vec![false; len],
            reserved: None,
        }
    }

    /// Reserves, before the admission's transaction, the slots of `room` that the tasks of
    /// `batch` might take (the ones without dependency or cap).
    pub(super) async fn reserve(
        batch: &[Enqueue],
        room: Option<&'a Room>,
    ) -> Option<(&'a Room, Reserved<'a>)> {
        let room = room?;
        let potential = batch
            .iter()
            .filter(|t| t.record.depends_on.is_empty() && room.uncapped(&t.record.name))
            .count();
        if potential == 0 {
            return None;
        }
        let wanted = u32::try_from(potential).unwrap_or(u32::MAX);
        let reserved = Reserved::admission(room, wanted).await;
        (reserved.n > 0).then_some((room, reserved))
    }

    /// Chooses the tasks of `batch` (answered `answers` so far) that the node of the
    /// `reserved` room takes.
    pub(super) async fn plan(
        tx: &Transaction<'_>,
        batch: &[Enqueue],
        answers: &[Enqueued],
        reserved: Option<(&'a Room, Reserved<'a>)>,
    ) -> Result<Self, StoreError> {
        let Some((room, reserved)) = reserved else {
            return Ok(Self::none(batch.len()));
        };
        let candidate = |i: usize| {
            let record = &batch[i].record;
            answers[i] == Enqueued::Queued
                && record.depends_on.is_empty()
                && room.uncapped(&record.name)
        };
        if !(0..batch.len()).any(candidate) {
            return Ok(Self::none(batch.len()));
        }
        let mut lowest: BTreeMap<&str, i32> = BTreeMap::new();
        for i in (0..batch.len()).filter(|&i| candidate(i)) {
            let record = &batch[i].record;
            let at = lowest.entry(&*record.name).or_insert(record.priority);
            *at = (*at).min(record.priority);
        }
        let (kinds, priorities): (Vec<&str>, Vec<i32>) = lowest.into_iter().unzip();
        let rows = tx
            .query(WAITING, &[&kinds, &priorities])
            .await
            .map_err(pg("read the queue's head"))?;
        let mut blocked: HashSet<String> = rows
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()
            .map_err(pg("read the queue's head"))?;
        let mut left = reserved.n;
        let mut taken = vec![false; batch.len()];
        for (i, answer) in answers.iter().enumerate() {
            if *answer != Enqueued::Queued {
                continue;
            }
            let kind = &batch[i].record.name;
            if left > 0 && candidate(i) && !blocked.contains(&**kind) {
                taken[i] = true;
                left -= 1;
            } else {
                // Queued: a later task of its kind waits behind it.
                blocked.insert(kind.to_string());
            }
        }
        Ok(Self {
            taken,
            reserved: Some((room, reserved)),
        })
    }

    /// Once the admission committed: the node holds the fence of each taken task that was
    /// inserted (`inserted`), and its room counts it until the runtime runs it. Returns
    /// their ids.
    pub(super) fn settle(self, held: &[NewTask], inserted: &[Uuid]) -> HashSet<TaskId> {
        let Some((room, reserved)) = self.reserved else {
            return HashSet::new();
        };
        let inserted: HashSet<&Uuid> = inserted.iter().collect();
        let mut settled = HashSet::new();
        for task in held {
            let id = task.record.id;
            if !inserted.contains(id.as_uuid()) {
                continue;
            }
            let claimed = Claimed {
                fence: Fence::new(id, room.node, 1),
                record: task.record.clone(),
                checkpoint: None,
                priority: task.priority,
            };
            if let Err(err) = room.fences.adopt(&claimed) {
                tracing::error!(task = %id, "postgres cluster: cannot hold a taken task: {err}");
                continue;
            }
            room.taken(id);
            settled.insert(id);
        }
        drop(reserved);
        settled
    }
}
