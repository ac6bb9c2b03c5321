//! The loop of a node's duties: a timer at the heartbeat period, the listener's
//! notifications and the store's refusals, one at a time.

use std::collections::HashSet;
use std::sync::Arc;

use taskward_core::TaskId;
use taskward_runtime::Taskward;
use tokio::sync::oneshot;
use tokio::time::{MissedTickBehavior, interval};

use super::{Node, NodeOptions, Room};
use crate::{
    Cluster, Fenced, Fences, Leadership, Listener, NodeId, Notification, Refusal, Refusals,
};

/// The most notifications handled as one burst.
const MAX_BURST: usize = 1024;

/// What the loop keeps between its turns.
pub(super) struct Driver {
    pub(super) id: NodeId,
    pub(super) cluster: Cluster,
    pub(super) options: NodeOptions,
    pub(super) fences: Fences,
    pub(super) refusals: Refusals,
    pub(super) listener: Listener,
    pub(super) leadership: Leadership,
    pub(super) ward: Taskward,
    /// The tasks this node claimed or took at admission, until they end here: what its
    /// capacity counts (shared with the admissions of its view).
    pub(super) room: Arc<Room>,
    /// Tasks the last heartbeat did not list although the node runs them: lost if the next
    /// one does not list them either (one heartbeat's grace for a row being inserted).
    pub(super) missing: HashSet<TaskId>,
}

impl Driver {
    /// The duties of `node` for `ward`: from now on its admissions may take tasks.
    pub(super) fn new(node: Node, ward: Taskward) -> Self {
        node.room.running(Some(ward.clone()));
        Self {
            id: node.id,
            cluster: node.cluster,
            options: node.options,
            fences: node.fences,
            refusals: node.refusals,
            listener: node.listener,
            leadership: node.leadership,
            ward,
            room: node.room,
            missing: HashSet::new(),
        }
    }

    /// Runs the duties until `stopped` fires or its sender is dropped.
    pub(super) async fn run(mut self, mut stopped: oneshot::Receiver<()>) {
        let mut tick = interval(self.options.cluster.heartbeat);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tracing::info!(node = %self.id, "node: running its duties");
        loop {
            tokio::select! {
                biased;
                _ = &mut stopped => break,
                _ = tick.tick() => self.period().await,
                Some(notification) = self.listener.recv() => self.notified(notification).await,
                Some(refusal) = self.refusals.recv() => self.refused(refusal).await,
            }
        }
        self.room.running(None);
        tracing::info!(node = %self.id, "node: stopped");
    }

    /// Every heartbeat period: heartbeat, claim, and rescue and sweep while leading.
    async fn period(&mut self) {
        self.heartbeat().await;
        self.claim().await;
        self.lead().await;
    }

    /// A notification, with every other one already received (a burst is handled as one;
    /// the listener woke the waits of the node's shared view already): signals for this node
    /// act; queues of a registered kind trigger one claim; a
    /// possibly missed notification triggers a heartbeat and a claim.
    async fn notified(&mut self, first: Notification) {
        let mut burst = vec![first];
        while burst.len() < MAX_BURST {
            match self.listener.try_recv() {
                Some(next) => burst.push(next),
                None => break,
            }
        }
        let (mut claim, mut missed) = (false, false);
        for notification in burst {
            match notification {
                Notification::Cancel { id, node } if node == Some(self.id) => {
                    self.cancel_local(id, "cancelled on another node").await;
                }
                Notification::Input { id, node, .. } if node == Some(self.id) => {
                    self.deliver_answers(id).await;
                }
                Notification::Queued { kind } => claim |= self.ward.has_kind(&kind),
                Notification::MaybeMissed => missed = true,
                _ => {}
            }
        }
        if missed {
            self.heartbeat().await;
        }
        if claim || missed {
            self.claim().await;
        }
    }

    /// A write the database refused: the task is no longer this node's to finish, so it is
    /// released here (its work stops; reads and waits follow it to the shared table).
    async fn refused(&mut self, refusal: Refusal) {
        // The refusal names the row's attempt when it was refused; a node that has claimed
        // the task back since holds a later one (or that one, as its holder).
        let held_again = |attempt: u32, node: Option<NodeId>| {
            self.fences.get(refusal.id).is_some_and(|fence| {
                fence.attempt > attempt || (fence.attempt == attempt && node == Some(self.id))
            })
        };
        match refusal.why {
            // A write of a lapsed attempt, refused before or after this node claimed the task
            // back: the task goes on here under the new claim.
            Fenced::Reclaimed { attempt, node } if held_again(attempt, node) => {}
            Fenced::Terminal(status) => {
                tracing::info!(task = %refusal.id, %status, "node: the task ended on another node");
                self.release_local(refusal.id).await;
            }
            why => {
                tracing::warn!(task = %refusal.id, %why, "node: lost a task");
                self.release_local(refusal.id).await;
            }
        }
    }
}
