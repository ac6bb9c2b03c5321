//! The registry's work, one method per command or report.

use std::ops::Bound;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};

use ractor::{ActorId, ActorRef, ActorStatus};
use serde_json::Value;
use taskward_core::{
    Cancellation, CancelledBy, ClosePolicy, Error, EventKind, Failure, FailureCause, Limit,
    Outcome, Phase, Scope, Status, TaskError, TaskEvent, TaskId, TaskRecord,
};
use time::OffsetDateTime;

use super::{Admission, Book, CreateRequest, Limits, Ownership, RegistryMsg, RegistryStatus};
use crate::control::{Control, ControlParts};
use crate::runner::RunnerMsg;
use crate::runner_sup::RunnerSupMsg;
use crate::shared::{AttemptResult, Report, RunnerEntry, Shared};
use crate::spec::TaskNotice;

/// Expired tasks handled per sweep message; more are handled by the next one, at once.
const SWEEP_BATCH: usize = 4096;

/// Runners whose liveness one sweep checks (see `check_runners`).
const CHECK_BATCH: usize = 1024;

/// A task and one of its attempts.
type Attempt = (TaskId, u32);

/// The registry at work: the shared state and its book, locked for one message.
pub(super) struct Desk<'a> {
    shared: &'a Shared,
    book: MutexGuard<'a, Book>,
    /// The registry actor; `None` for the root acting as the registry's heir.
    myself: Option<&'a ActorRef<RegistryMsg>>,
}

impl<'a> Desk<'a> {
    pub(super) fn new(shared: &'a Shared, myself: &'a ActorRef<RegistryMsg>) -> Self {
        Self {
            shared,
            book: shared.book(),
            myself: Some(myself),
        }
    }

    /// The desk without a registry: for the root, once the registry is stopped for good.
    pub(super) fn heir(shared: &'a Shared) -> Self {
        Self {
            shared,
            book: shared.book(),
            myself: None,
        }
    }

    /// Ends every live task with cause `interrupted`, when the supervision tree gives up:
    /// no task stays non-terminal in a runtime that can no longer run it.
    pub(super) fn interrupt_all(&mut self, why: &str) {
        self.drain();
        self.book.closed = true;
        let controls: Vec<Arc<Control>> = self
            .shared
            .controls
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for control in controls {
            if control.is_terminal() {
                continue;
            }
            control.token.cancel();
            self.finish(
                &control,
                Outcome::Failed(Failure::new(FailureCause::Interrupted, why)),
            );
            self.remove_control(&control.id);
        }
    }

    // ---------------------------------------------------------------- table helpers

    fn publish(&mut self, id: TaskId, scope: &Scope, kind: EventKind) {
        let seq = self.book.event_seq();
        if self.shared.events.receiver_count() > 0 {
            let _ = self
                .shared
                .events
                .send(TaskEvent::new(seq, id, scope.clone(), kind));
        }
    }

    /// Replaces a record with an edited copy, keeping the counts right.
    fn update(
        &mut self,
        id: &TaskId,
        edit: impl FnOnce(&mut TaskRecord),
    ) -> Option<Arc<TaskRecord>> {
        let old = self.shared.store.get(id)?;
        let mut new = (*old).clone();
        edit(&mut new);
        new.last_updated_at = OffsetDateTime::now_utc();
        let new = Arc::new(new);
        if let Err(e) = self.shared.store.replace(new.clone()) {
            tracing::error!(task = %id, error = %e, "the store failed to replace a record");
            return None;
        }
        self.book.count_out(&old);
        self.book.count_in(&new);
        Some(new)
    }

    fn remove_control(&self, id: &TaskId) {
        self.shared
            .controls
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    fn scoped(&self, scope: &Scope, id: TaskId) -> Result<Arc<TaskRecord>, Error> {
        self.shared
            .store
            .get(&id)
            .filter(|r| r.scope == *scope)
            .ok_or(Error::NotFound(id))
    }

    // ---------------------------------------------------------------- transitions

    /// The terminal transition: the first one wins; later ones are counted and dropped.
    fn finish(&mut self, control: &Control, outcome: Outcome) -> Option<Arc<TaskRecord>> {
        // Only the registry sets outcomes, so checking first and setting last is race-free,
        // and lets everything below happen before any waiter can see the outcome.
        if control.outcome.get().is_some() {
            self.shared
                .counters
                .duplicate_terminals
                .fetch_add(1, Ordering::Relaxed);
            return None;
        }
        // The owner is told first: a host that waits and then asks its owner actor finds the
        // notice already in the owner's mailbox.
        if let Some(ownership) = self.book.owned_by.get(&control.id) {
            (ownership.owner.notify)(notice(control.id, &outcome));
        }
        let progress = control
            .progress
            .is_reported()
            .then(|| control.progress.snapshot());
        let status = outcome.status();
        let record = self.update(&control.id, |r| {
            r.status = status;
            r.phase = None;
            if progress.is_some() {
                r.progress = progress;
            }
            r.status_message = match &outcome {
                Outcome::Failed(f) => Some(f.to_string()),
                Outcome::Cancelled(c) => Some(format!("cancelled {c}")),
                _ => None,
            };
            r.outcome = Some(outcome.clone());
        });
        if let Some(record) = &record {
            self.book.remove_live(&record.scope);
            let kind = match &outcome {
                Outcome::Completed { .. } => EventKind::Completed,
                Outcome::Failed(f) => EventKind::Failed(f.clone()),
                Outcome::Cancelled(c) => EventKind::Cancelled(c.clone()),
                _ => EventKind::Completed,
            };
            self.publish(control.id, &record.scope, kind);
        }
        let _ = control.outcome.set(outcome);
        // Waiters re-check the outcome after enabling their wake-up, so none is missed.
        control.done.notify_waiters();
        control
            .span
            .in_scope(|| tracing::debug!(status = %status, "task ended"));
        record
    }

    fn signal_cancel(&self, control: &Control, cancellation: &Cancellation) {
        control.token.cancel();
        if let Some(runner) = control.runner() {
            let _ = runner.cast(RunnerMsg::Cancel);
        }
        if let Some(callback) = &control.external_cancel {
            callback(cancellation);
        }
    }

    fn cancel_control(
        &mut self,
        control: &Arc<Control>,
        by: CancelledBy,
        reason: Option<String>,
    ) -> Option<Arc<TaskRecord>> {
        let cancellation = Cancellation::new(by, reason);
        let record = self.finish(control, Outcome::Cancelled(cancellation.clone()))?;
        self.signal_cancel(control, &cancellation);
        if control.runner().is_none() {
            // No runner will report: queued, waiting to retry, or external.
            self.remove_control(&control.id);
        }
        let children = self
            .book
            .children
            .get(&control.id)
            .cloned()
            .unwrap_or_default();
        for child in children {
            if let Some(c) = self.shared.control(&child) {
                self.cancel_control(
                    &c,
                    CancelledBy::Parent,
                    Some(format!("parent {} cancelled", control.id)),
                );
            }
        }
        Some(record)
    }

    fn try_retry(&mut self, control: &Arc<Control>, attempt: u32, failure: &Failure) -> bool {
        if self.book.closed || self.shared.is_stopping() {
            return false;
        }
        match failure.cause {
            FailureCause::ResultTooLarge | FailureCause::StartFailed => return false,
            FailureCause::TimedOut if !control.restart.retries_timeouts() => return false,
            _ => {}
        }
        let next = attempt + 1;
        let Some(delay) = control.restart.delay_before(next) else {
            return false;
        };
        let Some(sup) = self.shared.runner_sup() else {
            return false;
        };
        control.set_attempt(next);
        *control.runner.lock().unwrap_or_else(|e| e.into_inner()) = None;
        if sup
            .cast(RunnerSupMsg::Restart {
                control: control.clone(),
                attempt: next,
                delay,
            })
            .is_err()
        {
            control.set_attempt(attempt);
            return false;
        }
        self.shared.counters.retries.fetch_add(1, Ordering::Relaxed);
        let message = format!(
            "attempt {attempt} failed ({failure}); retrying in {} ms",
            delay.as_millis()
        );
        if let Some(record) = self.update(&control.id, |r| {
            r.phase = Some(Phase::RetryWait);
            r.attempt = next;
            r.status_message = Some(message);
        }) {
            self.publish(
                control.id,
                &record.scope,
                EventKind::StatusChanged {
                    status: Status::Working,
                    phase: Some(Phase::RetryWait),
                    attempt: next,
                },
            );
        }
        control.span.in_scope(|| {
            tracing::debug!(
                attempt = next,
                delay_ms = delay.as_millis() as u64,
                "retry scheduled"
            )
        });
        true
    }

    fn late_result(&mut self, id: TaskId, dropped: Status) {
        self.shared
            .counters
            .late_results
            .fetch_add(1, Ordering::Relaxed);
        if let Some(record) = self.shared.store.get(&id) {
            self.publish(id, &record.scope, EventKind::LateResult { dropped });
        }
        tracing::debug!(task = %id, dropped = %dropped, "late result dropped");
    }

    fn set_phase(&mut self, control: &Control, attempt: u32, phase: Phase) {
        if control.is_terminal() || control.attempt() != attempt {
            return;
        }
        if let Some(record) = self.update(&control.id, |r| {
            r.phase = Some(phase);
            r.attempt = attempt;
        }) {
            self.publish(
                control.id,
                &record.scope,
                EventKind::StatusChanged {
                    status: record.status,
                    phase: Some(phase),
                    attempt,
                },
            );
        }
    }

    // ---------------------------------------------------------------- reports

    pub(super) fn drain(&mut self) {
        while let Some(report) = self.shared.next_report() {
            self.on_report(report);
        }
    }

    fn on_report(&mut self, report: Report) {
        match report {
            Report::Started { id, attempt } => {
                if let Some(control) = self.shared.control(&id) {
                    self.set_phase(&control, attempt, Phase::Running);
                }
            }
            Report::Cancelling { id, attempt } => {
                if let Some(control) = self.shared.control(&id) {
                    self.set_phase(&control, attempt, Phase::Cancelling);
                }
            }
            Report::Progress { id } => self.on_progress(id),
            Report::Inputs { id } => {
                if let Some(control) = self.shared.control(&id) {
                    self.sync_input_status(&control);
                }
            }
            Report::Finished {
                id,
                attempt,
                result,
            } => self.on_finished(id, attempt, result),
            Report::RunnerExited {
                id,
                attempt,
                failure,
            } => self.on_runner_exited(id, attempt, failure),
        }
    }

    fn on_progress(&mut self, id: TaskId) {
        let Some(control) = self.shared.control(&id) else {
            return;
        };
        if control.is_terminal() {
            return;
        }
        let progress = control.progress.take();
        let Some(current) = self.shared.store.get(&id) else {
            return;
        };
        if current.progress.as_ref() == Some(&progress) {
            return;
        }
        if let Some(record) = self.update(&id, |r| r.progress = Some(progress.clone())) {
            self.publish(id, &record.scope, EventKind::Progress(progress));
        }
    }

    /// Moves a live task to `input_required` while its work has input requests outstanding,
    /// and back to `working` once it has none; publishes the change. Returns the record as it
    /// now is.
    fn sync_input_status(&mut self, control: &Control) -> Option<Arc<TaskRecord>> {
        let current = self.shared.store.get(&control.id)?;
        if control.is_terminal() || current.is_terminal() {
            return Some(current);
        }
        let status = if control.awaits_input() {
            Status::InputRequired
        } else {
            Status::Working
        };
        if current.status == status {
            return Some(current);
        }
        let record = self.update(&control.id, |r| r.status = status)?;
        self.publish(
            control.id,
            &record.scope,
            EventKind::StatusChanged {
                status,
                phase: record.phase,
                attempt: record.attempt,
            },
        );
        control
            .span
            .in_scope(|| tracing::debug!(status = %status, "input status changed"));
        Some(record)
    }

    fn on_finished(&mut self, id: TaskId, attempt: u32, result: AttemptResult) {
        let dropped = match &result {
            AttemptResult::Completed(_) => Some(Status::Completed),
            AttemptResult::Failed(_) => Some(Status::Failed),
            AttemptResult::Cancelled => None,
        };
        let Some(control) = self.shared.control(&id) else {
            if let Some(status) = dropped {
                self.late_result(id, status);
            }
            return;
        };
        if control.attempt() != attempt {
            if let Some(status) = dropped {
                self.late_result(id, status);
            }
            return;
        }
        if control.is_terminal() {
            if let Some(status) = dropped {
                self.late_result(id, status);
            }
            self.remove_control(&id);
            return;
        }
        match result {
            AttemptResult::Completed(value) => {
                self.finish(&control, Outcome::completed(value));
            }
            AttemptResult::Cancelled => {
                self.finish(
                    &control,
                    Outcome::Failed(Failure::new(
                        FailureCause::Error,
                        "the work reported a cancellation nobody asked for",
                    )),
                );
            }
            AttemptResult::Failed(failure) => {
                if self.try_retry(&control, attempt, &failure) {
                    return;
                }
                self.finish(&control, Outcome::Failed(failure));
            }
        }
        self.remove_control(&id);
    }

    fn on_runner_exited(&mut self, id: TaskId, attempt: u32, failure: Failure) {
        let Some(control) = self.shared.control(&id) else {
            return;
        };
        if control.attempt() != attempt {
            return;
        }
        if !control.is_terminal() {
            tracing::warn!(task = %id, attempt, %failure, "runner exited without reporting");
            if self.try_retry(&control, attempt, &failure) {
                return;
            }
            self.finish(&control, Outcome::Failed(failure));
        }
        self.remove_control(&id);
    }

    // ---------------------------------------------------------------- commands

    pub(super) fn create(&mut self, request: CreateRequest) -> Result<Admission, Error> {
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

    pub(super) fn start_failed(&mut self, id: TaskId, reason: String) {
        if let Some(control) = self.shared.control(&id) {
            self.finish(
                &control,
                Outcome::Failed(Failure::new(FailureCause::StartFailed, reason)),
            );
            self.remove_control(&id);
        }
    }

    pub(super) fn cancel(
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

    pub(super) fn finish_external(
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

    pub(super) fn provide_input(
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

    pub(super) fn close_scope(&mut self, scope: &Scope, policy: &ClosePolicy) -> usize {
        let mut affected = 0;
        for id in self.shared.store.scope_ids(scope) {
            if self.apply_close(id, policy, "scope closed") {
                affected += 1;
            }
        }
        affected
    }

    fn apply_close(&mut self, id: TaskId, policy: &ClosePolicy, why: &str) -> bool {
        let Some(control) = self.shared.control(&id) else {
            return false;
        };
        if control.is_terminal() {
            return false;
        }
        match policy {
            ClosePolicy::Keep => false,
            ClosePolicy::Cancel => self
                .cancel_control(&control, CancelledBy::Owner, Some(why.to_owned()))
                .is_some(),
            ClosePolicy::Transfer(to) => self.transfer(id, to),
            _ => false,
        }
    }

    fn transfer(&mut self, id: TaskId, to: &Scope) -> bool {
        let Some(old) = self.shared.store.get(&id) else {
            return false;
        };
        if old.scope == *to {
            return false;
        }
        let from = old.scope.clone();
        let Some(record) = self.update(&id, |r| r.scope = to.clone()) else {
            return false;
        };
        self.book.remove_live(&from);
        self.book.add_live(to);
        if let Some(key) = &record.idempotency_key {
            self.book.idempotency.remove(&(from.clone(), key.clone()));
            self.book.idempotency.insert((to.clone(), key.clone()), id);
        }
        self.publish(id, to, EventKind::Transferred { from });
        true
    }

    pub(super) fn owner_exited(&mut self, owner: ActorId) {
        let Some(tasks) = self.book.owners.remove(&owner) else {
            return;
        };
        for id in tasks {
            if let Some(ownership) = self.book.owned_by.remove(&id) {
                self.apply_close(id, &ownership.policy, "owner exited");
            }
        }
    }

    pub(super) fn rewatch_owners(&mut self) {
        let cells: Vec<_> = self
            .book
            .owned_by
            .values()
            .map(|o| o.owner.cell.clone())
            .collect();
        let mut dead = Vec::new();
        for cell in cells {
            if let Some(me) = self.myself {
                me.get_cell().monitor(cell.clone());
            }
            if matches!(
                cell.get_status(),
                ActorStatus::Stopping | ActorStatus::Stopped
            ) {
                dead.push(cell.get_id());
            }
        }
        for owner in dead {
            self.owner_exited(owner);
        }
    }

    pub(super) fn sweep(&mut self) {
        let now = tokio::time::Instant::now().into_std();
        let expired = self.shared.store.expired(now, SWEEP_BATCH);
        let full = expired.len() == SWEEP_BATCH;
        for id in expired {
            if let Some(control) = self.shared.control(&id)
                && !control.is_terminal()
            {
                self.cancel_control(&control, CancelledBy::Expiry, Some("ttl elapsed".into()));
            }
            match self.shared.store.remove(&id) {
                Ok(Some(old)) => {
                    self.book.count_out(&old);
                    if !old.is_terminal() {
                        self.book.remove_live(&old.scope);
                    }
                    self.book.forget(&old);
                    self.publish(id, &old.scope, EventKind::Expired);
                    tracing::debug!(task = %id, "task expired and removed");
                }
                Ok(None) => {}
                Err(e) => tracing::error!(task = %id, error = %e, "the store failed to remove"),
            }
        }
        if full {
            if let Some(me) = self.myself {
                let _ = me.cast(RegistryMsg::Sweep);
            }
        }
        self.check_runners();
    }

    /// The invariant: no task stays non-terminal without a live runner. A runner that was
    /// killed (its supervisor normally reports it) is found here too.
    ///
    /// Each sweep checks a window of at most [`CHECK_BATCH`] runners, from where the last one
    /// stopped, so a sweep costs the same with 100 or 1,000,000 live tasks; the whole set is
    /// covered every `live runners / CHECK_BATCH` sweeps.
    fn check_runners(&mut self) {
        // Runners seen stopped. A runner queues its last report before it stops, so draining
        // after seeing it stopped processes that report first, and only runners that really
        // ended without reporting are failed.
        let (stale, attached): (Vec<Attempt>, Vec<Attempt>) = {
            let mut runners = self
                .shared
                .runners
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let from = self.book.runner_cursor.take();
            let window: Vec<(ActorId, RunnerEntry)> = match from {
                Some(after) => runners
                    .range((Bound::Excluded(after), Bound::Unbounded))
                    .take(CHECK_BATCH)
                    .map(|(id, e)| (*id, e.clone()))
                    .collect(),
                None => runners
                    .iter()
                    .take(CHECK_BATCH)
                    .map(|(id, e)| (*id, e.clone()))
                    .collect(),
            };
            if window.len() == CHECK_BATCH {
                self.book.runner_cursor = window.last().map(|(id, _)| *id);
            }
            // Runners seen stopped at an earlier sweep and since forgotten by their supervisor
            // need no second look.
            self.book
                .stopped_runners
                .retain(|id| runners.contains_key(id));
            let mut stale = Vec::new();
            let mut attached = Vec::new();
            for (id, entry) in window {
                if entry.cell.get_status() != ActorStatus::Stopped {
                    continue;
                }
                // The runner supervisor reports (and counts) its runners' exits within
                // moments; a runner still listed as stopped one look later was missed
                // (unlinked, or its supervisor died first), and is purged here.
                if self.book.stopped_runners.remove(&id) {
                    runners.remove(&id);
                    stale.push((entry.task, entry.attempt));
                } else {
                    self.book.stopped_runners.insert(id);
                    // A task whose attached runner is this stopped one is failed now.
                    if let Some(control) = self.shared.control(&entry.task)
                        && !control.is_terminal()
                        && control.runner().is_some_and(|r| r.get_id() == id)
                    {
                        attached.push((entry.task, entry.attempt));
                    }
                }
            }
            (stale, attached)
        };
        self.drain();
        for (task, attempt) in stale.into_iter().chain(attached) {
            self.on_runner_exited(
                task,
                attempt,
                Failure::new(
                    FailureCause::RunnerLost,
                    "the runner stopped without reporting",
                ),
            );
        }
    }

    pub(super) fn status(&mut self) -> RegistryStatus {
        let config = &self.shared.config;
        let counters = &self.shared.counters;
        RegistryStatus {
            tasks: self.shared.store.len(),
            live: self.book.live_total,
            by_status: Status::ALL
                .iter()
                .map(|s| (*s, self.book.status_count(*s)))
                .collect(),
            by_phase: Phase::ALL
                .iter()
                .map(|p| (*p, self.book.phase_count(*p)))
                .collect(),
            live_runners: self.shared.live_runner_count(),
            uptime: self.shared.started_at.elapsed(),
            accepting: !self.book.closed,
            limits: Limits {
                max_live_tasks: config.max_live_tasks,
                max_live_per_scope: config.max_live_per_scope,
                max_ttl: config.max_ttl,
                max_result_bytes: config.max_result_bytes,
            },
            late_results: counters.late_results.load(Ordering::Relaxed),
            duplicate_terminals: counters.duplicate_terminals.load(Ordering::Relaxed),
            retries: counters.retries.load(Ordering::Relaxed),
            registry_restarts: counters.registry_restarts.load(Ordering::Relaxed),
            runner_supervisor_restarts: counters.runner_sup_restarts.load(Ordering::Relaxed),
            runner_failures: counters.runner_failures.load(Ordering::Relaxed),
            subscribers: self.shared.events.receiver_count(),
        }
    }

    pub(super) fn begin_shutdown(&mut self) -> Vec<ActorRef<RunnerMsg>> {
        self.book.closed = true;
        let controls: Vec<Arc<Control>> = self
            .shared
            .controls
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        let mut runners = Vec::new();
        for control in controls {
            if !control.is_terminal() {
                self.cancel_control(
                    &control,
                    CancelledBy::Shutdown,
                    Some("the runtime is shutting down".into()),
                );
            }
            if let Some(runner) = control.runner() {
                runners.push(runner);
            }
        }
        runners
    }
}

fn notice(id: TaskId, outcome: &Outcome) -> TaskNotice {
    match outcome {
        Outcome::Completed { value } => TaskNotice::Completed {
            id,
            value: value.clone(),
        },
        Outcome::Failed(f) if f.cause == FailureCause::TimedOut => TaskNotice::TimedOut { id },
        Outcome::Failed(f) => TaskNotice::Failed {
            id,
            failure: f.clone(),
        },
        Outcome::Cancelled(c) => TaskNotice::Cancelled {
            id,
            cancellation: c.clone(),
        },
        _ => TaskNotice::Failed {
            id,
            failure: Failure::new(FailureCause::Error, outcome.to_string()),
        },
    }
}
