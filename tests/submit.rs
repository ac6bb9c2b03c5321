//! Semantic 1, submit: submit returns once the task is recorded (status working) and its runner
//! has acknowledged start; a runner that fails to start is an error returned to the caller and
//! the task is failed (start failed), never left working. Ids are random; reads are scoped
//! (unknown and foreign ids get the same not-found); list pages with cursors within a scope.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::long;
use serde_json::json;
use taskward::{
    Cursor, Error, FailureCause, ListQuery, Outcome, Phase, Scope, Status, TaskContext, TaskId,
    TaskSpec,
};

#[tokio::test(start_paused = true)]
async fn submit_returns_a_working_task_whose_runner_has_started() {
    let ward = common::ward().await;
    let scope = Scope::session("s-submit");
    let factory_calls = Arc::new(AtomicUsize::new(0));
    let calls = factory_calls.clone();
    let task = ward
        .submit(
            TaskSpec::new("long").scope(scope.clone()),
            move |ctx: TaskContext| {
                calls.fetch_add(1, Ordering::SeqCst);
                long(ctx)
            },
        )
        .await
        .unwrap();

    // The runner ran the work's factory (its init_ack) before submit returned.
    assert_eq!(factory_calls.load(Ordering::SeqCst), 1);
    assert!(!task.is_deduplicated());
    assert_eq!(task.scope(), &scope);
    assert_eq!(task.record().status, Status::Working);

    // Recorded: readable at once, working, in a live phase.
    let record = ward.get(&scope, task.id()).unwrap();
    assert_eq!(record.id, task.id());
    assert_eq!(record.status, Status::Working);
    assert!(
        matches!(
            record.phase,
            Some(Phase::Queued | Phase::Starting | Phase::Running)
        ),
        "{:?}",
        record.phase
    );
    assert_eq!(record.attempt, 1);
    assert!(record.outcome.is_none());

    // The runner answers for itself.
    let runner = task.runner_status().await.unwrap();
    assert_eq!(runner.task_id, task.id());
    assert_eq!(runner.name, "long");
    assert_eq!(runner.attempt, 1);
    assert_eq!(runner.phase, Phase::Running);
    assert!(!runner.cancel_requested);

    let status = ward.status().await.unwrap();
    assert_eq!(status.live, 1);
    assert_eq!(status.live_runners, 1);
    assert_eq!(status.count(Status::Working), 1);

    // Once the registry has read the runner's start report, the phase is running.
    assert_eq!(task.get().unwrap().phase, Some(Phase::Running));
}

#[tokio::test(start_paused = true)]
async fn a_runner_that_fails_to_start_is_an_error_and_a_failed_task() {
    let ward = common::ward().await;
    let scope = Scope::session("s-broken");
    let err = ward
        .submit(
            TaskSpec::new("broken").scope(scope.clone()),
            |_ctx: TaskContext| -> common::futures_ready::Ready {
                panic!("the factory exploded");
            },
        )
        .await
        .expect_err("a runner whose start panics is an error");
    let Error::RunnerStart { id, source } = err else {
        panic!("expected Error::RunnerStart, got {err:?}");
    };
    assert!(
        source.to_string().contains("the factory exploded"),
        "{source}"
    );

    // The task exists, and it is failed with cause start failed, not left working.
    let record = ward.get(&scope, id).unwrap();
    assert_eq!(record.status, Status::Failed);
    assert_eq!(record.phase, None);
    let failure = record.outcome.as_ref().and_then(Outcome::failure).unwrap();
    assert_eq!(failure.cause, FailureCause::StartFailed);
    assert!(
        failure.message.contains("the factory exploded"),
        "{failure}"
    );
    assert_eq!(
        ward.wait(&scope, id)
            .await
            .unwrap()
            .failure()
            .unwrap()
            .cause,
        FailureCause::StartFailed
    );

    let status = ward.status().await.unwrap();
    assert_eq!(status.live, 0);
    assert_eq!(status.count(Status::Working), 0);
    assert_eq!(status.count(Status::Failed), 1);
    assert_eq!(status.live_runners, 0);
    // Never retried, even under a transient policy (checked below), and nothing runs.
    assert_eq!(status.retries, 0);

    // The runtime is unharmed: the next submit runs.
    let ok = common::submit_instant(&ward, &scope, "fine", json!(1)).await;
    assert_eq!(ok.wait().await.unwrap(), Outcome::completed(json!(1)));
}

#[tokio::test(start_paused = true)]
async fn a_start_failure_is_not_retried_under_a_transient_policy() {
    let ward = common::ward().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let err = ward
        .submit(
            TaskSpec::new("broken").restart(taskward::Restart::transient(
                3,
                taskward::Backoff::fixed(Duration::from_millis(10)),
            )),
            move |_ctx: TaskContext| -> common::futures_ready::Ready {
                counter.fetch_add(1, Ordering::SeqCst);
                panic!("no start");
            },
        )
        .await
        .unwrap_err();
    let Error::RunnerStart { id, .. } = err else {
        panic!("expected Error::RunnerStart, got {err:?}");
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let record = ward.get(&Scope::global(), id).unwrap();
    assert_eq!(record.status, Status::Failed);
    assert_eq!(
        record.outcome.as_ref().unwrap().failure().unwrap().cause,
        FailureCause::StartFailed
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(ward.status().await.unwrap().retries, 0);
}

#[tokio::test(start_paused = true)]
async fn ids_are_random_v4_uuids_not_sequential() {
    let ward = common::ward().await;
    let mut ids = Vec::new();
    for _ in 0..32 {
        let task = ward
            .submit(TaskSpec::new("t"), common::instant(json!(null)))
            .await
            .unwrap();
        ids.push(task.id());
    }
    let unique: HashSet<TaskId> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len());
    for id in &ids {
        assert_eq!(id.as_uuid().get_version_num(), 4, "{id}");
        assert_eq!(id.to_string().parse::<TaskId>().unwrap(), *id);
    }
    // Consecutive ids are far apart (a counter would differ by a small constant).
    for pair in ids.windows(2) {
        let gap = pair[1]
            .as_uuid()
            .as_u128()
            .abs_diff(pair[0].as_uuid().as_u128());
        assert!(gap > 1 << 64, "{} then {}", pair[0], pair[1]);
    }
    // Creation sequence numbers are internal (for cursors), not the id.
    let records: Vec<_> = ids
        .iter()
        .map(|id| ward.get(&Scope::global(), *id).unwrap())
        .collect();
    assert!(records.windows(2).all(|r| r[0].seq < r[1].seq));
}

#[tokio::test(start_paused = true)]
async fn unknown_and_foreign_ids_get_the_same_not_found() {
    let ward = common::ward().await;
    let mine = Scope::session("s-mine");
    let theirs = Scope::session("s-theirs");
    let task = ward
        .submit(TaskSpec::new("private").scope(mine.clone()), long)
        .await
        .unwrap();
    let id = task.id();
    let unknown = TaskId::new();

    // Unknown id.
    assert!(matches!(ward.get(&mine, unknown), Err(Error::NotFound(x)) if x == unknown));
    assert!(matches!(ward.wait(&mine, unknown).await, Err(Error::NotFound(x)) if x == unknown));
    assert!(
        matches!(ward.cancel(&mine, unknown, None).await, Err(Error::NotFound(x)) if x == unknown)
    );
    assert!(
        matches!(ward.runner_status(&mine, unknown).await, Err(Error::NotFound(x)) if x == unknown)
    );

    // Foreign id: the same error, naming the id, with the same text.
    let foreign = ward.get(&theirs, id).unwrap_err();
    assert!(matches!(foreign, Error::NotFound(x) if x == id));
    assert_eq!(foreign.to_string(), format!("task {id} not found"));
    assert_eq!(
        ward.get(&mine, unknown).unwrap_err().to_string(),
        format!("task {unknown} not found")
    );
    assert!(matches!(ward.wait(&theirs, id).await, Err(Error::NotFound(x)) if x == id));
    assert!(
        matches!(ward.cancel(&theirs, id, Some("probe".into())).await, Err(Error::NotFound(x)) if x == id)
    );
    assert!(matches!(ward.runner_status(&theirs, id).await, Err(Error::NotFound(x)) if x == id));
    // The global scope is a scope like any other.
    assert!(matches!(ward.get(&Scope::global(), id), Err(Error::NotFound(x)) if x == id));
    // A scope with the same session but a principal is another scope.
    let widened = Scope::session("s-mine").with_principal("mallory");
    assert!(matches!(ward.get(&widened, id), Err(Error::NotFound(x)) if x == id));

    // The foreign cancel did nothing: not even the token, which a cancel fires before the
    // registry checks the scope on its desk.
    let record = ward.get(&mine, id).unwrap();
    assert_eq!(record.status, Status::Working);
    assert!(!task.runner_status().await.unwrap().cancel_requested);
    assert!(
        ward.list(&theirs, &ListQuery::new())
            .unwrap()
            .tasks
            .is_empty()
    );
}

#[tokio::test(start_paused = true)]
async fn list_pages_with_cursors_within_one_scope() {
    let ward = common::ward().await;
    let a = Scope::session("s-a");
    let b = Scope::session("s-b");
    let mut a_ids = Vec::new();
    let mut b_ids = Vec::new();
    // Interleave the scopes so that their creation orders mix.
    for i in 0..5 {
        let t = ward
            .submit(TaskSpec::new(format!("a{i}")).scope(a.clone()), long)
            .await
            .unwrap();
        a_ids.push(t.id());
        if i < 3 {
            let t = ward
                .submit(TaskSpec::new(format!("b{i}")).scope(b.clone()), long)
                .await
                .unwrap();
            b_ids.push(t.id());
        }
    }
    ward.submit(TaskSpec::new("global"), long).await.unwrap();

    // Pages of two from scope a: 2, 2, 1; the last has no cursor.
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut query = ListQuery::new().limit(2);
    loop {
        let page = ward.list(&a, &query).unwrap();
        sizes.push(page.tasks.len());
        for r in &page.tasks {
            assert_eq!(r.scope, a, "a page of scope a holds {}", r.scope);
            seen.push(r.id);
        }
        match page.next_cursor {
            Some(cursor) => {
                // Cursors are opaque strings that round-trip.
                let parsed: Cursor = cursor.to_string().parse().unwrap();
                assert_eq!(parsed, cursor);
                query = ListQuery::new().limit(2).after(parsed);
            }
            None => break,
        }
    }
    assert_eq!(sizes, vec![2, 2, 1]);
    assert_eq!(seen, a_ids, "oldest first, each task once");

    // Scope b sees its own three only.
    let page = ward.list(&b, &ListQuery::new()).unwrap();
    let ids: Vec<_> = page.tasks.iter().map(|r| r.id).collect();
    assert_eq!(ids, b_ids);
    assert!(page.next_cursor.is_none());

    // A cursor taken in scope a and used in scope b still shows only b's tasks.
    let first_a = ward.list(&a, &ListQuery::new().limit(1)).unwrap();
    let cursor = first_a.next_cursor.unwrap();
    let mixed = ward.list(&b, &ListQuery::new().after(cursor)).unwrap();
    assert!(mixed.tasks.iter().all(|r| r.scope == b));

    // Filters apply within the scope.
    ward.cancel(&a, a_ids[1], None).await.unwrap();
    let working = ward
        .list(&a, &ListQuery::new().status(Status::Working))
        .unwrap();
    assert_eq!(working.tasks.len(), 4);
    assert!(working.tasks.iter().all(|r| r.id != a_ids[1]));
    let live = ward.list(&a, &ListQuery::new().live_only()).unwrap();
    assert_eq!(live.tasks.len(), 4);
    let cancelled = ward
        .list(&a, &ListQuery::new().status(Status::Cancelled))
        .unwrap();
    assert_eq!(
        cancelled.tasks.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![a_ids[1]]
    );
    // Filtered paging: two live tasks a page.
    let page1 = ward
        .list(&a, &ListQuery::new().live_only().limit(2))
        .unwrap();
    assert_eq!(page1.tasks.len(), 2);
    let page2 = ward
        .list(
            &a,
            &ListQuery::new()
                .live_only()
                .limit(2)
                .after(page1.next_cursor.unwrap()),
        )
        .unwrap();
    assert_eq!(page2.tasks.len(), 2);
    assert!(page2.next_cursor.is_none());
    let all: Vec<_> = page1
        .tasks
        .iter()
        .chain(&page2.tasks)
        .map(|r| r.id)
        .collect();
    let expected: Vec<_> = a_ids.iter().copied().filter(|id| *id != a_ids[1]).collect();
    assert_eq!(all, expected);

    // Strings that are not cursors are rejected.
    assert!("nope".parse::<Cursor>().is_err());
    // A scope with no tasks lists nothing.
    assert!(
        ward.list(&Scope::session("s-empty"), &ListQuery::new())
            .unwrap()
            .tasks
            .is_empty()
    );
}

#[tokio::test(start_paused = true)]
async fn submit_once_runs_a_non_sync_non_clone_work_once() {
    let ward = common::ward().await;
    let scope = Scope::session("s-once");
    // A Sender is Send but neither Sync nor (for this test) cloned; a Cell is not Sync; the
    // String is moved out of the closure, which makes it FnOnce.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let cell = std::cell::Cell::new(41);
    let owned = String::from("consumed");
    let task = ward
        .submit_once(
            TaskSpec::new("once").scope(scope.clone()),
            move |_ctx: TaskContext| async move {
                cell.set(cell.get() + 1);
                tx.send(owned).expect("receiver alive");
                Ok(json!(cell.get()))
            },
        )
        .await
        .unwrap();
    assert_eq!(task.wait().await.unwrap(), Outcome::completed(json!(42)));
    assert_eq!(rx.recv().unwrap(), "consumed");
    // The work (and its Sender) was dropped after its one run.
    assert!(rx.recv().is_err());

    // A transient policy of a single attempt is still one attempt.
    let single = ward
        .submit_once(
            TaskSpec::new("single")
                .scope(scope.clone())
                .restart(taskward::Restart::transient(
                    1,
                    taskward::Backoff::fixed(Duration::from_millis(10)),
                )),
            |_ctx: TaskContext| async { Err(taskward::TaskError::new("no")) },
        )
        .await
        .unwrap();
    assert_eq!(single.wait().await.unwrap().status(), Status::Failed);
}

#[tokio::test(start_paused = true)]
async fn submit_once_refuses_a_restart_policy_with_a_second_attempt_and_creates_nothing() {
    let ward = common::ward().await;
    let scope = Scope::session("s-once-retry");
    let (tx, _rx) = std::sync::mpsc::channel::<()>();
    let err = ward
        .submit_once(
            TaskSpec::new("retried")
                .scope(scope.clone())
                .restart(taskward::Restart::transient(
                    3,
                    taskward::Backoff::fixed(Duration::from_millis(10)),
                )),
            move |_ctx: TaskContext| async move {
                tx.send(()).ok();
                Ok(json!(null))
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::OneShotRetry { max_attempts: 3 }),
        "{err:?}"
    );
    assert!(err.to_string().contains("3 attempts"), "{err}");
    let status = ward.status().await.unwrap();
    assert_eq!(status.tasks, 0);
    assert!(
        ward.list(&scope, &ListQuery::new())
            .unwrap()
            .tasks
            .is_empty()
    );
}

#[tokio::test(start_paused = true)]
async fn submit_once_work_is_lost_with_its_runner_and_not_run_again() {
    let ward = common::ward().await;
    let scope = Scope::session("s-once-lost");
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let task = ward
        .submit_once(
            TaskSpec::new("lost").scope(scope.clone()),
            move |ctx: TaskContext| async move {
                counter.fetch_add(1, Ordering::SeqCst);
                ctx.cancelled().await;
                Ok(json!(null))
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    ward.runner_cell(&scope, task.id()).unwrap().kill();
    let outcome = task.wait().await.unwrap();
    assert_eq!(
        outcome.failure().map(|f| f.cause),
        Some(FailureCause::RunnerLost)
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_submit_dropped_after_its_first_poll_still_runs_its_task() {
    // Submit is cancel safe: once its command is queued, the task is created and handed to
    // its runner whether or not the caller still waits for the acknowledgement.
    let ward = common::ward().await;
    let scope = Scope::session("s-dropped");
    let (ran_tx, ran_rx) = tokio::sync::oneshot::channel();
    let submit = ward.submit_once(
        TaskSpec::new("orphaned").scope(scope.clone()),
        move |_ctx: TaskContext| async move {
            let _ = ran_tx.send(());
            Ok(json!("ran"))
        },
    );
    assert!(
        futures_util::FutureExt::now_or_never(submit).is_none(),
        "the first poll queues the command; the start's acknowledgement comes later"
    );

    tokio::time::timeout(Duration::from_secs(60), ran_rx)
        .await
        .expect("the work ran")
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let page = ward.list(&scope, &ListQuery::new()).unwrap();
    assert_eq!(page.tasks.len(), 1);
    assert_eq!(page.tasks[0].status, Status::Completed);
    let status = ward.status().await.unwrap();
    assert_eq!((status.controls, status.live_runners), (0, 0));
}

/// Callers work the registry's desk and the runners' posts themselves (flat combining), and
/// an entry that finds them busy is left to whoever holds them. Submits, cancels and works
/// ending on four worker threads at once, with no sweep to pick up what is left queued, must
/// all land with the right outcome and leave no live task or runner (the timeout only turns a
/// hang into a failure). It exercises the contended paths; the narrow window the release rule
/// closes (an entry queued just as the holder leaves) is also covered by the soak's volume.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn submits_cancels_and_ends_from_many_threads_all_land() {
    let ward = taskward::Taskward::builder()
        .unlimited_live_tasks()
        .runner_partitions(2)
        // No sweep to drain what a caller left behind: only the rule under test can.
        .sweep_interval(Duration::from_secs(3_600))
        .spawn()
        .await
        .unwrap();
    let clients = (0..16).map(|c| {
        let ward = ward.clone();
        tokio::spawn(async move {
            let scope = Scope::session(format!("s-many-{c}"));
            let mut handles = Vec::new();
            for i in 0..300 {
                let spec = TaskSpec::new("many").scope(scope.clone());
                let handle = if i % 3 == 0 {
                    let handle = ward.submit(spec, long).await.unwrap();
                    handle.cancel(None).await.unwrap();
                    handle
                } else {
                    ward.submit(spec, |_ctx: TaskContext| async { Ok(json!(1)) })
                        .await
                        .unwrap()
                };
                handles.push((i, handle));
            }
            for (i, handle) in handles {
                let status = handle.wait().await.unwrap().status();
                let expected = if i % 3 == 0 {
                    Status::Cancelled
                } else {
                    Status::Completed
                };
                assert_eq!(status, expected, "task {i} of client {c}");
            }
        })
    });
    let all = futures_util::future::join_all(clients);
    for client in tokio::time::timeout(Duration::from_secs(60), all)
        .await
        .expect("every submit, cancel and end landed")
    {
        client.unwrap();
    }
    let status = ward.status().await.unwrap();
    assert_eq!((status.live, status.live_runners), (0, 0));
    ward.shutdown(Duration::from_secs(5)).await.unwrap();
}
