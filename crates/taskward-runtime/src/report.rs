//! What runners tell the registry, and the one port they tell it through.
//!
//! Runners (and the runner supervisor, and a work's input requests) never reach into the
//! registry: they hold a [`ReportPort`] the registry made, which queues a [`Report`] in its
//! inbox and nudges it.

use std::any::Any;
use std::sync::Arc;

use serde_json::Value;
use taskward_core::{Failure, TaskId};

/// What a runner (or the runner supervisor) reports to the registry.
#[derive(Debug)]
pub(crate) enum Report {
    /// The runner of `attempt` started its work.
    Started { id: TaskId, attempt: u32 },
    /// The work made or withdrew an input request: the registry moves the task to
    /// `input_required` or back to `working`, as the outstanding requests now say.
    Inputs { id: TaskId },
    /// The attempt's deadline passed; the work is being cancelled.
    Cancelling { id: TaskId, attempt: u32 },
    /// The attempt ended.
    Finished {
        id: TaskId,
        attempt: u32,
        result: AttemptResult,
    },
    /// A retry's backoff (or a resume) is over and the attempt needs a running slot: the
    /// runner let the task go, for the registry to start it or queue it.
    Ready { id: TaskId, attempt: u32 },
    /// The runner of `attempt` exited without reporting, or could not be started.
    RunnerExited {
        id: TaskId,
        attempt: u32,
        failure: Failure,
    },
}

impl Report {
    /// What the report is about, kept while it is applied.
    pub(crate) fn key(&self) -> ReportKey {
        let (id, attempt, ends) = match self {
            Report::Started { id, attempt } | Report::Cancelling { id, attempt } => {
                (*id, Some(*attempt), false)
            }
            Report::Inputs { id } => (*id, None, false),
            // A `Ready` that fails to apply leaves no runner holding the task: it ends it.
            Report::Ready { id, attempt }
            | Report::Finished { id, attempt, .. }
            | Report::RunnerExited { id, attempt, .. } => (*id, Some(*attempt), true),
        };
        ReportKey { id, attempt, ends }
    }
}

/// The task and attempt of a report being applied, and whether it ends the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReportKey {
    pub(crate) id: TaskId,
    pub(crate) attempt: Option<u32>,
    /// A `Finished` or `RunnerExited` report: no other report will end this attempt.
    pub(crate) ends: bool,
}

/// How one attempt ended, as its runner saw it.
#[derive(Debug)]
pub(crate) enum AttemptResult {
    Completed(Value),
    Failed(Failure),
    /// The work stopped because the task was cancelled.
    Cancelled,
}

/// Where runners send their reports: made by the registry (it queues into the registry's
/// inbox and nudges the registry), handed to the runners and to each work's context.
///
/// A report is queued and then settled (the registry's desk worked if it is free). A runner
/// working its post only queues ([`queue`](Self::queue)), in order, and settles once it has
/// released its state, so that its post is never held while the registry's desk is worked.
#[derive(Clone)]
pub(crate) struct ReportPort(Arc<dyn ReportSink>);

/// What a [`ReportPort`] reports into: the registry's side.
pub(crate) trait ReportSink: Send + Sync {
    /// Queues a report, in order, without working the registry's desk.
    fn queue(&self, report: Report);
    /// Has what was queued applied: works the registry's desk if no desk is at work.
    fn settle(&self);
}

impl std::fmt::Debug for ReportPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReportPort")
    }
}

impl ReportPort {
    pub(crate) fn new(sink: impl ReportSink + 'static) -> Self {
        Self(Arc::new(sink))
    }

    /// Sends a report to the registry: queues it and settles.
    pub(crate) fn report(&self, report: Report) {
        self.0.queue(report);
        self.0.settle();
    }

    /// Queues a report; the sender [`settle`](Self::settle)s once it holds no lock.
    pub(crate) fn queue(&self, report: Report) {
        self.0.queue(report);
    }

    /// Has the queued reports applied (see [`ReportSink::settle`]).
    pub(crate) fn settle(&self) {
        self.0.settle();
    }
}

/// The message of a panic's payload.
pub(crate) fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}
