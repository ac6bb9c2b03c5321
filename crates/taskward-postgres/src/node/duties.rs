//! The node's duties: heartbeat, claims, signals delivered to the runtime, and the leader's
//! rescue and sweep.

use std::collections::HashSet;
use std::sync::Arc;

use taskward_core::{StoredTask, TaskId};
use time::OffsetDateTime;

use super::Reserved;
use super::driver::Driver;
use super::give_back::give_back;
use crate::Claimed;

impl Driver {
    /// Renews the node's leases; fires the tokens of the held tasks cancelled elsewhere,
    /// delivers waiting answers, and releases the tasks the node runs that it no longer
    /// holds (missing from two heartbeats in a row).
    pub(super) async fn heartbeat(&mut self) {
        let beat = match self.cluster.heartbeat(self.id, self.options.capacity).await {
            Ok(beat) => beat,
            Err(err) => {
                tracing::warn!(node = %self.id, "node: heartbeat failed (retried next period): {err}");
                return;
            }
        };
        for id in beat.cancel_requested {
            self.cancel_local(id, "cancelled on another node").await;
        }
        for id in beat.answered {
            self.deliver_answers(id).await;
        }
        let held: HashSet<TaskId> = beat.held.into_iter().collect();
        let missing: HashSet<TaskId> = self
            .ward
            .live_tasks()
            .iter()
            .map(|record| record.id)
            .filter(|id| !held.contains(id) && self.fences.get(*id).is_some())
            .collect();
        let lost: Vec<TaskId> = missing.intersection(&self.missing).copied().collect();
        self.missing = missing;
        for id in lost {
            tracing::warn!(task = %id, node = %self.id, "node: lost a task it runs (its lease was taken)");
            self.release_local(id).await;
        }
    }

    /// Claims queued tasks of the registered kinds, up to the free capacity, and hands each
    /// to the runtime once the store writes it under its claim.
    pub(super) async fn claim(&mut self) {
        let kinds = self.ward.kinds();
        if kinds.is_empty() {
            return;
        }
        let room = Arc::clone(&self.room);
        let reserved = Reserved::claim(&room, self.options.capacity);
        let free = reserved.n;
        if free == 0 {
            return;
        }
        let kinds: Vec<&str> = kinds.iter().map(|k| &**k).collect();
        let claims = match self
            .cluster
            .claim(self.id, &kinds, free, &self.options.caps)
            .await
        {
            Ok(claims) => claims,
            Err(err) => {
                tracing::warn!(node = %self.id, "node: claim failed (retried next period): {err}");
                return;
            }
        };
        // Counted as taken until the runtime runs each: the rest of the room is free again.
        for claimed in &claims {
            room.taken(claimed.fence.id);
        }
        drop(reserved);
        for claimed in claims {
            self.start(claimed).await;
        }
    }

    /// Runs a claimed task here: its fence first, then the runtime adopts it. A task this
    /// node claimed back while it still runs it (its lease had lapsed) goes on under the new
    /// claim; one it ended already here cannot run again in this runtime, and is given back
    /// to the queue for another node, not before a lease from now.
    async fn start(&mut self, claimed: Claimed) {
        let id = claimed.fence.id;
        let here = self.ward.inspect(id);
        if here.as_ref().is_some_and(|r| r.is_terminal()) {
            let lease = self.options.cluster.lease;
            match give_back(&self.cluster, claimed.fence, lease).await {
                Ok(_) => {
                    tracing::warn!(task = %id, "node: claimed a task it ended here already; given back")
                }
                Err(err) => tracing::warn!(task = %id, "node: giving a claim back failed: {err}"),
            }
            return;
        }
        if let Err(err) = self.fences.adopt(&claimed) {
            tracing::error!(task = %id, "node: cannot adopt a claim: {err}");
            return;
        }
        if here.is_some() {
            tracing::info!(task = %id, attempt = claimed.fence.attempt, "node: claimed back a task it still runs");
            self.room.claimed(id);
            return;
        }
        let stored = StoredTask::new(claimed.record, claimed.checkpoint);
        match self.ward.adopt(stored).await {
            Ok(_) => {
                tracing::debug!(task = %id, attempt = claimed.fence.attempt, "node: claimed a task");
                self.room.claimed(id);
            }
            Err(err) => {
                tracing::warn!(task = %id, "node: the runtime refused a claimed task: {err}")
            }
        }
    }

    /// While this node leads: the rescue of dead nodes' tasks, the TTL sweep, then the
    /// dependents of tasks that will never complete.
    pub(super) async fn lead(&mut self) {
        if !self.leadership.is_leader() {
            return;
        }
        let now = OffsetDateTime::now_utc();
        match self.cluster.rescue(now).await {
            Ok(r) => {
                if !(r.requeued.is_empty() && r.failed.is_empty() && r.released.is_empty())
                    || r.nodes_removed > 0
                {
                    tracing::info!(
                        requeued = r.requeued.len(),
                        failed = r.failed.len(),
                        released = r.released.len(),
                        nodes_removed = r.nodes_removed,
                        "node: rescued the tasks of dead nodes"
                    );
                }
            }
            Err(err) => tracing::warn!("node: rescue failed (retried next period): {err}"),
        }
        match self.cluster.sweep(now).await {
            Ok(s) if !s.cancelled.is_empty() || s.removed > 0 => tracing::info!(
                cancelled = s.cancelled.len(),
                removed = s.removed,
                "node: swept expired tasks"
            ),
            Ok(_) => {}
            Err(err) => tracing::warn!("node: sweep failed (retried next period): {err}"),
        }
        match self.cluster.settle_dependents().await {
            Ok(s) if !s.failed.is_empty() || !s.cancelled.is_empty() => tracing::info!(
                failed = s.failed.len(),
                cancelled = s.cancelled.len(),
                "node: ended tasks whose dependencies will not complete"
            ),
            Ok(_) => {}
            Err(err) => {
                tracing::warn!("node: settling dependents failed (retried next period): {err}")
            }
        }
    }

    /// Cancels task `id` in this node's memory if it is live here (its token fires).
    pub(super) async fn cancel_local(&mut self, id: TaskId, why: &str) {
        let Some(record) = self.ward.inspect(id) else {
            return;
        };
        if record.is_terminal() {
            return;
        }
        if let Err(err) = self
            .ward
            .cancel(&record.scope, id, Some(why.to_owned()))
            .await
        {
            tracing::debug!(task = %id, "node: local cancel: {err}");
        }
    }

    /// Releases task `id` from this node's memory: another node holds it now (or ended it).
    /// Its work stops as by a cancel, but nothing is recorded here: reads and waits on this
    /// node follow the task to the shared table. Its fence stays: a write of it still
    /// queued is refused under it.
    pub(super) async fn release_local(&mut self, id: TaskId) {
        self.room.forget(id);
        match self.ward.release(id).await {
            Ok(_) => {
                tracing::info!(task = %id, node = %self.id, "node: released a task held elsewhere now")
            }
            Err(err) => tracing::debug!(task = %id, "node: release: {err}"),
        }
    }

    /// Takes the answers waiting for task `id` and hands each to its work, once the work
    /// has asked: an answer that came first waits in the table for a later heartbeat.
    pub(super) async fn deliver_answers(&mut self, id: TaskId) {
        let Some(fence) = self.fences.get(id) else {
            return;
        };
        let Some(record) = self.ward.inspect(id) else {
            return;
        };
        let asked = self
            .ward
            .input_requests(&record.scope, id)
            .is_ok_and(|requests| !requests.is_empty());
        if !asked {
            return;
        }
        let answers = match self.cluster.take_answers(fence).await {
            Ok(answers) => answers,
            Err(err) => {
                tracing::warn!(task = %id, "node: taking answers failed: {err}");
                return;
            }
        };
        for (key, value) in answers {
            if let Err(err) = self
                .ward
                .provide_input(&record.scope, id, &key, value)
                .await
            {
                tracing::warn!(task = %id, key, "node: an answer was not delivered: {err}");
            }
        }
    }
}
