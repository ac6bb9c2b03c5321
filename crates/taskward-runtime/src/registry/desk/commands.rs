//! The API's commands on a task: start failed, cancel, finish external, provide input.

use std::sync::Arc;

use serde_json::Value;
use taskward_core::{
    Cancellation, CancelledBy, Error, Failure, FailureCause, Outcome, Scope, Status, TaskError,
    TaskId, TaskRecord,
};

use super::Desk;

impl Desk<'_> {
    pub(super) fn start_failed(&mut self, id: TaskId, reason: String) {
        if let Some(control) = self.shared.control(&id) {
            self.finish(
                &control,
                Outcome::Failed(Failure::new(FailureCause::StartFailed, reason)),
            );
            self.remove_control(&id);
        }
    }

    pub(in crate::registry) fn cancel(
        &mut self,
        scope: &Scope,
        id: TaskId,
        by: CancelledBy,
        reason: Option<String>,
    ) -> Result<Arc<TaskRecord>, Error> {
        let (_, control) = self.live(scope, id)?;
        match self.cancel_control(&control, by, reason) {
            Some(record) => Ok(record),
            None => Err(Error::AlreadyTerminal {
                id,
                status: control
                    .outcome
                    .get()
                    .map_or(Status::Cancelled, Outcome::status),
            }),
        }
    }

    pub(in crate::registry) fn finish_external(
        &mut self,
        scope: &Scope,
        id: TaskId,
        result: Result<Value, TaskError>,
    ) -> Result<Arc<TaskRecord>, Error> {
        let record = self.scoped(scope, id)?;
        if !record.external {
            return Err(Error::NotExternal(id));
        }
        if record.is_terminal() {
            return Err(Error::AlreadyTerminal {
                id,
                status: record.status,
            });
        }
        let control = self.shared.control(&id).ok_or(Error::NotFound(id))?;
        let outcome = match result {
            Ok(value) => Outcome::completed(value),
            Err(e) if e.is_cancelled() => Outcome::Cancelled(Cancellation::new(
                CancelledBy::Client,
                Some(e.message().to_owned()),
            )),
            Err(e) => Outcome::Failed(e.into_failure()),
        };
        let finished = self.finish(&control, outcome);
        self.remove_control(&id);
        finished.ok_or(Error::AlreadyTerminal {
            id,
            status: record.status,
        })
    }

    pub(in crate::registry) fn provide_input(
        &mut self,
        scope: &Scope,
        id: TaskId,
        key: &str,
        response: Value,
    ) -> Result<Arc<TaskRecord>, Error> {
        let record = self.scoped(scope, id)?;
        let terminal = |status| Error::AlreadyTerminal { id, status };
        if record.is_terminal() {
            return Err(terminal(record.status));
        }
        let control = self
            .shared
            .control(&id)
            .ok_or_else(|| terminal(record.status))?;
        if let Some(outcome) = control.outcome.get() {
            return Err(terminal(outcome.status()));
        }
        if control.answer(key, response).is_none() {
            return Err(Error::UnknownInput {
                id,
                key: key.to_owned(),
            });
        }
        Ok(self.sync_input_status(&control).unwrap_or(record))
    }
}
