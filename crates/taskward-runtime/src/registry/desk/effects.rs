//! User callbacks, run after the book is released, and the containment of failures.
//!
//! No user code runs while the book is locked: a transition collects the callbacks it owes
//! (an owner's notice, an external task's `on_cancel`) as effects, and [`Desk::run`] runs them
//! once it has released the book, on whichever thread ran the desk. Each runs under
//! `catch_unwind`: a panicking callback is logged and counted (`callback_panics`) and never
//! takes the registry down. A callback may read the runtime and queue commands (answered once it
//! has returned), but must not block on a command's answer.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use taskward_core::{Cancellation, Error, TaskId};

use crate::control::Control;
use crate::registry::{Admission, Answer, Shared};
pub(super) use crate::report::panic_message;
use crate::runner::Post;
use crate::spec::TaskNotice;

#[cfg(doc)]
use super::Desk;

/// A user callback a transition owes, or a wake-up that must come after one.
pub(crate) enum Effect {
    /// Tell a task's owner how it ended.
    Notify {
        notify: Arc<dyn Fn(TaskNotice) + Send + Sync>,
        notice: TaskNotice,
    },
    /// Call an external task's cancel callback.
    ExternalCancel {
        control: Arc<Control>,
        cancellation: Cancellation,
    },
    /// Wake a task's waiters, after its owner was told (semantic 6: a host that waits and
    /// then asks its owner actor finds the notice already in the owner's mailbox).
    Wake(Arc<Control>),
    /// Send a command's answer, after the callbacks its command owed.
    Answer(Box<dyn FnOnce() + Send>),
    /// Send a create's answer (the hot command's, so not boxed as [`Effect::Answer`]).
    Admitted(Answer<Result<Admission, Error>>, Result<Admission, Error>),
    /// Have a runner handle what the desk queued for it (a start): not under the book, since
    /// a start calls the work's factory.
    Kick(Arc<Post>),
}

impl std::fmt::Debug for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Effect")
            .field("task", &self.task())
            .finish_non_exhaustive()
    }
}

impl Effect {
    /// Whether it runs user code (an owner's notice wrapper, an external `on_cancel`).
    pub(super) fn is_user_callback(&self) -> bool {
        matches!(self, Effect::Notify { .. } | Effect::ExternalCancel { .. })
    }

    fn task(&self) -> Option<TaskId> {
        match self {
            Effect::Notify { notice, .. } => Some(notice.id()),
            Effect::ExternalCancel { control, .. } | Effect::Wake(control) => Some(control.id),
            Effect::Answer(_) | Effect::Admitted(..) | Effect::Kick(_) => None,
        }
    }
}

thread_local! {
    /// A spare list of effects, so that a desk does not allocate one each time it collects
    /// an effect (a create collects two: the runner's start and the answer).
    static SPARE: std::cell::Cell<Vec<Effect>> = const { std::cell::Cell::new(Vec::new()) };
}

/// An empty list of effects: this thread's spare one, if it has it.
pub(super) fn list() -> Vec<Effect> {
    SPARE.with(std::cell::Cell::take)
}

/// Keeps an emptied list as this thread's spare (a large one is let go).
pub(super) fn recycle(mut effects: Vec<Effect>) {
    effects.clear();
    if effects.capacity() <= 64 {
        SPARE.with(|spare| spare.set(effects));
    }
}

/// Runs the effects in order, each contained, and leaves the list empty.
pub(super) fn run(shared: &Shared, effects: &mut Vec<Effect>) {
    for effect in effects.drain(..) {
        let task = effect.task();
        let what = match &effect {
            Effect::Notify { .. } => "an owner's notice wrapper",
            Effect::ExternalCancel { .. } => "an external task's on_cancel",
            Effect::Wake(_) => "a wake-up",
            Effect::Answer(_) | Effect::Admitted(..) => "an answer",
            Effect::Kick(_) => "a runner's start",
        };
        let ran = std::panic::catch_unwind(AssertUnwindSafe(|| match effect {
            Effect::Notify { notify, notice } => notify(notice),
            Effect::ExternalCancel {
                control,
                cancellation,
            } => {
                if let Some(callback) = &control.external_cancel {
                    callback(&cancellation);
                }
            }
            Effect::Wake(control) => control.done.notify_waiters(),
            Effect::Answer(send) => send(),
            Effect::Admitted(port, admission) => {
                // A caller that went away does not want it.
                let _ = port.send(admission);
            }
            Effect::Kick(post) => post.kick(),
        }));
        if let Err(panic) = ran {
            shared
                .counters
                .callback_panics
                .fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                task = ?task,
                panic = %panic_message(panic),
                "{what} panicked; the registry carries on"
            );
        }
    }
}
