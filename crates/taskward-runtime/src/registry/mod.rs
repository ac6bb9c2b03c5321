//! The registry: the one writer of the task table (barrel's gen_server, with its defects fixed).
//!
//! Commands from the API arrive as calls, except the two hot ones: `create` and `cancel` run
//! on the registry's desk from the caller's thread ([`create_direct`], [`cancel_direct`]),
//! under the same book lock every handler holds, so writes stay serialized and in order
//! without a mailbox round trip. No user code runs under that lock: owners' notices and
//! external cancel callbacks run once the desk has released it, each contained. Runners' reports arrive through the shared inbox and a
//! `Drain` nudge, so that reports survive a registry restart. Every transition happens here,
//! in order: the first terminal transition wins, waiters are woken after the record is
//! written, and each change is published as a numbered event.

mod book;
mod desk;
mod status;

use std::sync::Arc;

use ractor::concurrency::JoinHandle;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use serde_json::Value;
use taskward_core::{CancelledBy, ClosePolicy, Error, Scope, TaskError, TaskId, TaskRecord};

pub(crate) use book::{Book, Ownership};
pub use status::{Limits, RegistryStatus};

use crate::control::{Control, ExternalCancel, WorkFn};
use crate::shared::Shared;
use crate::spec::TaskSpec;
use desk::Desk;

/// Records a task from the caller's thread, on the registry's desk, without a mailbox round
/// trip. The desk holds the book's lock for the whole command, so this is serialized with the
/// registry actor's own handlers exactly as a message would be: one writer at a time, in order.
///
/// Hands the request back when the fast path does not apply: no registry is running (the
/// mailbox path then waits for its successor), shutdown began (the mailbox path answers
/// `ShutDown`), or the task has an owner actor (which the registry actor itself monitors).
pub(crate) fn create_direct(
    shared: &Shared,
    request: Box<CreateRequest>,
) -> Result<Result<Admission, Error>, Box<CreateRequest>> {
    if request.spec.owner.is_some() || shared.is_stopping() {
        return Err(request);
    }
    let Some(registry) = shared.registry() else {
        return Err(request);
    };
    Ok(Desk::run(shared, Some(&registry), |desk| {
        desk.create(*request)
    }))
}

/// Cancels a task from the caller's thread, on the registry's desk (see [`create_direct`]):
/// reports already queued are applied first, as the registry's `Cancel` handler does. `None`
/// when no registry is running or shutdown began: the caller then uses the mailbox.
pub(crate) fn cancel_direct(
    shared: &Shared,
    scope: &Scope,
    id: TaskId,
    by: CancelledBy,
    reason: Option<String>,
) -> Option<Result<Arc<TaskRecord>, Error>> {
    if shared.is_stopping() {
        return None;
    }
    let registry = shared.registry()?;
    Some(Desk::run(shared, Some(&registry), |desk| {
        desk.drain();
        desk.cancel(scope, id, by, reason)
    }))
}

/// The registry actor.
#[derive(Debug)]
pub(crate) struct Registry;

#[derive(Debug)]
pub(crate) struct RegistryArgs {
    pub(crate) shared: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct RegistryState {
    shared: Arc<Shared>,
    sweep: Option<JoinHandle<()>>,
}

/// A request to record a task.
#[derive(Clone)]
pub(crate) struct CreateRequest {
    pub(crate) spec: TaskSpec,
    pub(crate) work: Option<WorkFn>,
    pub(crate) external_cancel: Option<ExternalCancel>,
}

impl std::fmt::Debug for CreateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateRequest")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

/// The registry's answer to a create.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Recorded; start its runner.
    New(Arc<Control>, Arc<TaskRecord>),
    /// The idempotency key matched this task.
    Existing(Arc<TaskRecord>),
}

type Reply<T> = RpcReplyPort<Result<T, Error>>;

/// What the registry is told.
#[derive(Debug)]
pub(crate) enum RegistryMsg {
    /// Reports are waiting in the inbox.
    Drain,
    /// Time to sweep expired tasks.
    Sweep,
    /// Progress cells have news (see `progress::ProgressFlush`).
    FlushProgress,
    Create(Box<CreateRequest>, Reply<Admission>),
    StartFailed {
        id: TaskId,
        reason: String,
        reply: RpcReplyPort<()>,
    },
    Cancel {
        scope: Scope,
        id: TaskId,
        by: CancelledBy,
        reason: Option<String>,
        reply: Reply<Arc<TaskRecord>>,
    },
    CloseScope {
        scope: Scope,
        policy: ClosePolicy,
        reply: RpcReplyPort<usize>,
    },
    FinishExternal {
        scope: Scope,
        id: TaskId,
        result: Result<Value, TaskError>,
        reply: Reply<Arc<TaskRecord>>,
    },
    ProvideInput {
        scope: Scope,
        id: TaskId,
        key: String,
        response: Value,
        reply: Reply<Arc<TaskRecord>>,
    },
    Status(RpcReplyPort<RegistryStatus>),
    BeginShutdown(RpcReplyPort<ShutdownRunners>),
}

/// The tasks whose work was still running when shutdown began.
#[derive(Debug, Default)]
pub(crate) struct ShutdownRunners {
    /// Those shutdown cancelled.
    pub(crate) cancelled: usize,
    /// Those still finishing after they had already ended (within a cancel's grace period).
    pub(crate) finishing: usize,
}

/// Ends every live task with cause `interrupted`. Only for the root, after the registry
/// actor has stopped for good (so that the table still has one writer).
pub(crate) fn interrupt_all(shared: &Shared, why: &str) {
    Desk::run(shared, None, |desk| desk.interrupt_all(why));
}

impl Actor for Registry {
    type Msg = RegistryMsg;
    type State = RegistryState;
    type Arguments = RegistryArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<RegistryMsg>,
        args: RegistryArgs,
    ) -> Result<RegistryState, ActorProcessingErr> {
        Ok(RegistryState {
            shared: args.shared,
            sweep: None,
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<RegistryMsg>,
        state: &mut RegistryState,
    ) -> Result<(), ActorProcessingErr> {
        let shared = state.shared.clone();
        Desk::run(&shared, Some(&myself), |desk| {
            // Owners are watched by the registry actor; a successor watches them anew.
            desk.rewatch_owners();
            // Reports that arrived while no registry was running.
            desk.drain();
        });
        state.sweep =
            Some(myself.send_interval(shared.config.sweep_interval, || RegistryMsg::Sweep));
        shared
            .progress
            .start(myself.clone(), shared.config.progress_interval);
        tracing::debug!("registry started");
        Ok(())
    }

    async fn post_stop(
        &self,
        myself: ActorRef<RegistryMsg>,
        state: &mut RegistryState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(sweep) = state.sweep.take() {
            sweep.abort();
        }
        state.shared.progress.stop(myself.get_id());
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<RegistryMsg>,
        message: RegistryMsg,
        state: &mut RegistryState,
    ) -> Result<(), ActorProcessingErr> {
        let shared = state.shared.clone();
        let me = Some(&myself);
        // Each reply is sent once the desk is released and its callbacks have run.
        match message {
            RegistryMsg::Drain => Desk::run(&shared, me, |desk| desk.drain()),
            RegistryMsg::FlushProgress => Desk::run(&shared, me, |desk| desk.flush_progress()),
            RegistryMsg::Sweep => Desk::run(&shared, me, |desk| {
                desk.drain();
                desk.sweep();
            }),
            RegistryMsg::Create(request, reply) => {
                let _ = reply.send(Desk::run(&shared, me, |desk| desk.create(*request)));
            }
            RegistryMsg::StartFailed { id, reason, reply } => {
                Desk::run(&shared, me, |desk| desk.start_failed(id, reason));
                let _ = reply.send(());
            }
            RegistryMsg::Cancel {
                scope,
                id,
                by,
                reason,
                reply,
            } => {
                let _ = reply.send(Desk::run(&shared, me, |desk| {
                    desk.drain();
                    desk.cancel(&scope, id, by, reason)
                }));
            }
            RegistryMsg::CloseScope {
                scope,
                policy,
                reply,
            } => {
                let _ = reply.send(Desk::run(&shared, me, |desk| {
                    desk.close_scope(&scope, &policy)
                }));
            }
            RegistryMsg::FinishExternal {
                scope,
                id,
                result,
                reply,
            } => {
                let _ = reply.send(Desk::run(&shared, me, |desk| {
                    desk.finish_external(&scope, id, result)
                }));
            }
            RegistryMsg::ProvideInput {
                scope,
                id,
                key,
                response,
                reply,
            } => {
                // The park reports queued before the answer are applied first.
                let _ = reply.send(Desk::run(&shared, me, |desk| {
                    desk.drain();
                    desk.provide_input(&scope, id, &key, response)
                }));
            }
            RegistryMsg::Status(reply) => {
                let _ = reply.send(Desk::run(&shared, me, |desk| {
                    desk.drain();
                    desk.status()
                }));
            }
            RegistryMsg::BeginShutdown(reply) => {
                let _ = reply.send(Desk::run(&shared, me, |desk| {
                    desk.drain();
                    desk.begin_shutdown()
                }));
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<RegistryMsg>,
        event: SupervisionEvent,
        state: &mut RegistryState,
    ) -> Result<(), ActorProcessingErr> {
        // The registry has no children: these are the events of the owners it monitors.
        match event {
            SupervisionEvent::ActorTerminated(cell, ..)
            | SupervisionEvent::ActorFailed(cell, _) => {
                let shared = state.shared.clone();
                Desk::run(&shared, Some(&myself), |desk| {
                    desk.owner_exited(cell.get_id())
                });
            }
            _ => {}
        }
        Ok(())
    }
}
