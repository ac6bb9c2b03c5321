//! Faults inside the registry are contained: a user callback that panics (an owner's notice
//! wrapper, an external task's `on_cancel`) is logged and counted and never takes the registry
//! down; callbacks run after the registry's lock is released, so one that calls back into the
//! runtime does not deadlock; a store that fails or panics while a terminal record is written
//! never leaves the task non-terminal.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use taskward::{
    Cancellation, Error, FailureCause, ListQuery, MemoryStore, Outcome, Owner, Page, Scope, Status,
    StoreError, TaskHandle, TaskId, TaskNotice, TaskRecord, TaskSpec, TaskStore, Taskward,
};

/// The outcome of a task; fails the test after a (virtual) minute without one.
async fn outcome_of(task: &TaskHandle) -> Outcome {
    tokio::time::timeout(Duration::from_secs(60), task.wait())
        .await
        .expect("the task ended within a minute")
        .expect("wait")
}

// ------------------------------------------------------------------ callbacks that panic

#[tokio::test(start_paused = true)]
async fn an_owner_wrapper_that_panics_on_the_notice_is_counted_and_the_task_still_completes() {
    let ward = common::ward().await;
    let (host, _notices) = common::sink::<TaskNotice>().await;
    let owner = Owner::actor(&host, |notice: TaskNotice| {
        if matches!(notice, TaskNotice::Completed { .. }) {
            panic!("the host's wrapper is buggy");
        }
        notice
    });
    let task = ward
        .submit(
            TaskSpec::new("owned").owner(owner),
            common::instant(json!(7)),
        )
        .await
        .unwrap();

    assert_eq!(outcome_of(&task).await, Outcome::completed(json!(7)));
    assert_eq!(task.get().unwrap().status, Status::Completed);
    let status = ward.status().await.unwrap();
    assert_eq!(status.registry_restarts, 0, "{status:?}");
    assert_eq!(status.callback_panics, 1, "{status:?}");
    assert_eq!(status.live, 0);
}

#[tokio::test(start_paused = true)]
async fn an_external_on_cancel_that_panics_is_counted_on_either_path() {
    let ward = common::ward().await;
    let scope = Scope::session("host");
    let panicking = |_: &Cancellation| panic!("the host's cancel hook is buggy");

    // A client cancel (runs on the caller's thread).
    let a = ward
        .submit_external(TaskSpec::new("a").scope(scope.clone()), panicking)
        .await
        .unwrap();
    let cancelled = ward.cancel(&scope, a.id(), None).await.unwrap();
    assert_eq!(cancelled.status, Status::Cancelled);

    // A scope closed (runs in the registry actor).
    let b = ward
        .submit_external(TaskSpec::new("b").scope(scope.clone()), panicking)
        .await
        .unwrap();
    let affected = ward
        .close_scope(&scope, taskward::ClosePolicy::Cancel)
        .await
        .unwrap();
    assert_eq!(affected, 1);
    assert!(outcome_of(&b).await.cancellation().is_some());

    let status = ward.status().await.unwrap();
    assert_eq!(status.registry_restarts, 0, "{status:?}");
    assert_eq!(status.callback_panics, 2, "{status:?}");
    assert_eq!(status.live, 0);
}

// ------------------------------------------------------------------ callbacks that call back

/// How long a cancel run on a thread of its own may take before the test calls it a deadlock:
/// a guard that fails the test, not a timing assertion (it answers in microseconds).
const DEADLOCK_GUARD: Duration = Duration::from_secs(30);

/// Cancels a task on the direct path from a thread of its own, so that a deadlock fails the
/// test (see [`DEADLOCK_GUARD`]) instead of blocking it; the answer arrives on the receiver.
fn cancel_from_a_thread(
    ward: &Taskward,
    scope: &Scope,
    id: TaskId,
) -> std::sync::mpsc::Receiver<Result<Status, String>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (ward, scope) = (ward.clone(), scope.clone());
    std::thread::spawn(move || {
        let caller = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let r = caller.block_on(ward.cancel(&scope, id, None));
        let _ = tx.send(r.map(|record| record.status).map_err(|e| e.to_string()));
    });
    rx
}

/// Waits (off the runtime's thread, so the registry keeps running) for the answer of
/// [`cancel_from_a_thread`], at most [`DEADLOCK_GUARD`] of real time.
async fn answer_of(
    rx: std::sync::mpsc::Receiver<Result<Status, String>>,
) -> Result<Status, String> {
    tokio::task::spawn_blocking(move || rx.recv_timeout(DEADLOCK_GUARD))
        .await
        .unwrap()
        .expect("the cancel answered: no deadlock")
}

#[tokio::test(start_paused = true)]
async fn an_on_cancel_that_cancels_another_task_does_not_deadlock() {
    let ward = common::ward().await;
    let scope = Scope::session("host");
    let other: Arc<Mutex<Option<TaskId>>> = Arc::default();
    // The cascaded cancel's answer (it may come after the cascaded task's outcome is
    // observable: the token fires, and the work ends, before the cancel is answered).
    let (seen_tx, seen) = tokio::sync::oneshot::channel::<Status>();
    let seen_tx = Mutex::new(Some(seen_tx));
    let on_cancel = {
        let ward = ward.clone();
        let scope = scope.clone();
        let other = other.clone();
        move |_: &Cancellation| {
            let id = other.lock().unwrap().expect("set before the cancel");
            // From inside the callback: a read, synchronously, and a command, spawned (the
            // callback runs on the registry's thread, which answers the command once the
            // callback has returned).
            let before = ward.get(&scope, id).unwrap().status;
            assert_eq!(before, Status::Working);
            let (ward, scope) = (ward.clone(), scope.clone());
            let seen_tx = seen_tx.lock().unwrap().take();
            tokio::spawn(async move {
                let r = ward.cancel(&scope, id, Some("cascade".into())).await;
                if let Some(tx) = seen_tx {
                    let _ = tx.send(r.unwrap().status);
                }
            });
        }
    };
    let first = ward
        .submit_external(TaskSpec::new("first").scope(scope.clone()), on_cancel)
        .await
        .unwrap();
    let second = ward
        .submit(TaskSpec::new("second").scope(scope.clone()), |ctx| {
            common::sleepy(ctx, Duration::from_secs(3600))
        })
        .await
        .unwrap();
    *other.lock().unwrap() = Some(second.id());

    tokio::time::sleep(Duration::from_millis(10)).await;
    let rx = cancel_from_a_thread(&ward, &scope, first.id());
    assert_eq!(answer_of(rx).await, Ok(Status::Cancelled));
    assert!(outcome_of(&second).await.cancellation().is_some());
    assert_eq!(seen.await.ok(), Some(Status::Cancelled));
    let status = ward.status().await.unwrap();
    assert_eq!(status.callback_panics, 0);
    assert_eq!(status.registry_restarts, 0);
}

#[tokio::test(start_paused = true)]
async fn an_owner_wrapper_that_calls_back_into_the_runtime_does_not_deadlock() {
    let ward = common::ward().await;
    let (host, mut notices) = common::sink::<(TaskNotice, Status, usize)>().await;
    let other: Arc<Mutex<Option<TaskId>>> = Arc::default();
    let runtime = tokio::runtime::Handle::current();
    let owner = {
        let ward = ward.clone();
        let other = other.clone();
        Owner::actor(&host, move |notice: TaskNotice| {
            // A status query from a spawned task, and a synchronous read and cancel.
            let w = ward.clone();
            runtime.spawn(async move { w.status().await.expect("status answers") });
            let id = other.lock().unwrap().expect("set before the cancel");
            // A command from inside the callback cannot be awaited there (the callback runs
            // on the registry's thread): it is queued now and answered once the callback has
            // returned, so the read below still sees the task working.
            let w = ward.clone();
            runtime.spawn(async move { w.cancel(&Scope::global(), id, None).await });
            let status = ward
                .get(&Scope::global(), id)
                .map(|r| r.status)
                .unwrap_or(Status::Failed);
            let listed = ward.list(&Scope::global(), &ListQuery::new()).unwrap();
            (notice, status, listed.tasks.len())
        })
    };
    let owned = ward
        .submit(TaskSpec::new("owned").owner(owner), |ctx| {
            common::sleepy(ctx, Duration::from_secs(3600))
        })
        .await
        .unwrap();
    let second = ward
        .submit(TaskSpec::new("second"), |ctx| {
            common::sleepy(ctx, Duration::from_secs(3600))
        })
        .await
        .unwrap();
    *other.lock().unwrap() = Some(second.id());

    tokio::time::sleep(Duration::from_millis(10)).await;
    let rx = cancel_from_a_thread(&ward, &Scope::global(), owned.id());
    assert_eq!(answer_of(rx).await, Ok(Status::Cancelled));
    let (notice, cascaded, listed) = tokio::time::timeout(Duration::from_secs(60), notices.recv())
        .await
        .expect("the owner was told")
        .unwrap();
    assert!(matches!(notice, TaskNotice::Cancelled { .. }), "{notice:?}");
    assert_eq!((cascaded, listed), (Status::Working, 2));
    assert!(outcome_of(&second).await.cancellation().is_some());
    assert_eq!(ward.status().await.unwrap().registry_restarts, 0);
}

// ------------------------------------------------------------------ a store that fails

/// A memory store that fails (or panics on) the next `n` writes of a terminal record, and
/// panics on the next `remove_panics` removals.
#[derive(Debug)]
struct FaultyStore {
    inner: MemoryStore,
    failures: AtomicU32,
    panics: AtomicU32,
    remove_panics: AtomicU32,
}

impl FaultyStore {
    fn new(failures: u32, panics: u32) -> Arc<Self> {
        Self::with_remove_panics(failures, panics, 0)
    }

    fn with_remove_panics(failures: u32, panics: u32, remove_panics: u32) -> Arc<Self> {
        Arc::new(Self {
            inner: MemoryStore::new(),
            failures: AtomicU32::new(failures),
            panics: AtomicU32::new(panics),
            remove_panics: AtomicU32::new(remove_panics),
        })
    }
}

fn take_one(n: &AtomicU32) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl TaskStore for FaultyStore {
    fn insert(
        &self,
        record: Arc<TaskRecord>,
        expires_at: Option<Instant>,
    ) -> Result<(), StoreError> {
        self.inner.insert(record, expires_at)
    }

    fn replace(&self, record: Arc<TaskRecord>) -> Result<(), StoreError> {
        if record.is_terminal() {
            if take_one(&self.panics) {
                panic!("the store panicked writing a terminal record");
            }
            if take_one(&self.failures) {
                return Err(StoreError::new("disk unavailable"));
            }
        }
        self.inner.replace(record)
    }

    fn remove(&self, id: &TaskId) -> Result<Option<Arc<TaskRecord>>, StoreError> {
        if take_one(&self.remove_panics) {
            panic!("the store panicked removing a record");
        }
        self.inner.remove(id)
    }

    fn get(&self, id: &TaskId) -> Option<Arc<TaskRecord>> {
        self.inner.get(id)
    }

    fn list(&self, scope: &Scope, query: &ListQuery) -> Page {
        self.inner.list(scope, query)
    }

    fn scope_ids(&self, scope: &Scope) -> Vec<TaskId> {
        self.inner.scope_ids(scope)
    }

    fn expired(&self, now: Instant, max: usize) -> Vec<TaskId> {
        self.inner.expired(now, max)
    }

    fn len(&self) -> usize {
        self.inner.len()
    }
}

/// A runtime on `store` (sweeping every 100 ms) and a task that completes with "v" at once.
async fn one_task_on(store: Arc<FaultyStore>) -> (Taskward, TaskHandle) {
    let ward = Taskward::builder()
        .store(store)
        .sweep_interval(Duration::from_millis(100))
        .spawn()
        .await
        .unwrap();
    let task = ward
        .submit(TaskSpec::new("done"), common::instant(json!("v")))
        .await
        .unwrap();
    (ward, task)
}

#[tokio::test(start_paused = true)]
async fn a_store_error_on_a_terminal_record_is_retried_by_the_sweep() {
    let (ward, task) = one_task_on(FaultyStore::new(1, 0)).await;
    assert_eq!(outcome_of(&task).await, Outcome::completed(json!("v")));

    // The next sweeps write the record that failed.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let record = task.get().unwrap();
    assert_eq!(record.status, Status::Completed, "{record:?}");
    assert_eq!(record.outcome, Some(Outcome::completed(json!("v"))));
    let status = ward.status().await.unwrap();
    assert_eq!(status.store_errors, 1, "{status:?}");
    assert_eq!(status.live, 0);
    assert_eq!(status.count(Status::Working), 0);
    assert_eq!(status.count(Status::Completed), 1);
    assert_eq!(status.registry_restarts, 0);
}

#[tokio::test(start_paused = true)]
async fn a_store_that_panics_while_a_report_is_applied_fails_the_task_and_keeps_the_registry() {
    let (ward, task) = one_task_on(FaultyStore::new(0, 1)).await;

    let outcome = outcome_of(&task).await;
    let failure = outcome.failure().expect("failed");
    assert_eq!(failure.cause, FailureCause::Error);
    assert!(
        failure.message.contains("the registry failed"),
        "{}",
        failure.message
    );
    assert_eq!(task.get().unwrap().status, Status::Failed);
    let status = ward.status().await.unwrap();
    assert_eq!(status.transition_failures, 1, "{status:?}");
    assert_eq!(status.registry_restarts, 0, "{status:?}");
    assert_eq!(status.live, 0);

    // The registry carries on.
    let next = ward
        .submit(TaskSpec::new("next"), common::instant(json!(2)))
        .await
        .unwrap();
    assert_eq!(outcome_of(&next).await, Outcome::completed(json!(2)));
}

#[tokio::test(start_paused = true)]
async fn a_store_that_panics_while_the_sweep_expires_a_task_is_contained_and_tried_again() {
    let ward = Taskward::builder()
        .store(FaultyStore::with_remove_panics(0, 0, 1))
        .sweep_interval(Duration::from_millis(100))
        .spawn()
        .await
        .unwrap();
    let task = ward
        .submit(
            TaskSpec::new("short-lived").ttl(Duration::from_millis(200)),
            common::instant(json!("v")),
        )
        .await
        .unwrap();
    assert_eq!(outcome_of(&task).await, Outcome::completed(json!("v")));

    // The first sweep after the TTL panics in the store; a later one removes the task.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        matches!(task.get(), Err(Error::NotFound(_))),
        "{:?}",
        task.get()
    );
    let status = ward.status().await.unwrap();
    assert_eq!(status.transition_failures, 1, "{status:?}");
    assert_eq!(status.registry_restarts, 0, "{status:?}");
    assert_eq!(status.tasks, 0, "{status:?}");
}
