//! Create: admission (limits, TTL cap, idempotency, parent), the record and its control, and
//! the hand-off to the task's runner.

use std::sync::Arc;
use std::time::Duration;

use ractor::ActorStatus;
use taskward_core::{Error, EventKind, Phase, Status, TaskId, TaskRecord};

use super::Desk;
use super::admit::Admit;
use super::depends::Gate;
use super::effects::Effect;
use super::queue::{QUEUED, queue_key};
use time::OffsetDateTime;

use crate::checkpoint::Resumable;
use crate::control::{Control, ControlParts};
use crate::registry::{Admission, CreateRequest, Ownership};
use crate::runner::hand_over;
use crate::spec::TaskSpec;

impl Desk<'_> {
    pub(super) fn create(&mut self, request: CreateRequest) -> Result<Admission, Error> {
        let CreateRequest {
            spec,
            work,
            external_cancel,
            resumed,
        } = request;
        if self.book.closed || self.shared.is_stopping() {
            return Err(Error::ShutDown);
        }
        let (ttl, resumed) = match resumed {
            // Admitted before the restart: no limit applies again.
            Some(stored) => (stored.record.ttl, Some(*stored)),
            None => match self.admission(&spec, work.is_some())? {
                Admit::Existing(record) => return Ok(Admission::Existing(record)),
                Admit::Cached { ttl, source } => {
                    return Ok(Admission::Cached(self.serve_cached(spec, ttl, &source)?));
                }
                Admit::New { ttl } => (ttl, None),
            },
        };
        let config = &self.shared.config;
        let counted = spec.counted;
        let external = work.is_none();
        let is_resumed = resumed.is_some();
        let (mut record, checkpoint) = match resumed {
            Some(stored) => (resumed_record(stored.record), stored.checkpoint),
            None => {
                let mut record = self.fresh_record(&spec, ttl);
                record.external = external;
                (record, None)
            }
        };
        let id = record.id;
        // A task handed to its runner in this step is recorded running: the runner
        // acknowledges the start before submit returns (see `hand_to_runner`).
        // A task restored suspended stays so, with no runner, until it is resumed. One that
        // waits for its dependencies or a running slot is recorded queued, and starts later.
        let suspended = record.phase == Some(Phase::Suspended);
        let gate = match &work {
            Some(_) if !suspended => self.gate(&spec.depends_on, &record.name),
            _ => Gate::Start,
        };
        let starts = matches!(gate, Gate::Start);
        let runner = match &work {
            Some(_) if !suspended && starts => self.shared.runners.partitions.for_task(&id),
            _ => None,
        };
        record.phase = Some(if suspended {
            Phase::Suspended
        } else if external || runner.is_some() {
            Phase::Running
        } else {
            Phase::Queued
        });
        match &gate {
            Gate::Queue => record.status_message = Some(QUEUED.to_owned()),
            Gate::Wait(live) => record.status_message = Some(Self::waiting_message(live.len())),
            _ => {}
        }
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
            resumable: record
                .input
                .is_some()
                .then(|| Box::new(Resumable::new(checkpoint, self.shared.journal.clone()))),
            attempt: record.attempt,
        }));
        let expires_at = if is_resumed {
            expires_at(&record)
        } else {
            ttl.map(|t| (tokio::time::Instant::now() + t).into_std())
        };
        self.shared.store.insert(record.clone(), expires_at)?;
        self.shared.controls.insert(id, control.clone());
        self.book.count_in(&record);
        if counted {
            self.book.add_live(&spec.scope);
        } else {
            self.book.uncounted.insert(id);
        }
        self.book_created(&spec, id);
        if !external && runner.is_some() {
            // Recorded running: the change from queued that a start report would have made.
            self.publish(
                id,
                &spec.scope,
                EventKind::StatusChanged {
                    status: Status::Working,
                    phase: Some(Phase::Running),
                    attempt: record.attempt,
                },
            );
        }
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
        let queued = !external && !suspended && !starts;
        match gate {
            Gate::Start if !external && !suspended => self.book.queue.take_slot(id, &record.name),
            Gate::Queue => self.book.queue.push(id, &record.name, queue_key(&record)),
            Gate::Wait(live) => self.book.dependencies.wait(id, &live),
            Gate::Ended(dep, end) => {
                // A dependency ended before this task was submitted: it resolves at once.
                let ended = self.end_on_dependency(&control, dep, end);
                return Ok(Admission::New {
                    control,
                    record: ended.unwrap_or(record),
                    started: None,
                    queued: true,
                });
            }
            Gate::Start => {}
        }
        let started = runner.and_then(|runner| {
            let ack = hand_over(&runner, &control, false)?;
            // The runner starts the work once the book is released.
            self.effects.push(Effect::Kick(runner));
            Some(ack)
        });
        Ok(Admission::New {
            control,
            record,
            started,
            queued,
        })
    }

    /// A fresh record of a new task of `spec`, with its effective TTL.
    pub(super) fn fresh_record(&mut self, spec: &TaskSpec, ttl: Option<Duration>) -> TaskRecord {
        let mut record = TaskRecord::new(
            TaskId::new(),
            spec.scope.clone(),
            spec.name.clone(),
            self.book.seq(),
        );
        record.kind = spec.kind;
        record.producer = spec.producer.clone();
        record.parent = spec.parent;
        record.idempotency_key = spec.idempotency_key.clone();
        record.ttl = ttl;
        record.input = spec.input.clone();
        record.priority = spec.priority;
        record.depends_on = spec.depends_on.clone();
        record.policies = spec.carried_policies();
        record
    }

    /// A new task entered the table: its idempotency key and its parent link are booked, and
    /// its creation is evented.
    pub(super) fn book_created(&mut self, spec: &TaskSpec, id: TaskId) {
        if let Some(key) = &spec.idempotency_key {
            self.book
                .idempotency
                .insert((spec.scope.clone(), key.clone()), id);
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
    }
}

/// The record of a task resumed after a restart: its next attempt, working again; or, for a
/// task that was suspended, still suspended; or, for a task that was queued, the attempt it
/// was queued for.
fn resumed_record(mut record: TaskRecord) -> TaskRecord {
    record.status = Status::Working;
    record.outcome = None;
    record.last_updated_at = OffsetDateTime::now_utc();
    match record.phase {
        Some(Phase::Suspended) => return record,
        // A queued task's recorded attempt never started (an attempt is numbered as it is
        // queued or waits out its backoff): it runs as that attempt.
        Some(Phase::Queued) => {}
        _ => record.attempt += 1,
    }
    record.status_message = Some(format!(
        "resumed after a restart (attempt {})",
        record.attempt
    ));
    record
}

/// When a record's TTL elapses on the runtime's clock: counted from its creation on the wall
/// clock, so that a task restored after a restart keeps the expiry it had.
fn expires_at(record: &TaskRecord) -> Option<std::time::Instant> {
    let at = record.expires_at()?;
    let left = Duration::try_from(at - OffsetDateTime::now_utc()).unwrap_or_default();
    Some((tokio::time::Instant::now() + left).into_std())
}
