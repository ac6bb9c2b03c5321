//! Semantic 3, cancel: the registry moves the task to cancelled before the call returns, then
//! the cooperative token fires at once and, after the grace period, the work is aborted; a
//! result arriving after that is dropped and counted; cancelling a terminal task is an error
//! naming its status; the abort policy aborts at once; cancelling a parent cancels its children.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{HOUR, events_of, ward_without_ttl};
use serde_json::{Value, json};
use taskward::{
    CancelPolicy, CancelledBy, Error, EventFilter, EventKind, Outcome, Scope, Status, TaskContext,
    TaskError, TaskSpec,
};
use tokio::time::Instant;

/// Records when the work's future was dropped (aborted or finished).
struct DropClock(Arc<Mutex<Option<Instant>>>);

impl Drop for DropClock {
    fn drop(&mut self) {
        *self.0.lock().unwrap() = Some(Instant::now());
    }
}

/// Work that ignores its token: sleeps an hour, then sets `finished`. `dropped` records when
/// its future was dropped.
fn stubborn_work(
    finished: Arc<AtomicBool>,
    dropped: Arc<Mutex<Option<Instant>>>,
) -> impl Fn(TaskContext) -> std::pin::Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send>>
+ Send
+ Sync
+ 'static {
    move |_ctx: TaskContext| {
        let finished = finished.clone();
        let guard = DropClock(dropped.clone());
        Box::pin(async move {
            let _guard = guard;
            tokio::time::sleep(HOUR).await;
            finished.store(true, Ordering::SeqCst);
            Ok(json!("finished anyway"))
        })
    }
}

#[tokio::test(start_paused = true)]
async fn the_task_is_cancelled_before_cancel_returns() {
    let ward = common::ward().await;
    let scope = Scope::session("s-cancel");
    let mut sub = ward.subscribe(EventFilter::all().scope(scope.clone()));
    // Work that ignores the token for the whole (long) grace period: the record must not wait
    // for the runner.
    let task = ward
        .submit(
            TaskSpec::new("stubborn")
                .scope(scope.clone())
                .cancel_grace(Duration::from_secs(60)),
            |ctx: TaskContext| common::stubborn(ctx, HOUR),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let returned = ward
        .cancel(&scope, task.id(), Some("user pressed stop".into()))
        .await
        .unwrap();
    assert_eq!(returned.status, Status::Cancelled);
    assert_eq!(returned.phase, None);
    let record = ward.get(&scope, task.id()).unwrap();
    assert_eq!(record.status, Status::Cancelled);
    let cancellation = record.outcome.as_ref().unwrap().cancellation().unwrap();
    assert_eq!(cancellation.by, CancelledBy::Client);
    assert_eq!(cancellation.reason.as_deref(), Some("user pressed stop"));

    // Waiters see it at once, with no time passing.
    let before = Instant::now();
    let outcome = task.wait().await.unwrap();
    assert_eq!(before.elapsed(), Duration::ZERO);
    assert_eq!(outcome.status(), Status::Cancelled);

    let status = ward.status().await.unwrap();
    assert_eq!(status.count(Status::Cancelled), 1);
    assert_eq!(status.live, 0);

    let kinds = events_of(&mut sub, task.id()).await;
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, EventKind::Cancelled(c) if c.by == CancelledBy::Client)),
        "{kinds:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_cooperative_token_fires_at_once() {
    let ward = common::ward().await;
    let (tx, rx) = tokio::sync::oneshot::channel::<Instant>();
    let tx = Arc::new(Mutex::new(Some(tx)));
    let task = ward
        .submit(
            TaskSpec::new("cooperative").cancel_grace(Duration::from_secs(60)),
            move |ctx: TaskContext| {
                let tx = tx.clone();
                async move {
                    ctx.cancelled().await;
                    if let Some(tx) = tx.lock().unwrap().take() {
                        let _ = tx.send(Instant::now());
                    }
                    Err(TaskError::cancelled())
                }
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!task.runner_status().await.unwrap().cancel_requested);

    let cancelled_at = Instant::now();
    task.cancel(None).await.unwrap();
    // Had the token not fired, the clock would have run on to the abort, 60 s later, and the
    // sender would have been dropped.
    let observed_at = rx.await.expect("the work observed its cancellation");
    assert_eq!(observed_at - cancelled_at, Duration::ZERO);

    // The work acknowledged: its runner ends well before the grace period, and its
    // acknowledgement is not a late result.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let status = ward.status().await.unwrap();
    assert_eq!(status.live_runners, 0);
    assert_eq!(status.late_results, 0);
    assert_eq!(task.get().unwrap().status, Status::Cancelled);
}

#[tokio::test(start_paused = true)]
async fn non_cooperative_work_is_aborted_after_the_grace_period() {
    let ward = ward_without_ttl().await;
    let finished = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(Mutex::new(None));
    let task = ward
        .submit(
            TaskSpec::new("stubborn").cancel_grace(Duration::from_secs(2)),
            stubborn_work(finished.clone(), dropped.clone()),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let cancelled_at = Instant::now();
    task.cancel(None).await.unwrap();
    assert_eq!(task.get().unwrap().status, Status::Cancelled);

    // Within the grace period the work still runs.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        dropped.lock().unwrap().is_none(),
        "aborted before the grace period ended"
    );
    assert_eq!(ward.status().await.unwrap().live_runners, 1);

    // After it, the work is aborted, at the end of the grace period.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let dropped_at = dropped.lock().unwrap().expect("the work was aborted");
    let after = dropped_at - cancelled_at;
    assert!(
        after >= Duration::from_secs(2) && after < Duration::from_millis(2100),
        "{after:?}"
    );
    let status = ward.status().await.unwrap();
    assert_eq!(status.live_runners, 0);
    assert_eq!(status.late_results, 0);

    // And it never reaches its end.
    tokio::time::sleep(2 * HOUR).await;
    assert!(!finished.load(Ordering::SeqCst));
    let record = task.get().unwrap();
    assert_eq!(record.status, Status::Cancelled);
    assert_eq!(
        record.outcome.as_ref().unwrap().cancellation().unwrap().by,
        CancelledBy::Client
    );
}

#[tokio::test(start_paused = true)]
async fn a_result_after_cancel_is_dropped_and_counted() {
    let ward = common::ward().await;
    let mut sub = ward.subscribe(EventFilter::all());
    // Ignores the token, returns a value one second in: inside the grace period.
    let task = ward
        .submit(
            TaskSpec::new("late").cancel_grace(Duration::from_secs(10)),
            |_ctx: TaskContext| async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Ok(json!("too late"))
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    task.cancel(Some("changed my mind".into())).await.unwrap();

    tokio::time::sleep(Duration::from_secs(2)).await;
    let status = ward.status().await.unwrap();
    assert_eq!(status.late_results, 1);
    assert_eq!(status.live_runners, 0);

    // The record keeps the first terminal status.
    let record = task.get().unwrap();
    assert_eq!(record.status, Status::Cancelled);
    assert!(record.outcome.as_ref().unwrap().value().is_none());
    assert_eq!(task.wait().await.unwrap().status(), Status::Cancelled);

    // Subscribers are told: cancelled, then the late result, never a completion.
    let kinds = events_of(&mut sub, task.id()).await;
    let cancelled = kinds
        .iter()
        .position(|k| matches!(k, EventKind::Cancelled(_)))
        .expect("a cancelled event");
    let late = kinds
        .iter()
        .position(|k| {
            matches!(
                k,
                EventKind::LateResult {
                    dropped: Status::Completed
                }
            )
        })
        .expect("a late result event");
    assert!(cancelled < late, "{kinds:?}");
    assert!(
        !kinds.iter().any(|k| matches!(k, EventKind::Completed)),
        "{kinds:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn cancelling_a_terminal_task_is_an_error_naming_its_status() {
    let ward = common::ward().await;
    let scope = Scope::session("s-terminal");

    let done = common::submit_instant(&ward, &scope, "done", json!(7)).await;
    done.wait().await.unwrap();
    let err = done.cancel(None).await.unwrap_err();
    assert!(
        matches!(err, Error::AlreadyTerminal { id, status: Status::Completed } if id == done.id()),
        "{err:?}"
    );
    assert!(err.to_string().contains("completed"), "{err}");
    // Unchanged.
    assert_eq!(
        done.get().unwrap().outcome,
        Some(Outcome::completed(json!(7)))
    );

    let failed = ward
        .submit(
            TaskSpec::new("failed").scope(scope.clone()),
            |_ctx: TaskContext| async { Err::<Value, _>(TaskError::new("nope")) },
        )
        .await
        .unwrap();
    failed.wait().await.unwrap();
    let err = failed.cancel(None).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::AlreadyTerminal {
                status: Status::Failed,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("failed"), "{err}");

    let cancelled = common::submit_long(&ward, &scope, "cancelled").await;
    cancelled.cancel(Some("first".into())).await.unwrap();
    let err = cancelled.cancel(Some("second".into())).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::AlreadyTerminal {
                status: Status::Cancelled,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("cancelled"), "{err}");
    // The first cancel's reason stands.
    let record = cancelled.get().unwrap();
    assert_eq!(
        record
            .outcome
            .as_ref()
            .unwrap()
            .cancellation()
            .unwrap()
            .reason
            .as_deref(),
        Some("first")
    );
}

#[tokio::test(start_paused = true)]
async fn the_abort_policy_aborts_at_once() {
    let ward = ward_without_ttl().await;
    let finished = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(Mutex::new(None));
    let task = ward
        .submit(
            TaskSpec::new("abort").cancel_policy(CancelPolicy::Abort),
            stubborn_work(finished.clone(), dropped.clone()),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let cancelled_at = Instant::now();
    task.cancel(None).await.unwrap();
    assert_eq!(task.get().unwrap().status, Status::Cancelled);
    // No grace: the work is gone before any time passes (the default grace is 5 s).
    tokio::time::sleep(Duration::from_millis(10)).await;
    let dropped_at = dropped
        .lock()
        .unwrap()
        .expect("the work was aborted at once");
    assert_eq!(dropped_at - cancelled_at, Duration::ZERO);
    assert_eq!(ward.status().await.unwrap().live_runners, 0);

    tokio::time::sleep(2 * HOUR).await;
    assert!(!finished.load(Ordering::SeqCst));
    assert_eq!(task.get().unwrap().status, Status::Cancelled);
}

#[tokio::test(start_paused = true)]
async fn cancelling_a_parent_cancels_its_children() {
    let ward = common::ward().await;
    let scope = Scope::session("s-family");
    let observed = Arc::new(Mutex::new(Vec::<&'static str>::new()));
    let watcher = |name: &'static str| {
        let observed = observed.clone();
        move |ctx: TaskContext| {
            let observed = observed.clone();
            async move {
                ctx.cancelled().await;
                observed.lock().unwrap().push(name);
                Err::<Value, _>(TaskError::cancelled())
            }
        }
    };
    let spec = |name: &str| TaskSpec::new(name.to_owned()).scope(scope.clone());

    let parent = ward
        .submit(spec("parent"), watcher("parent"))
        .await
        .unwrap();
    let child = ward
        .submit(spec("child").parent(parent.id()), watcher("child"))
        .await
        .unwrap();
    let grandchild = ward
        .submit(spec("grandchild").parent(child.id()), watcher("grandchild"))
        .await
        .unwrap();
    let unrelated = ward
        .submit(spec("unrelated"), watcher("unrelated"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(child.get().unwrap().parent, Some(parent.id()));

    parent.cancel(Some("stop all".into())).await.unwrap();

    // Before cancel returned, the whole family was cancelled, the children by their parent.
    let by = |t: &taskward::TaskHandle| {
        let r = t.get().unwrap();
        assert_eq!(r.status, Status::Cancelled, "{}", r.name);
        r.outcome.as_ref().unwrap().cancellation().unwrap().by
    };
    assert_eq!(by(&parent), CancelledBy::Client);
    assert_eq!(by(&child), CancelledBy::Parent);
    assert_eq!(by(&grandchild), CancelledBy::Parent);
    assert_eq!(unrelated.get().unwrap().status, Status::Working);

    // Every one's work saw its token fire; the unrelated task's did not.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let mut seen = observed.lock().unwrap().clone();
    seen.sort_unstable();
    assert_eq!(seen, vec!["child", "grandchild", "parent"]);
    let status = ward.status().await.unwrap();
    assert_eq!(status.live, 1);
    assert_eq!(status.live_runners, 1);

    // Cancelling a child leaves its parent running.
    let parent2 = ward
        .submit(spec("parent2"), watcher("parent2"))
        .await
        .unwrap();
    let child2 = ward
        .submit(spec("child2").parent(parent2.id()), watcher("child2"))
        .await
        .unwrap();
    child2.cancel(None).await.unwrap();
    assert_eq!(child2.get().unwrap().status, Status::Cancelled);
    assert_eq!(parent2.get().unwrap().status, Status::Working);

    // A terminal parent cannot take new children.
    let err = ward
        .submit(spec("orphan").parent(parent.id()), watcher("orphan"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidParent(p) if p == parent.id()),
        "{err:?}"
    );
}
