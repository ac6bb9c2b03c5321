//! Runners' reports: started, cancelling, progress, inputs, finished, exited.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use taskward_core::{
    EventKind, Failure, FailureCause, Outcome, Phase, Status, StoreWrite, TaskId, TaskRecord,
};

use super::Desk;
use super::effects::panic_message;
use crate::control::Control;
use crate::registry::Entry;
use crate::report::{AttemptResult, Report, ReportKey};

impl Desk<'_> {
    /// Applies the inbox's commands and reports, oldest first, each under `catch_unwind`. A
    /// report stays in flight until its transition is written (until the next take); one
    /// whose transition fails (a bug, a store that panics) is contained by
    /// [`transition_failed`](Self::transition_failed), as is one a failed predecessor left in
    /// flight. A command that fails is contained by [`command`](Self::command).
    pub(in crate::registry) fn drain(&mut self) {
        if let Some(key) = self.shared.inbox.abandoned() {
            self.transition_failed(key, "the registry stopped while applying it".to_owned());
        }
        while let Some(entry) = self.shared.inbox.take() {
            let report = match entry {
                Entry::Command(command) => {
                    self.command(command);
                    continue;
                }
                Entry::Report(report) => report,
            };
            let key = report.key();
            let applied = std::panic::catch_unwind(AssertUnwindSafe(|| self.on_report(report)));
            if let Err(panic) = applied {
                self.transition_failed(key, panic_message(panic));
            }
        }
        // After the reports, so a task's progress follows its start.
        self.flush_progress();
    }

    /// Contains a report whose transition failed: counted and logged; a report that ended an
    /// attempt still ends its task (failed, with the reason), so that it never stays live
    /// without a runner. The report is not applied again: one that always fails would loop.
    fn transition_failed(&mut self, key: ReportKey, why: String) {
        self.shared
            .counters
            .transition_failures
            .fetch_add(1, Ordering::Relaxed);
        tracing::error!(task = %key.id, %why, "applying a runner's report failed; contained");
        if !key.ends {
            return;
        }
        let contained = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let Some(control) = self.shared.control(&key.id) else {
                return;
            };
            if Some(control.attempt()) != key.attempt {
                return;
            }
            if !control.is_terminal() {
                let message =
                    format!("the registry failed while applying the runner's report: {why}");
                self.finish(
                    &control,
                    Outcome::Failed(Failure::new(FailureCause::Error, message)),
                );
            }
            self.remove_control(&key.id);
        }));
        if let Err(panic) = contained {
            tracing::error!(
                task = %key.id,
                panic = %panic_message(panic),
                "ending a task whose report failed failed too; the sweep will find it"
            );
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
            Report::Ready { id, attempt } => self.on_ready(id, attempt),
        }
    }

    /// Reads the progress of each task on the dirty-progress list, once: bounded by the list
    /// as it was taken, so a work that keeps reporting cannot hold the registry here (its next
    /// report lists it for the next flush).
    pub(in crate::registry) fn flush_progress(&mut self) {
        for id in self.shared.progress.take() {
            self.on_progress(id);
        }
    }

    /// Publishes a task's latest progress, if it changed and the task is live.
    fn on_progress(&mut self, id: TaskId) {
        if let Some(control) = self.shared.control(&id) {
            self.progress_of(&control);
        }
    }

    /// [`on_progress`](Self::on_progress), with the task's control at hand.
    fn progress_of(&mut self, control: &Control) {
        let id = control.id;
        // A work that never reported has no progress to publish (not even a zero).
        if control.is_terminal() || !control.progress.is_reported() {
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
    pub(super) fn sync_input_status(&mut self, control: &Control) -> Option<Arc<TaskRecord>> {
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
            self.journal_inputs(control);
            return Some(current);
        }
        // Asking: the requests are written first, so that no node reads `input_required`
        // without them; answered: the status first, so that none reads it with none.
        if status == Status::InputRequired {
            self.journal_inputs(control);
        }
        let record = self.update(&control.id, |r| r.status = status)?;
        if status != Status::InputRequired {
            self.journal_inputs(control);
        }
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

    /// On a node of several, writes the task's outstanding requests to the durable store
    /// (after the status change they cause, in the same batch or a later one), so that the
    /// shared table shows them on every node. A single node keeps them in memory only.
    fn journal_inputs(&self, control: &Control) {
        if self.shared.shared_tasks.is_none() {
            return;
        }
        if let Some(journal) = &self.shared.journal {
            let requests = control.input_requests();
            journal.push(StoreWrite::Inputs(control.id, requests.into()));
        }
    }

    fn on_finished(&mut self, id: TaskId, attempt: u32, result: AttemptResult) {
        // One lookup of the control for the whole report.
        let found = self.shared.control(&id);
        // The work's last progress, which may not be flushed yet, comes before its end.
        if let Some(control) = &found {
            self.progress_of(control);
        }
        let dropped = match &result {
            AttemptResult::Completed(_) => Some(Status::Completed),
            AttemptResult::Failed(_) => Some(Status::Failed),
            AttemptResult::Cancelled => None,
        };
        // A report for a task that ended already (or for an attempt superseded by a retry) is
        // dropped; a result in it is counted and evented, never lost silently.
        let control = found
            .clone()
            .filter(|c| c.attempt() == attempt && !c.is_terminal());
        let Some(control) = control else {
            if let Some(status) = dropped {
                self.late_result(id, status);
            }
            if found.is_some_and(|c| c.attempt() == attempt && c.is_terminal()) {
                // That attempt's runner has reported: no one else will for this task.
                self.remove_control(&id);
            }
            return;
        };
        if !matches!(result, AttemptResult::Completed(_))
            && control.resumable.as_ref().is_some_and(|r| r.is_parked())
        {
            // Stopped by shutdown over a durable store: resumed at the next start.
            self.parked(&control);
            return;
        }
        if !matches!(result, AttemptResult::Completed(_))
            && control
                .resumable
                .as_ref()
                .is_some_and(|r| r.is_suspending())
        {
            // Stopped to be suspended: the task stays live, its control kept for resume.
            self.suspended(&control);
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

    /// A gated attempt's backoff is over: it starts now or queues for a slot. A task that
    /// ended meanwhile has no runner left to report: its control goes.
    fn on_ready(&mut self, id: TaskId, attempt: u32) {
        let Some(control) = self.shared.control(&id) else {
            return;
        };
        if control.attempt() != attempt {
            return;
        }
        if control.is_terminal() {
            self.remove_control(&id);
            return;
        }
        // Suspended while this was on its way: it waits for a resume.
        if self
            .shared
            .store
            .get(&id)
            .is_some_and(|r| r.phase == Some(Phase::Suspended))
        {
            return;
        }
        self.start_or_queue(&control);
    }

    pub(super) fn on_runner_exited(&mut self, id: TaskId, attempt: u32, failure: Failure) {
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
}
