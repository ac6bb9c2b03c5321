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
use crate::report::{ReportPort, panic_message};

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
    /// Where the state's handlers queue their reports to the registry: settled once the
    /// state is released, so the registry's desk is never worked under it.
    port: ReportPort,
}

impl Post {
    /// A post whose state `state` builds (it is handed a weak reference to the post, for its
    /// timers and works).
    pub(crate) fn new(state: impl FnOnce(std::sync::Weak<Post>) -> RunnerState) -> Arc<Self> {
        Arc::new_cyclic(|weak| {
            let state = state(weak.clone());
            Post {
                actor: OnceLock::new(),
                inbox: Mutex::new(Inbox::default()),
                port: state.port().clone(),
                state: Mutex::new(Some(state)),
            }
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
    /// The reports its handlers queued are settled (the registry's desk worked) once the state
    /// is released: a post is never held while the desk is worked.
    pub(crate) fn work(&self) -> Result<(), String> {
        let mut worked = false;
        let mut drained = Ok(());
        while !self.is_stopped() {
            let guard = match self.state.try_lock() {
                Ok(guard) => guard,
                Err(TryLockError::WouldBlock) => break,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
            };
            worked = true;
            drained = self.drain(guard);
            if drained.is_err() || self.inbox().messages.is_empty() {
                break;
            }
        }
        if worked {
            self.port.settle();
        }
        drained
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, OnceLock, Weak};

    use ractor::Actor;
    use taskward_core::TaskId;

    use super::Post;
    use crate::config::Config;
    use crate::control::Control;
    use crate::memory_store::MemoryStore;
    use crate::report::{Report, ReportPort, ReportSink};
    use crate::runner::state::RunnerState;
    use crate::runner::{Runner, RunnerArgs, RunnerMsg, Runners};
    use crate::table::Table;

    /// A registry stand-in that records, at each settle, whether the post's state was free.
    #[derive(Default)]
    struct Probe {
        post: OnceLock<Weak<Post>>,
        queued: AtomicUsize,
        settled: AtomicUsize,
        settled_under_state: AtomicBool,
    }

    struct Sink(Arc<Probe>);

    impl ReportSink for Sink {
        fn queue(&self, report: Report) {
            assert!(matches!(report, Report::RunnerExited { .. }));
            self.0.queued.fetch_add(1, Ordering::SeqCst);
        }

        fn settle(&self) {
            self.0.settled.fetch_add(1, Ordering::SeqCst);
            let post = self.0.post.get().and_then(Weak::upgrade).expect("the post");
            if post.state.try_lock().is_err() {
                self.0.settled_under_state.store(true, Ordering::SeqCst);
            }
        }
    }

    #[tokio::test]
    async fn reports_are_settled_once_the_state_is_released() {
        let config = Config::default();
        let table = Arc::new(Table::new(
            config,
            Arc::new(MemoryStore::new()),
            None,
            crate::kinds::Kinds::default(),
        ));
        let probe = Arc::new(Probe::default());
        let args = RunnerArgs {
            table,
            runners: Arc::new(Runners::new(1)),
            port: ReportPort::new(Sink(probe.clone())),
            index: 0,
        };
        let post = Post::new(|me| RunnerState::new(args, me));
        let _ = probe.post.set(Arc::downgrade(&post));
        let (actor, handle) = Actor::spawn(None, Runner, post.clone())
            .await
            .expect("the runner starts");

        // An external task's control has no work: its start fails, and the runner reports it.
        let control = Control::without_work(TaskId::new());
        let (tx, rx) = ractor::concurrency::oneshot();
        assert!(post.send(RunnerMsg::Start {
            control,
            attempt: 1,
            announce: false,
            reply: tx.into(),
        }));
        assert!(rx.await.expect("answered").is_err());

        assert_eq!(probe.queued.load(Ordering::SeqCst), 1);
        assert!(probe.settled.load(Ordering::SeqCst) >= 1);
        assert!(
            !probe.settled_under_state.load(Ordering::SeqCst),
            "the registry's desk would be worked under the post"
        );
        actor.stop(None);
        handle.await.expect("the runner stops");
    }
}
