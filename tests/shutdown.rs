//! Semantic 13, shutdown with a deadline: stop admitting, cancel all live tasks (by shutdown),
//! wait for cooperative work, abort the rest; every task ends terminal.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use ractor::ActorStatus;
use serde_json::json;
use taskward::{
    Backoff, CancelledBy, Error, Outcome, Phase, Restart, Scope, Status, TaskContext, TaskError,
    TaskHandle, TaskSpec, Taskward,
};

fn assert_cancelled_by_shutdown(task: &TaskHandle) {
    let record = task.get().expect("still readable after shutdown");
    assert_eq!(record.status, Status::Cancelled, "{record:?}");
    assert_eq!(record.phase, None);
    let cancellation = record
        .outcome
        .as_ref()
        .and_then(Outcome::cancellation)
        .unwrap();
    assert_eq!(cancellation.by, CancelledBy::Shutdown);
}

/// Work that, once cancelled, takes `cleanup` to return and then sets `cleaned`.
async fn cooperative(
    ctx: TaskContext,
    cleanup: Duration,
    cleaned: Arc<AtomicUsize>,
) -> Result<serde_json::Value, TaskError> {
    ctx.cancelled().await;
    tokio::time::sleep(cleanup).await;
    cleaned.fetch_add(1, Ordering::SeqCst);
    Err(TaskError::cancelled())
}

/// A task in `scope` whose work always fails, retried after an hour: it waits without a
/// runner.
async fn retrying(ward: &Taskward, scope: &Scope) -> TaskHandle {
    ward.submit(
        TaskSpec::new("retrying")
            .scope(scope.clone())
            .restart(Restart::transient(
                5,
                Backoff::fixed(Duration::from_secs(3600)),
            )),
        |_ctx| async { Err(TaskError::new("fails")) },
    )
    .await
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn cooperative_work_is_cancelled_and_waited_for() {
    let ward = common::ward().await;
    let scope = Scope::session("s");
    let cleaned = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let cleaned = cleaned.clone();
        tasks.push(
            ward.submit(
                TaskSpec::new("coop")
                    .scope(scope.clone())
                    .cancel_grace(Duration::from_secs(30)),
                move |ctx: TaskContext| {
                    cooperative(ctx, Duration::from_millis(500), cleaned.clone())
                },
            )
            .await
            .unwrap(),
        );
    }
    let done = common::submit_instant(&ward, &scope, "done", json!("kept")).await;
    done.wait().await.unwrap();
    let waiter = {
        let t = tasks[0].clone();
        tokio::spawn(async move { t.wait().await })
    };

    let started = tokio::time::Instant::now();
    let report = ward.shutdown(Duration::from_secs(10)).await.unwrap();
    let took = started.elapsed();

    assert_eq!(report.runners, 5);
    assert_eq!(report.aborted, 0);
    assert_eq!(
        cleaned.load(Ordering::SeqCst),
        5,
        "every work finished its cleanup"
    );
    // It waited for the cleanup, and no longer than that.
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(1),
        "{took:?}"
    );
    for task in &tasks {
        assert_cancelled_by_shutdown(task);
    }
    assert_eq!(
        done.get().unwrap().outcome,
        Some(Outcome::completed(json!("kept")))
    );
    let woken = waiter.await.unwrap().unwrap();
    assert_eq!(woken.cancellation().unwrap().by, CancelledBy::Shutdown);
}

#[tokio::test(start_paused = true)]
async fn work_that_ignores_the_cancel_is_aborted_at_the_deadline() {
    let ward = common::ward().await;
    let finished = Arc::new(AtomicUsize::new(0));
    let cleaned = Arc::new(AtomicUsize::new(0));
    let mut stubborn = Vec::new();
    for _ in 0..2 {
        let finished = finished.clone();
        stubborn.push(
            ward.submit(
                TaskSpec::new("stubborn").cancel_grace(Duration::from_secs(3600)),
                move |ctx: TaskContext| {
                    let finished = finished.clone();
                    async move {
                        let r = common::stubborn(ctx, Duration::from_secs(3600)).await;
                        finished.fetch_add(1, Ordering::SeqCst);
                        r
                    }
                },
            )
            .await
            .unwrap(),
        );
    }
    let mut coop = Vec::new();
    for _ in 0..3 {
        let cleaned = cleaned.clone();
        coop.push(
            ward.submit(TaskSpec::new("coop"), move |ctx: TaskContext| {
                cooperative(ctx, Duration::from_millis(100), cleaned.clone())
            })
            .await
            .unwrap(),
        );
    }

    let started = tokio::time::Instant::now();
    let report = ward.shutdown(Duration::from_secs(2)).await.unwrap();
    let took = started.elapsed();

    assert_eq!(report.runners, 5);
    assert_eq!(report.aborted, 2, "{report:?}");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(3),
        "one deadline for all: {took:?}"
    );
    assert_eq!(cleaned.load(Ordering::SeqCst), 3);
    for task in stubborn.iter().chain(&coop) {
        assert_cancelled_by_shutdown(task);
    }
    // Aborted: the stubborn work never reached its end.
    tokio::time::sleep(Duration::from_secs(7200)).await;
    assert_eq!(finished.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn nothing_is_admitted_once_shutdown_begins() {
    let ward = common::ward().await;
    let task = ward
        .submit(
            TaskSpec::new("stubborn").cancel_grace(Duration::from_secs(3600)),
            |ctx: TaskContext| common::stubborn(ctx, Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    let shutting = {
        let ward = ward.clone();
        tokio::spawn(async move { ward.shutdown(Duration::from_secs(5)).await })
    };
    // Shutdown is now waiting for the stubborn work.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!shutting.is_finished());
    assert_cancelled_by_shutdown(&task);
    let r = ward
        .submit(TaskSpec::new("late"), common::instant(json!(1)))
        .await;
    assert!(matches!(r, Err(Error::ShutDown)), "{r:?}");
    let status = ward.status().await.unwrap();
    assert!(!status.accepting);

    let report = shutting.await.unwrap().unwrap();
    assert_eq!((report.runners, report.aborted), (1, 1));

    // And after it ended.
    let r = ward
        .submit(TaskSpec::new("later"), common::instant(json!(1)))
        .await;
    assert!(matches!(r, Err(Error::ShutDown)), "{r:?}");
    let r = ward
        .submit_external(TaskSpec::new("external"), |_| {})
        .await;
    assert!(matches!(r, Err(Error::ShutDown)), "{r:?}");
    let r = task.cancel(None).await;
    assert!(matches!(r, Err(Error::ShutDown)), "{r:?}");
    assert!(matches!(ward.status().await, Err(Error::ShutDown)));
}

#[tokio::test(start_paused = true)]
async fn every_task_ends_terminal_whatever_its_phase() {
    let ward = common::ward().await;
    let scope = Scope::session("s");
    // Running.
    let running = common::submit_long(&ward, &scope, "running").await;
    // Waiting to retry (no runner).
    let retrying = retrying(&ward, &scope).await;
    // External (its work runs elsewhere).
    let told = Arc::new(AtomicBool::new(false));
    let external = {
        let told = told.clone();
        ward.submit_external(TaskSpec::new("external").scope(scope.clone()), move |c| {
            assert_eq!(c.by, CancelledBy::Shutdown);
            told.store(true, Ordering::SeqCst);
        })
        .await
        .unwrap()
    };
    // Already ended: left as it was.
    let failed = common::submit_failing(&ward, &scope, "failed", "no").await;
    failed.wait().await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(retrying.get().unwrap().phase, Some(Phase::RetryWait));

    let report = ward.shutdown(Duration::from_secs(5)).await.unwrap();
    assert_eq!(report.runners, 1);
    assert_eq!(report.aborted, 0);
    for task in [&running, &retrying, &external] {
        assert_cancelled_by_shutdown(task);
    }
    assert!(
        told.load(Ordering::SeqCst),
        "the external task's host was told"
    );
    assert_eq!(failed.get().unwrap().status, Status::Failed);

    let page = ward.list(&scope, &Default::default()).unwrap();
    assert_eq!(page.tasks.len(), 4);
    assert!(page.tasks.iter().all(|r| r.is_terminal()), "{page:?}");

    // The retry never starts after shutdown.
    tokio::time::sleep(Duration::from_secs(7200)).await;
    assert_eq!(retrying.get().unwrap().attempt, 2);
    assert_eq!(retrying.get().unwrap().status, Status::Cancelled);
}

#[tokio::test(start_paused = true)]
async fn the_supervision_tree_is_stopped_afterwards() {
    let ward = Taskward::builder().spawn().await.unwrap();
    let root = ward.root_cell();
    let registry = ward.registry_cell().unwrap();
    let runner_sup = ward.runner_supervisor_cell().unwrap();
    let task = ward
        .submit(TaskSpec::new("t"), |ctx: TaskContext| {
            common::sleepy(ctx, Duration::from_secs(3600))
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let runner = runner_sup.get_children().pop().expect("a runner");

    ward.shutdown(Duration::from_secs(1)).await.unwrap();
    for cell in [&root, &registry, &runner_sup, &runner] {
        assert_eq!(cell.get_status(), ActorStatus::Stopped);
    }
    assert!(ward.registry_cell().is_none());
    assert!(ward.runner_supervisor_cell().is_none());
    assert_cancelled_by_shutdown(&task);
    // Nothing was restarted on the way down.
    assert!(matches!(ward.status().await, Err(Error::ShutDown)));
}

/// A store that checks, when flushed, that every task it holds is terminal.
#[derive(Debug, Default)]
struct FlushCheckingStore {
    inner: taskward::MemoryStore,
    ids: std::sync::Mutex<Vec<taskward::TaskId>>,
    flushes: AtomicUsize,
    live_at_flush: AtomicUsize,
}

impl taskward::TaskStore for FlushCheckingStore {
    fn insert(
        &self,
        record: Arc<taskward::TaskRecord>,
        expires_at: Option<std::time::Instant>,
    ) -> Result<(), taskward::StoreError> {
        self.ids.lock().unwrap().push(record.id);
        self.inner.insert(record, expires_at)
    }
    fn replace(&self, record: Arc<taskward::TaskRecord>) -> Result<(), taskward::StoreError> {
        self.inner.replace(record)
    }
    fn remove(
        &self,
        id: &taskward::TaskId,
    ) -> Result<Option<Arc<taskward::TaskRecord>>, taskward::StoreError> {
        self.inner.remove(id)
    }
    fn get(&self, id: &taskward::TaskId) -> Option<Arc<taskward::TaskRecord>> {
        self.inner.get(id)
    }
    fn list(&self, scope: &Scope, query: &taskward::ListQuery) -> taskward::Page {
        self.inner.list(scope, query)
    }
    fn scope_ids(&self, scope: &Scope) -> Vec<taskward::TaskId> {
        self.inner.scope_ids(scope)
    }
    fn expired(&self, now: std::time::Instant, max: usize) -> Vec<taskward::TaskId> {
        self.inner.expired(now, max)
    }
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn flush(&self) -> Result<(), taskward::StoreError> {
        let live = self
            .ids
            .lock()
            .unwrap()
            .iter()
            .filter(|id| self.inner.get(id).is_some_and(|r| !r.is_terminal()))
            .count();
        self.live_at_flush.store(live, Ordering::SeqCst);
        self.flushes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn the_store_is_flushed_with_every_task_terminal() {
    let store = Arc::new(FlushCheckingStore::default());
    let ward = Taskward::builder()
        .store(store.clone())
        .spawn()
        .await
        .unwrap();
    for i in 0..4u64 {
        ward.submit(TaskSpec::new("t"), move |ctx: TaskContext| async move {
            if i % 2 == 0 {
                common::sleepy(ctx, Duration::from_secs(3600)).await
            } else {
                common::stubborn(ctx, Duration::from_secs(3600)).await
            }
        })
        .await
        .unwrap();
    }
    let report = ward.shutdown(Duration::from_secs(1)).await.unwrap();
    assert_eq!((report.runners, report.aborted), (4, 2));
    assert_eq!(store.flushes.load(Ordering::SeqCst), 1);
    assert_eq!(store.live_at_flush.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn thousands_of_stubborn_works_are_aborted_together_at_the_deadline() {
    let ward = common::ward().await;
    let scope = Scope::session("stubborn");
    let mut tasks = Vec::new();
    for _ in 0..5_000 {
        tasks.push(
            ward.submit(
                TaskSpec::new("stubborn")
                    .scope(scope.clone())
                    .cancel_grace(Duration::from_secs(3600)),
                |ctx: TaskContext| common::stubborn(ctx, Duration::from_secs(3600)),
            )
            .await
            .unwrap(),
        );
    }
    let deadline = Duration::from_millis(200);

    // The clock moves on while the runtime works, as a real one does, in steps that never
    // land on a millisecond, so that a timer set to "now" waits for the timer wheel's next
    // tick as it does on a real clock: waiting for each runner in turn after the deadline,
    // with a timeout each, cost a tick per runner (2.4 s here; 5 to 11 s on a real clock).
    let clock = tokio::spawn(async {
        loop {
            tokio::time::advance(Duration::from_micros(97)).await;
        }
    });
    let started = tokio::time::Instant::now();
    let report = ward.shutdown(deadline).await.unwrap();
    let took = started.elapsed();
    clock.abort();

    // Virtual time: one deadline for all, plus a bound that does not grow with the tasks.
    assert!(
        took <= deadline + Duration::from_millis(50),
        "shutdown took {took:?} of virtual time"
    );
    assert_eq!((report.runners, report.aborted), (5_000, 5_000));
    for task in &tasks {
        assert_cancelled_by_shutdown(task);
    }
    assert_eq!(ward.runner_supervisor_cell(), None);
}

#[tokio::test(start_paused = true)]
async fn the_report_counts_the_runners_shutdown_cancelled_and_those_still_finishing() {
    let ward = common::ward().await;
    let scope = Scope::session("s");
    let cleaned = Arc::new(AtomicUsize::new(0));
    // Live and cooperative: cancelled by shutdown, stops in time.
    let coop = {
        let cleaned = cleaned.clone();
        ward.submit(TaskSpec::new("coop").scope(scope.clone()), move |ctx| {
            cooperative(ctx, Duration::from_millis(100), cleaned.clone())
        })
        .await
        .unwrap()
    };
    // Live and stubborn: cancelled by shutdown, aborted at the deadline.
    let stubborn = ward
        .submit(
            TaskSpec::new("stubborn")
                .scope(scope.clone())
                .cancel_grace(Duration::from_secs(3600)),
            |ctx: TaskContext| common::stubborn(ctx, Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    // Cancelled by its client before shutdown, its stubborn work still within its grace
    // period: not cancelled by shutdown, but still finishing, and aborted at the deadline.
    let lingering = ward
        .submit(
            TaskSpec::new("lingering")
                .scope(scope.clone())
                .cancel_grace(Duration::from_secs(3600)),
            |ctx: TaskContext| common::stubborn(ctx, Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    lingering.cancel(None).await.unwrap();
    // Without a running work: ended, waiting to retry, external.
    let done = common::completed(&ward, &scope, "done", json!(1)).await;
    let retrying = retrying(&ward, &scope).await;
    let external = ward
        .submit_external(TaskSpec::new("external").scope(scope.clone()), |_| {})
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(retrying.get().unwrap().phase, Some(Phase::RetryWait));

    let report = ward.shutdown(Duration::from_secs(1)).await.unwrap();

    assert_eq!(report.runners, 2, "coop and stubborn: {report:?}");
    assert_eq!(report.finishing, 1, "lingering: {report:?}");
    assert_eq!(report.aborted, 2, "stubborn and lingering: {report:?}");
    assert_eq!(cleaned.load(Ordering::SeqCst), 1);
    for task in [&coop, &stubborn, &retrying, &external] {
        assert_cancelled_by_shutdown(task);
    }
    let by = lingering.get().unwrap().outcome.clone().unwrap();
    assert_eq!(by.cancellation().unwrap().by, CancelledBy::Client);
    assert_eq!(done.get().unwrap().status, Status::Completed);
}
