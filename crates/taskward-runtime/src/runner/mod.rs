//! The runners: a fixed set of runner actors, one per partition of tasks (Elixir's
//! `PartitionSupervisor` over `Task.Supervisor`), each supervising the works of the tasks
//! hashed to it (erlmcp's `proc_lib` runner, done so that timeout and cancel actually fire).
//!
//! A runner keeps, for each task it holds, the tokio task that runs the work (caught at its
//! boundary, so a panic becomes a report), its cancel token, and its deadline, grace period or
//! retry backoff in the partition's timer queue ([`timers`]); its state and what it does on
//! each message are in [`state`]. The work never runs inside a handler, so the
//! runner's mailbox stays free for starts, deadlines, cancels, grace expiries and status
//! queries while the works run. Messages to a runner name the task.
//!
//! A runner's mailbox and state are its [`Post`], worked by whoever sends the runner a
//! message and finds it idle (the submitter starting a work, the work reporting its end), and
//! otherwise by whoever is at it, who looks again as it leaves: one mechanism, without a
//! wake-up of the runner on the hot paths.
//!
//! The runner supervisor ([`supervisor`]) starts the partitions, and restarts one that dies;
//! only the tasks of a dead partition fail (cause `runner_lost`, or retried under their
//! policy).

mod partitions;
mod post;
mod slot;
mod state;
mod status;
pub(crate) mod supervisor;
mod timers;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use taskward_core::TaskId;

pub(crate) use partitions::Partitions;
pub(crate) use post::Post;
pub(crate) use slot::{WorkEnd, json_len};
pub use status::RunnerStatus;

use crate::control::Control;
use crate::meter::Exceeded;
use crate::report::ReportPort;
use crate::table::Table;
use supervisor::RunnerSupMsg;

/// A runner actor: the runner of one partition.
#[derive(Debug)]
pub(crate) struct Runner;

#[derive(Debug)]
pub(crate) struct RunnerArgs {
    pub(crate) table: Arc<Table>,
    pub(crate) runners: Arc<Runners>,
    pub(crate) port: ReportPort,
    /// The partition it runs.
    pub(crate) index: usize,
}

/// The runners' side of the runtime: the partition router and the runner supervisor now
/// running.
#[derive(Debug)]
pub(crate) struct Runners {
    pub(crate) partitions: Partitions,
    sup: RwLock<Option<ActorRef<RunnerSupMsg>>>,
}

impl Runners {
    pub(crate) fn new(partitions: usize) -> Self {
        Self {
            partitions: Partitions::new(partitions),
            sup: RwLock::new(None),
        }
    }

    pub(crate) fn runner_sup(&self) -> Option<ActorRef<RunnerSupMsg>> {
        self.sup.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set_runner_sup(&self, sup: Option<ActorRef<RunnerSupMsg>>) {
        *self.sup.write().unwrap_or_else(|e| e.into_inner()) = sup;
    }
}

/// What a runner is told. Every message about a task names it.
#[derive(Debug)]
pub(crate) enum RunnerMsg {
    /// Start an attempt's work; the answer is the start acknowledgement (init_ack): the
    /// work's tokio task is spawned and its deadline armed.
    Start {
        control: Arc<Control>,
        attempt: u32,
        /// Report `Started` (the registry recorded the task as queued); `false` when the
        /// registry recorded it running as it handed it over.
        announce: bool,
        reply: RpcReplyPort<Result<(), String>>,
    },
    /// Start an attempt once `delay` has passed (a retry's backoff). `gated`: under the
    /// running caps, the attempt needs a slot, so the runner does not start it but reports
    /// `Ready` and lets the task go; the registry starts it (or queues it) as any start.
    Retry {
        control: Arc<Control>,
        attempt: u32,
        delay: Duration,
        gated: bool,
    },
    /// A work returned (or panicked).
    WorkDone {
        id: TaskId,
        attempt: u32,
        end: WorkEnd,
    },
    /// A timer of an attempt expired: its deadline, its grace period or its backoff.
    Timer { id: TaskId, attempt: u32, seq: u64 },
    /// An attempt's work went over its CPU budget or memory limit (sent by its meter).
    Exceeded {
        id: TaskId,
        attempt: u32,
        exceeded: Exceeded,
    },
    /// The task was cancelled (the registry has already fired its token).
    Cancel { id: TaskId },
    /// Stop the task's attempt so that the task is suspended: its attempt token fires, and
    /// after the grace period the work is aborted.
    Suspend { id: TaskId },
    /// Abort every work still running now (the shutdown deadline passed); answers how many.
    AbortAll(RpcReplyPort<usize>),
    /// Answer once no work runs (shutdown waits for it).
    Idle(RpcReplyPort<()>),
    /// Answer a status query about a task whose work runs here.
    Status {
        id: TaskId,
        reply: RpcReplyPort<Option<RunnerStatus>>,
    },
}

/// What the runner actor itself is told: work its post now. Whoever queues a message works
/// the post (see [`Post`]), so nothing on the task paths needs this; the actor is the
/// partition's identity under supervision: linked, monitored, killed, and its works stop with
/// it.
#[derive(Debug)]
pub(crate) struct Nudge;

impl Actor for Runner {
    type Msg = Nudge;
    type State = Arc<Post>;
    type Arguments = Arc<Post>;

    async fn pre_start(
        &self,
        myself: ActorRef<Nudge>,
        post: Arc<Post>,
    ) -> Result<Arc<Post>, ActorProcessingErr> {
        post.bind(myself);
        Ok(post)
    }

    async fn handle(
        &self,
        _myself: ActorRef<Nudge>,
        _message: Nudge,
        post: &mut Arc<Post>,
    ) -> Result<(), ActorProcessingErr> {
        // A handler that panics fails the runner (the supervisor sees why).
        post.work().map_err(ActorProcessingErr::from)
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Nudge>,
        post: &mut Arc<Post>,
    ) -> Result<(), ActorProcessingErr> {
        // Its works stop with it, aborted as the state drops; the supervisor fails their
        // tasks.
        post.close();
        Ok(())
    }
}

/// Where a start's acknowledgement (init_ack) arrives: `Ok` once the work is spawned.
pub(crate) type StartAck = ractor::concurrency::OneshotReceiver<Result<(), String>>;

/// Hands a task's first attempt to the runner `post`, which holds it from now on (so a cancel
/// or the runner's death reaches it even before the work starts). `announce`: the runner
/// reports `Started` (the task was recorded queued). The start is only queued: the caller
/// then [`kick`](Post::kick)s the post (the registry's desk does it once it has released its
/// book, so that the work's factory never runs under it). Returns where the acknowledgement
/// arrives; `None` when the runner is gone (the task is let go again).
pub(crate) fn hand_over(
    post: &Arc<Post>,
    control: &Arc<Control>,
    announce: bool,
) -> Option<StartAck> {
    let cell = post.cell()?;
    if post.is_stopped() {
        return None;
    }
    control.attach(cell, false);
    let (tx, rx) = ractor::concurrency::oneshot();
    let start = RunnerMsg::Start {
        control: control.clone(),
        // 1, or the next attempt of a task resumed after a restart.
        attempt: control.attempt(),
        announce,
        reply: tx.into(),
    };
    if !post.queue(start) {
        control.detach();
        return None;
    }
    Some(rx)
}
