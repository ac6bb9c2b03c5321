//! The registry's inbox: every command and every report reaches the registry this one way.
//!
//! API calls queue a [`Command`] with the port its answer goes to; runners queue a
//! [`Report`]. Both share one FIFO, so a command sees every report queued before it (a
//! cancel sees the finish that raced it, an answer to an input request sees the park). The
//! queue belongs to the runtime, not to the registry actor: a registry that dies loses none of
//! it, and its successor drains it when it starts (ractor would drop a stopped actor's
//! mailbox). Whoever queues works the registry's desk if no desk is at work, taking
//! everything queued, in order, under one lock of its book; otherwise the desk at work takes
//! it, since every desk looks at the inbox again as it releases the book.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;
use taskward_core::{CancelledBy, ClosePolicy, Error, Scope, TaskError, TaskId, TaskRecord};
use tokio::sync::oneshot;

use super::{Admission, CreateRequest, RegistryStatus, ShutdownRunners};
use crate::report::{Report, ReportKey};

/// Where a command's answer goes.
pub(crate) type Answer<T> = oneshot::Sender<T>;

/// A command from the API to the registry.
#[derive(Debug)]
pub(crate) enum Command {
    Create(Box<CreateRequest>, Answer<Result<Admission, Error>>),
    StartFailed {
        id: TaskId,
        reason: String,
        done: Answer<()>,
    },
    Cancel {
        scope: Scope,
        id: TaskId,
        by: CancelledBy,
        reason: Option<String>,
        answer: Answer<Result<std::sync::Arc<TaskRecord>, Error>>,
    },
    Suspend {
        scope: Scope,
        id: TaskId,
        answer: Answer<Result<std::sync::Arc<TaskRecord>, Error>>,
    },
    Resume {
        scope: Scope,
        id: TaskId,
        answer: Answer<Result<std::sync::Arc<TaskRecord>, Error>>,
    },
    CloseScope {
        scope: Scope,
        policy: ClosePolicy,
        answer: Answer<usize>,
    },
    FinishExternal {
        scope: Scope,
        id: TaskId,
        result: Result<Value, TaskError>,
        answer: Answer<Result<std::sync::Arc<TaskRecord>, Error>>,
    },
    ProvideInput {
        scope: Scope,
        id: TaskId,
        key: String,
        response: Value,
        answer: Answer<Result<std::sync::Arc<TaskRecord>, Error>>,
    },
    Release {
        id: TaskId,
        answer: Answer<Result<std::sync::Arc<TaskRecord>, Error>>,
    },
    Status(Answer<RegistryStatus>),
    BeginShutdown(Answer<ShutdownRunners>),
}

/// One entry of the inbox.
#[derive(Debug)]
pub(crate) enum Entry {
    Command(Command),
    Report(Report),
}

/// Why the inbox takes no more commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closed {
    /// The runtime shut down.
    ShutDown,
    /// The supervision tree gave up: nothing will drain the inbox again.
    GaveUp,
}

impl Closed {
    /// The error a command refused for this gets.
    pub(crate) fn error(self) -> Error {
        match self {
            Closed::ShutDown => Error::ShutDown,
            Closed::GaveUp => {
                Error::Unavailable("the registry is down and was not restarted".into())
            }
        }
    }
}

#[derive(Debug, Default)]
struct Queue {
    entries: VecDeque<Entry>,
    /// Set while the registry applies a report, cleared once its transition is written: a
    /// registry that fails in between leaves it to its successor.
    in_flight: Option<ReportKey>,
    closed: Option<Closed>,
}

/// The inbox (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Inbox {
    queue: Mutex<Queue>,
}

impl Inbox {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a command; says why when the inbox is closed (the command is dropped with its
    /// answer port).
    pub(crate) fn command(&self, command: Command) -> Result<(), Closed> {
        let mut queue = self.queue();
        if let Some(closed) = queue.closed {
            return Err(closed);
        }
        queue.entries.push_back(Entry::Command(command));
        Ok(())
    }

    /// Queues a report. Reports are taken even once the inbox is closed: whoever ends the
    /// remaining tasks drains them.
    pub(crate) fn report(&self, report: Report) {
        self.queue().entries.push_back(Entry::Report(report));
    }

    /// Whether nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.queue().entries.is_empty()
    }

    /// Takes the oldest entry to apply it, and marks a report in flight until the next take:
    /// a registry that dies mid-drain loses none of the entries it had not reached, and leaves
    /// the report it was applying to its successor. Taking the next entry (or finding none)
    /// means the one before has its transition written.
    pub(crate) fn take(&self) -> Option<Entry> {
        let mut queue = self.queue();
        let entry = queue.entries.pop_front();
        queue.in_flight = match &entry {
            Some(Entry::Report(report)) => Some(report.key()),
            _ => None,
        };
        entry
    }

    /// A report a predecessor took and never finished applying (it failed mid-transition).
    pub(crate) fn abandoned(&self) -> Option<ReportKey> {
        self.queue().in_flight.take()
    }

    /// Takes no more commands, and answers those queued with `closed`'s error (by dropping
    /// their answer ports; callers read the reason from [`closed`](Self::closed)). Reports
    /// stay queued.
    pub(crate) fn close(&self, closed: Closed) {
        let commands: VecDeque<Entry> = {
            let mut queue = self.queue();
            queue.closed.get_or_insert(closed);
            let (commands, reports) = std::mem::take(&mut queue.entries)
                .into_iter()
                .partition(|e| matches!(e, Entry::Command(_)));
            queue.entries = reports;
            commands
        };
        drop(commands);
    }

    /// Why the inbox is closed, if it is.
    pub(crate) fn closed(&self) -> Option<Closed> {
        self.queue().closed
    }
}
