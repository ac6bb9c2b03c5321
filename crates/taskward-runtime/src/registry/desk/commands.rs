//! The API's commands: create, start failed, cancel, finish external, provide input.

use std::sync::Arc;

use ractor::ActorStatus;
use serde_json::Value;
use taskward_core::{
    Cancellation, CancelledBy, Error, EventKind, Failure, FailureCause, Limit, Outcome, Phase,
    Scope, Status, TaskError, TaskId, TaskRecord,
};

use super::Desk;
use crate::control::{Control, ControlParts};
use crate::registry::{Admission, CreateRequest, Ownership};

impl Desk<'_> {
    pub(in crate::registry) fn create(
        &mut self,
        request: CreateRequest,
    ) -> Result<Admission, Error> {
        let CreateRequest {
            spec,
            work,
            external_cancel,
        } = request;
        if self.book.closed || self.shared.is_stopping() {
            return Err(Error::ShutDown);
        }
        let config = &self.shared.config;
        if let Some(key) = &spec.idempotency_key
            && let Some(id) = self
                .book
                .idempotency
                .get(&(spec.scope.clone(), key.clone()))
            && let Some(existing) = self.shared.store.get(id)
        {
            return Ok(Admission::Existing(existing));
        }
        if let Some(max) = config.max_live_tasks
            && self.book.live_total >= max
        {
            return Err(Error::LimitExceeded {
                limit: Limit::LiveTasks,
                max: max as u64,
            });
        }
        if let Some(max) = config.max_live_per_scope
            && self.book.live_in(&spec.scope) >= max
        {
            return Err(Error::LimitExceeded {
                limit: Limit::LiveTasksPerScope,
                max: max as u64,
            });
        }
        let ttl = match (spec.ttl.or(config.default_ttl), config.max_ttl) {
            (Some(requested), Some(max)) if requested > max => {
                if config.reject_ttl_above_max && spec.ttl.is_some() {
                    return Err(Error::TtlAboveMaximum { requested, max });
                }
                Some(max)
            }
            (ttl, _) => ttl,
        };
        if let Some(parent) = spec.parent {
            let live = self
                .shared
                .store
                .get(&parent)
                .is_some_and(|p| p.scope == spec.scope && !p.is_terminal());
            if !live {
                return Err(Error::InvalidParent(parent));
            }
        }

        let id = TaskId::new();
        let seq = self.book.seq();
        let external = work.is_none();
        let mut record = TaskRecord::new(id, spec.scope.clone(), spec.name.clone(), seq);
        record.kind = spec.kind;
        record.producer = spec.producer.clone();
        record.parent = spec.parent;
        record.idempotency_key = spec.idempotency_key.clone();
        record.external = external;
        record.ttl = ttl;
        record.phase = Some(if external {
            Phase::Running
        } else {
            Phase::Queued
        });
        let record = Arc::new(record);
        let control = Arc::new(Control::new(ControlParts {
            id,
            name: spec.name.clone(),
            work,
            external_cancel,
            timeout: spec.timeout.or(config.default_timeout),
            cancel_policy: spec.cancel_policy.unwrap_or(config.default_cancel_policy),
            restart: spec.restart,
            limits: spec.limits.boxed(),
        }));
        let expires_at = ttl.map(|t| (tokio::time::Instant::now() + t).into_std());
        self.shared.store.insert(record.clone(), expires_at)?;
        self.shared
            .controls
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, control.clone());
        self.book.count_in(&record);
        self.book.add_live(&spec.scope);
        if let Some(key) = spec.idempotency_key {
            self.book.idempotency.insert((spec.scope.clone(), key), id);
        }
        if let Some(parent) = spec.parent {
            self.book.children.entry(parent).or_default().push(id);
        }
        self.publish(
            id,
            &spec.scope,
            EventKind::Created {
                name: spec.name.to_string(),
            },
        );
        control
            .span
            .in_scope(|| tracing::debug!(scope = %spec.scope, "task recorded"));
        if let Some(owner) = spec.owner {
            let cell = owner.cell.clone();
            let owner_id = cell.get_id();
            self.book.owned_by.insert(
                id,
                Ownership {
                    owner,
                    policy: spec.close_policy,
                },
            );
            let first = {
                let tasks = self.book.owners.entry(owner_id).or_default();
                tasks.insert(id);
                tasks.len() == 1
            };
            if first {
                if let Some(me) = self.myself {
                    me.get_cell().monitor(cell.clone());
                }
            }
            if matches!(
                cell.get_status(),
                ActorStatus::Stopping | ActorStatus::Stopped
            ) {
                // Died before it could be watched.
                self.owner_exited(owner_id);
            }
        }
        Ok(Admission::New(control, record))
    }

    pub(in crate::registry) fn start_failed(&mut self, id: TaskId, reason: String) {
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
        let record = self.scoped(scope, id)?;
        if record.is_terminal() {
            return Err(Error::AlreadyTerminal {
                id,
                status: record.status,
            });
        }
        let control = self.shared.control(&id).ok_or(Error::NotFound(id))?;
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
