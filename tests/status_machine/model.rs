//! The model's expectations, and the checks of what the runtime shows against them.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use taskward::{
    Cancellation, CancelledBy, Error, EventFilter, EventKind, Failure, FailureCause, Outcome,
    Scope, Status, Subscription, TaskError, TaskHandle, Taskward,
};

use crate::common;

/// The outcome the model expects.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expected {
    /// Exactly this outcome.
    Exactly(Outcome),
    /// Cancelled by expiry (the reason is the runtime's).
    Expired,
    /// Failed with cause timed out (the message says how).
    TimedOut,
}

impl Expected {
    pub(crate) fn status(&self) -> Status {
        match self {
            Expected::Exactly(outcome) => outcome.status(),
            Expected::Expired => Status::Cancelled,
            Expected::TimedOut => Status::Failed,
        }
    }

    pub(crate) fn matches(&self, actual: &Outcome) -> bool {
        match self {
            Expected::Exactly(outcome) => outcome == actual,
            Expected::Expired => actual.cancellation().map(|c| c.by) == Some(CancelledBy::Expiry),
            Expected::TimedOut => actual.failure().map(|f| f.cause) == Some(FailureCause::TimedOut),
        }
    }
}

/// A client cancel's outcome; `k` names the step that asked for it.
pub(crate) fn cancelled(k: usize) -> Expected {
    Expected::Exactly(Outcome::Cancelled(Cancellation::new(
        CancelledBy::Client,
        Some(format!("cancel {k}")),
    )))
}

pub(crate) fn completed(k: usize) -> Expected {
    Expected::Exactly(Outcome::completed(json!(k)))
}

pub(crate) fn failed(k: usize) -> Expected {
    Expected::Exactly(Outcome::Failed(
        TaskError::new(format!("fail {k}")).into_failure(),
    ))
}

pub(crate) fn panicked(k: usize) -> Expected {
    Expected::Exactly(Outcome::Failed(Failure::new(
        FailureCause::Panicked,
        format!("panic {k}"),
    )))
}

/// What one task has shown so far: the outcome first read, which must never change.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub(crate) outcome: Option<Outcome>,
}

/// Checks a task's record against the model: live while the model says so, then the first
/// terminal transition's outcome, always the same one; gone once expired.
pub(crate) fn check_record(
    task: &TaskHandle,
    expected: Option<&Expected>,
    removed: bool,
    seen: &mut Seen,
) {
    let record = task.get();
    if removed {
        assert!(matches!(record, Err(Error::NotFound(_))), "{record:?}");
        return;
    }
    let record = record.expect("a task not expired is readable");
    match expected {
        None => {
            assert!(!record.is_terminal(), "ended unexpectedly: {record:?}");
            assert_eq!(record.outcome, None);
        }
        Some(expected) => {
            assert_eq!(record.status, expected.status(), "{record:?}");
            let outcome = record
                .outcome
                .clone()
                .expect("a terminal record has its outcome");
            assert!(
                expected.matches(&outcome),
                "{outcome:?} is not {expected:?}"
            );
            let first = seen.outcome.get_or_insert_with(|| outcome.clone());
            assert_eq!(*first, outcome, "the outcome changed after the task ended");
        }
    }
}

/// Checks the answer of a terminal command (`finish_external`, `cancel`) against the model,
/// where `next` is the outcome it would set on a live task.
pub(crate) fn check_command(
    answer: Result<Arc<taskward::TaskRecord>, Error>,
    current: Option<&Expected>,
    removed: bool,
    next: &Expected,
) {
    match (current, removed) {
        (_, true) => assert!(matches!(answer, Err(Error::NotFound(_))), "{answer:?}"),
        (Some(current), false) => match answer {
            Err(Error::AlreadyTerminal { status, .. }) => assert_eq!(status, current.status()),
            other => panic!(
                "expected AlreadyTerminal({}), got {other:?}",
                current.status()
            ),
        },
        (None, false) => {
            let record = answer.expect("a transition of a live task is applied");
            let outcome = record
                .outcome
                .as_ref()
                .expect("the answer is the ended record");
            assert!(next.matches(outcome), "{outcome:?} is not {next:?}");
        }
    }
}

/// Waiters started before anything happened, and one started after the end (unless the task
/// expired): all see the same outcome, the expected one. Returns it.
pub(crate) async fn check_waiters(
    waiters: Waiters,
    task: &TaskHandle,
    removed: bool,
    expected: &Expected,
) -> Outcome {
    let mut outcomes = Vec::new();
    for waiter in waiters {
        outcomes.push(waiter.await.expect("the waiter ran").expect("wait"));
    }
    if !removed {
        outcomes.push(task.wait().await.expect("wait after the end"));
    }
    let first = outcomes[0].clone();
    assert!(expected.matches(&first), "{first:?} is not {expected:?}");
    assert!(
        outcomes.iter().all(|o| *o == first),
        "every waiter sees the same outcome: {outcomes:?}"
    );
    first
}

/// A runtime whose tasks expire only by their own TTL, swept every second; the scope of the
/// tasks; and a subscription to every event from the start.
pub(crate) async fn start() -> (Taskward, Scope, Subscription) {
    let ward = Taskward::builder()
        .no_default_ttl()
        .sweep_interval(Duration::from_secs(1))
        .spawn()
        .await
        .expect("runtime starts");
    let sub = ward.subscribe(EventFilter::all());
    (ward, Scope::session("s"), sub)
}

/// Waiters on a task, started now.
pub(crate) type Waiters = Vec<tokio::task::JoinHandle<Result<Outcome, Error>>>;

/// Starts two waiters on `task`.
pub(crate) fn start_waiters(task: &TaskHandle) -> Waiters {
    (0..2)
        .map(|_| {
            let task = task.clone();
            tokio::spawn(async move { task.wait().await })
        })
        .collect()
}

/// At the end: counters (`late_results` as the model counted, no duplicate terminal, no live
/// runner) and events agree with the tasks' outcomes.
pub(crate) async fn check_end(
    ward: &Taskward,
    sub: &mut Subscription,
    tasks: &[(TaskHandle, Outcome)],
    late_results: u64,
) {
    let status = ward.status().await.expect("status");
    assert_eq!(status.late_results, late_results, "{status:?}");
    assert_eq!(status.duplicate_terminals, 0, "{status:?}");
    assert_eq!(status.live_runners, 0, "{status:?}");
    check_events(sub, tasks, late_results).await;
}

/// Events: exactly one terminal event per task, the one of its outcome; late results evented
/// as they are counted.
async fn check_events(sub: &mut Subscription, tasks: &[(TaskHandle, Outcome)], late_results: u64) {
    let events = common::all_events(sub).await;
    for (task, outcome) in tasks {
        let terminal: Vec<_> = events
            .iter()
            .filter(|e| e.task_id == task.id())
            .filter(|e| {
                matches!(
                    e.kind,
                    EventKind::Completed | EventKind::Failed(_) | EventKind::Cancelled(_)
                )
            })
            .map(|e| e.kind.clone())
            .collect();
        assert_eq!(terminal, [EventKind::from(outcome)], "task {}", task.id());
    }
    let late = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::LateResult { .. }))
        .count();
    assert_eq!(
        late as u64, late_results,
        "a late-result event per late result"
    );
}
