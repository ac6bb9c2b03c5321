//! The inbox's commands, each applied on the desk and answered once it is released.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;

use super::Desk;
use super::effects::{Effect, panic_message};
use crate::registry::{Answer, Command};

impl Desk<'_> {
    /// Applies one command from the inbox; its answer is sent once the desk is released. A
    /// command whose handling fails (a bug, a store that panics) is contained: counted, logged,
    /// and its caller told (the answer port is dropped) while the registry carries on.
    pub(super) fn command(&mut self, command: Command) {
        let applied = std::panic::catch_unwind(AssertUnwindSafe(|| self.apply(command)));
        if let Err(panic) = applied {
            self.shared
                .counters
                .transition_failures
                .fetch_add(1, Ordering::Relaxed);
            tracing::error!(panic = %panic_message(panic), "a command failed; contained");
        }
    }

    fn apply(&mut self, command: Command) {
        match command {
            Command::Create(request, answer) => {
                let admission = self.create(*request);
                self.effects.push(Effect::Admitted(answer, admission));
            }
            Command::StartFailed { id, reason, done } => {
                self.start_failed(id, reason);
                self.answer(done, ());
            }
            Command::Cancel {
                scope,
                id,
                by,
                reason,
                answer,
            } => {
                let cancelled = self.cancel(&scope, id, by, reason);
                self.answer(answer, cancelled);
            }
            Command::Suspend { scope, id, answer } => {
                let suspended = self.suspend(&scope, id);
                self.answer(answer, suspended);
            }
            Command::Resume { scope, id, answer } => {
                let resumed = self.resume(&scope, id);
                self.answer(answer, resumed);
            }
            Command::CloseScope {
                scope,
                policy,
                answer,
            } => {
                let closed = self.close_scope(&scope, &policy);
                self.answer(answer, closed);
            }
            Command::FinishExternal {
                scope,
                id,
                result,
                answer,
            } => {
                let finished = self.finish_external(&scope, id, result);
                self.answer(answer, finished);
            }
            Command::ProvideInput {
                scope,
                id,
                key,
                response,
                answer,
            } => {
                let provided = self.provide_input(&scope, id, &key, response);
                self.answer(answer, provided);
            }
            Command::Release { id, answer } => {
                let released = self.release(id);
                self.answer(answer, released);
            }
            Command::Status(answer) => {
                let status = self.status();
                self.answer(answer, status);
            }
            Command::BeginShutdown(answer) => {
                let runners = self.begin_shutdown();
                self.answer(answer, runners);
            }
        }
    }

    /// Sends an answer once the desk is released, after the callbacks owed before it.
    fn answer<T: Send + 'static>(&mut self, port: Answer<T>, value: T) {
        self.effects.push(Effect::Answer(Box::new(move || {
            // A caller that went away does not want it.
            let _ = port.send(value);
        })));
    }
}
