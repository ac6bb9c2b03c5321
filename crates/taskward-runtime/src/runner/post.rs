//! A runner's post: its mailbox and its state, worked by whoever finds the runner idle.
//!
//! Each runner actor has one post for its lifetime. Every message to the runner is queued in
//! the post's inbox; whoever queues it then works the post if no one else is at it: it takes
//! the state's lock (never waiting for it) and handles everything queued, in order, as the
//! actor would (flat combining, as the registry's desk does). So a submit starts its work,
//! and a work that ends reports it, on the caller's own thread, without a wake-up of the
//! runner's task. When the state is busy, the message waits for whoever holds it: each one
//! looks at the inbox again as it releases the state, so no message is ever left behind.
//!
//! The post outlives neither its actor nor its partition's supervision: a runner that stops
//! closes its post, and the supervisor closes the post of one that was killed or crashed.
//! Closing drops the state, and with it every work of the partition (aborted as their handles
//! drop). A post whose actor has stopped is not worked any more, even before it is closed,
//! so a dead runner's tasks end only as the supervisor decides.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, TryLockError};

use ractor::{ActorCell, ActorId, ActorRef, ActorStatus};

use super::state::RunnerState;
use super::{Nudge, RunnerMsg};
use crate::report::panic_message;

#[derive(Debug, Default)]
struct Inbox {
    messages: VecDeque<RunnerMsg>,
    /// The post is closed: it takes no more messages.
    closed: bool,
}

/// A runner's inbox and state (see the module docs).
#[derive(Debug)]
pub(crate) struct Post {
    /// The runner actor, set as it starts.
    actor: OnceLock<ActorRef<Nudge>>,
    inbox: Mutex<Inbox>,
    /// `None` once closed.
    state: Mutex<Option<RunnerState>>,
}

impl Post {
    /// A post whose state `state` builds (it is handed a weak reference to the post, for its
    /// timers and works).
    pub(crate) fn new(state: impl FnOnce(std::sync::Weak<Post>) -> RunnerState) -> Arc<Self> {
        Arc::new_cyclic(|weak| Post {
            actor: OnceLock::new(),
            inbox: Mutex::new(Inbox::default()),
            state: Mutex::new(Some(state(weak.clone()))),
        })
    }

    /// Binds the runner actor that works the post when it is nudged.
    pub(crate) fn bind(&self, actor: ActorRef<Nudge>) {
        let _ = self.actor.set(actor);
    }

    /// The runner actor's cell.
    pub(crate) fn cell(&self) -> Option<ActorCell> {
        self.actor.get().map(|actor| actor.get_cell())
    }

    /// The runner actor's id.
    pub(crate) fn actor_id(&self) -> Option<ActorId> {
        self.actor.get().map(|actor| actor.get_id())
    }

    /// Whether its runner actor has stopped (or never started).
    pub(crate) fn is_stopped(&self) -> bool {
        self.actor
            .get()
            .is_none_or(|actor| actor.get_status() == ActorStatus::Stopped)
    }

    fn inbox(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a message without working the post; the caller then [`kick`](Self::kick)s it.
    /// Returns whether it was queued: not once closed (the message, with any reply port in
    /// it, is dropped).
    pub(crate) fn queue(&self, message: RunnerMsg) -> bool {
        let mut inbox = self.inbox();
        if inbox.closed {
            return false;
        }
        inbox.messages.push_back(message);
        true
    }

    /// Sends a message to the runner: queues it and works the post if no one is at it (else
    /// whoever is at it handles it). Returns `false` when the runner is gone (the post is
    /// closed, or its actor stopped).
    pub(crate) fn send(&self, message: RunnerMsg) -> bool {
        if self.is_stopped() || !self.queue(message) {
            return false;
        }
        self.try_work();
        true
    }

    /// Has what was [`queue`](Self::queue)d handled: works the post if no one is at it (else
    /// whoever is at it handles it).
    pub(crate) fn kick(&self) {
        self.try_work();
    }

    /// Works the post unless another thread is at it (or its actor has stopped). A handler
    /// that panics crashes the runner: its actor is stopped with the panic as the reason, and
    /// the supervisor handles its exit.
    fn try_work(&self) {
        if let Err(why) = self.work()
            && let Some(actor) = self.actor.get()
        {
            actor.stop(Some(why));
        }
    }

    /// Works the post unless another thread is at it: `Err` names a handler's panic (the
    /// runner then fails).
    ///
    /// Whoever works the post looks at the inbox again once it has released the state, and
    /// works it again if something is queued: so a message queued while the state was held
    /// (its sender found it taken) is always handled, by the holder's drain or by that look.
    pub(crate) fn work(&self) -> Result<(), String> {
        while !self.is_stopped() {
            let guard = match self.state.try_lock() {
                Ok(guard) => guard,
                Err(TryLockError::WouldBlock) => return Ok(()),
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
            };
            self.drain(guard)?;
            if self.inbox().messages.is_empty() {
                break;
            }
        }
        Ok(())
    }

    /// Handles every queued message under the held state.
    fn drain(&self, mut guard: MutexGuard<'_, Option<RunnerState>>) -> Result<(), String> {
        let Some(state) = guard.as_mut() else {
            return Ok(());
        };
        loop {
            let Some(message) = self.inbox().messages.pop_front() else {
                return Ok(());
            };
            let handled = std::panic::catch_unwind(AssertUnwindSafe(|| state.handle(message)));
            if let Err(panic) = handled {
                // Nothing else works this state again: the post is closed with its runner.
                self.inbox().closed = true;
                return Err(format!("the runner panicked: {}", panic_message(panic)));
            }
        }
    }

    /// Closes the post: takes no more messages, drops those queued (their reply ports with
    /// them), and drops the state, which aborts every work still running here. Called as the
    /// runner stops, or by the supervisor for a runner that was killed or crashed.
    pub(crate) fn close(&self) {
        let queued = {
            let mut inbox = self.inbox();
            inbox.closed = true;
            std::mem::take(&mut inbox.messages)
        };
        drop(queued);
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(state);
    }
}
