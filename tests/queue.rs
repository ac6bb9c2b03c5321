//! Admission under running caps (`Builder::max_running`, `Builder::max_running_named`): a
//! submit over a cap is refused, or queued when its spec asks; queued tasks start by priority,
//! then in submission order, without head-of-line blocking across names; a queued task is a
//! live task for cancel, expiry, scopes, parents, shutdown, status and restarts.

mod common;

use std::time::Duration;

use common::disk::Disk;
use common::started::{Log, noted, noted_long, started};
use common::{HOUR, secs, settle, wait_for};
use serde_json::{Value, json};
use taskward::{
    Backoff, CancelledBy, ClosePolicy, Error, FailureCause, Limit, Outcome, Phase, Restart, Scope,
    Status, TaskContext, TaskError, TaskHandle, TaskSpec, Taskward,
};

async fn capped(max: usize) -> Taskward {
    Taskward::builder()
        .max_running(max)
        .no_default_ttl()
        .spawn()
        .await
        .unwrap()
}

/// A task that holds a running slot until cancelled.
async fn blocker(ward: &Taskward, log: &Log) -> TaskHandle {
    ward.submit(TaskSpec::new("blocker"), noted_long(log, "blocker"))
        .await
        .unwrap()
}

fn queued(name: &str) -> TaskSpec {
    TaskSpec::new(name).queue_when_busy()
}

fn phase(task: &TaskHandle) -> Option<Phase> {
    task.get().unwrap().phase
}

fn assert_limit(result: Result<TaskHandle, Error>, expected: Limit, expected_max: u64) {
    match result {
        Err(Error::LimitExceeded { limit, max }) => {
            assert_eq!((limit, max), (expected, expected_max));
        }
        Err(other) => panic!("expected LimitExceeded({expected:?}), got {other:?}"),
        Ok(task) => panic!(
            "expected LimitExceeded({expected:?}), got task {}",
            task.id()
        ),
    }
}

// ------------------------------------------------------------------ caps and rejection

#[tokio::test(start_paused = true)]
async fn over_max_running_a_submit_fails_and_creates_nothing() {
    let ward = capped(1).await;
    let log = Log::default();
    ward.submit(TaskSpec::new("a"), noted_long(&log, "a"))
        .await
        .unwrap();
    let over = ward.submit(TaskSpec::new("b"), noted(&log, "b")).await;
    assert_limit(over, Limit::RunningTasks, 1);
    settle().await;
    assert_eq!(started(&log), ["a"], "the refused work never ran");
    let status = ward.status().await.unwrap();
    assert_eq!((status.tasks, status.running_slots), (1, 1));
    assert_eq!(status.limits.max_running, Some(1));
    // External tasks run elsewhere: no running cap applies to them.
    ward.submit_external(TaskSpec::new("ext"), |_: &taskward::Cancellation| {})
        .await
        .unwrap();
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_task_that_ends_frees_its_slot() {
    let ward = capped(1).await;
    let log = Log::default();
    let a = ward
        .submit(TaskSpec::new("a"), noted_long(&log, "a"))
        .await
        .unwrap();
    a.cancel(None).await.unwrap();
    let b = ward
        .submit(TaskSpec::new("b"), noted(&log, "b"))
        .await
        .unwrap();
    assert_eq!(wait_for(&b).await, Outcome::completed(json!("b")));
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn max_running_named_caps_only_its_name() {
    let ward = Taskward::builder()
        .max_running_named("slow", 1)
        .spawn()
        .await
        .unwrap();
    let log = Log::default();
    ward.submit(TaskSpec::new("slow"), noted_long(&log, "slow"))
        .await
        .unwrap();
    let over = ward
        .submit(TaskSpec::new("slow"), noted(&log, "slow2"))
        .await;
    assert_limit(over, Limit::RunningTasksNamed, 1);
    let other = ward
        .submit(TaskSpec::new("fast"), noted(&log, "fast"))
        .await
        .unwrap();
    assert_eq!(wait_for(&other).await, Outcome::completed(json!("fast")));
    ward.shutdown(secs(1)).await.unwrap();
}

// ------------------------------------------------------------------ the queue

#[tokio::test(start_paused = true)]
async fn a_queued_submit_returns_at_once_and_starts_when_a_slot_frees() {
    let ward = capped(1).await;
    let log = Log::default();
    let a = ward
        .submit(TaskSpec::new("a"), noted_long(&log, "a"))
        .await
        .unwrap();
    let b = ward.submit(queued("b"), noted(&log, "b")).await.unwrap();
    assert_eq!(b.record().status, Status::Working);
    assert_eq!(b.record().phase, Some(Phase::Queued));
    settle().await;
    assert_eq!(started(&log), ["a"]);
    let status = ward.status().await.unwrap();
    assert_eq!(status.queued, 1);
    assert_eq!(status.phase_count(Phase::Queued), 1);
    assert_eq!(status.live, 2, "a queued task is live");
    // A queued task has no runner to answer for it; its record says where it is.
    assert!(matches!(
        ward.runner_status(&Scope::global(), b.id()).await,
        Err(Error::NoLiveRunner(_))
    ));

    a.cancel(None).await.unwrap();
    assert_eq!(wait_for(&b).await, Outcome::completed(json!("b")));
    assert_eq!(started(&log), ["a", "b"]);
    let status = ward.status().await.unwrap();
    assert_eq!((status.queued, status.running_slots), (0, 0));
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_live_limit_bounds_the_queue() {
    let ward = Taskward::builder()
        .max_running(1)
        .max_live_tasks(2)
        .spawn()
        .await
        .unwrap();
    let log = Log::default();
    blocker(&ward, &log).await;
    ward.submit(queued("b"), noted(&log, "b")).await.unwrap();
    let over = ward.submit(queued("c"), noted(&log, "c")).await;
    assert_limit(over, Limit::LiveTasks, 2);
    assert_eq!(ward.status().await.unwrap().queued, 1);
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn queued_tasks_start_by_priority_then_in_submission_order() {
    let ward = capped(1).await;
    let log = Log::default();
    let blocker = blocker(&ward, &log).await;
    let mut tasks = Vec::new();
    for (name, priority) in [
        ("p0-a", 0),
        ("p5-a", 5),
        ("p0-b", 0),
        ("p5-b", 5),
        ("low", -1),
    ] {
        let spec = queued(name).priority(priority);
        tasks.push(ward.submit(spec, noted(&log, name)).await.unwrap());
    }
    blocker.cancel(None).await.unwrap();
    for task in &tasks {
        assert!(matches!(wait_for(task).await, Outcome::Completed { .. }));
    }
    assert_eq!(
        started(&log),
        ["blocker", "p5-a", "p5-b", "p0-a", "p0-b", "low"]
    );
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_name_at_its_cap_does_not_block_other_names_queued_behind_it() {
    let ward = Taskward::builder()
        .max_running(2)
        .max_running_named("slow", 1)
        .spawn()
        .await
        .unwrap();
    let log = Log::default();
    ward.submit(TaskSpec::new("slow"), noted_long(&log, "slow-1"))
        .await
        .unwrap();
    let other = ward
        .submit(TaskSpec::new("other"), noted_long(&log, "other"))
        .await
        .unwrap();
    // Ahead by priority, but its name is at its cap.
    let slow2 = ward
        .submit(queued("slow").priority(10), noted(&log, "slow-2"))
        .await
        .unwrap();
    let fast = ward
        .submit(queued("fast"), noted(&log, "fast"))
        .await
        .unwrap();
    settle().await;
    assert_eq!(phase(&fast), Some(Phase::Queued), "the global cap is full");

    other.cancel(None).await.unwrap();
    assert_eq!(wait_for(&fast).await, Outcome::completed(json!("fast")));
    assert_eq!(phase(&slow2), Some(Phase::Queued));
    assert_eq!(started(&log), ["slow-1", "other", "fast"]);
    ward.shutdown(secs(1)).await.unwrap();
}

// ------------------------------------------------------------------ a queued task is live

#[tokio::test(start_paused = true)]
async fn a_cancelled_queued_task_leaves_the_queue_and_never_runs() {
    let ward = capped(1).await;
    let log = Log::default();
    let blocker = blocker(&ward, &log).await;
    let first = ward
        .submit(queued("first"), noted(&log, "first"))
        .await
        .unwrap();
    let second = ward
        .submit(queued("second"), noted(&log, "second"))
        .await
        .unwrap();
    let record = first.cancel(None).await.unwrap();
    assert_eq!(record.status, Status::Cancelled, "cancelled at once");
    let status = ward.status().await.unwrap();
    assert_eq!(status.queued, 1);
    assert_eq!(status.phase_count(Phase::Queued), 1);

    blocker.cancel(None).await.unwrap();
    assert_eq!(wait_for(&second).await, Outcome::completed(json!("second")));
    settle().await;
    assert_eq!(
        started(&log),
        ["blocker", "second"],
        "the cancelled one never ran"
    );
    assert_eq!(ward.status().await.unwrap().queued, 0);
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_queued_task_expires_and_the_next_one_starts() {
    let ward = Taskward::builder()
        .max_running(1)
        .sweep_interval(common::SWEEP)
        .spawn()
        .await
        .unwrap();
    let log = Log::default();
    let blocker = ward
        .submit(
            TaskSpec::new("blocker").ttl(HOUR),
            noted_long(&log, "blocker"),
        )
        .await
        .unwrap();
    let short = ward
        .submit(queued("short").ttl(secs(5)), noted(&log, "short"))
        .await
        .unwrap();
    let next = ward
        .submit(queued("next").ttl(HOUR), noted(&log, "next"))
        .await
        .unwrap();
    let outcome = tokio::spawn({
        let short = short.clone();
        async move { short.wait().await }
    });
    tokio::time::sleep(secs(6)).await;
    match outcome.await.unwrap().unwrap() {
        Outcome::Cancelled(c) => assert_eq!(c.by, CancelledBy::Expiry),
        other => panic!("expected cancelled by expiry, got {other:?}"),
    }
    assert!(matches!(short.get(), Err(Error::NotFound(_))));
    assert_eq!(ward.status().await.unwrap().queued, 1);

    blocker.cancel(None).await.unwrap();
    assert_eq!(wait_for(&next).await, Outcome::completed(json!("next")));
    assert_eq!(started(&log), ["blocker", "next"]);
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn closing_a_scope_and_cancelling_a_parent_end_queued_tasks() {
    let ward = capped(1).await;
    let log = Log::default();
    let scope = Scope::session("s");
    let parent = ward
        .submit(
            TaskSpec::new("parent").scope(scope.clone()),
            noted_long(&log, "parent"),
        )
        .await
        .unwrap();
    let child = ward
        .submit(
            queued("child").scope(scope.clone()).parent(parent.id()),
            noted(&log, "child"),
        )
        .await
        .unwrap();
    let other_scope = Scope::session("t");
    let closed = ward
        .submit(
            queued("closed").scope(other_scope.clone()),
            noted(&log, "closed"),
        )
        .await
        .unwrap();

    assert_eq!(
        ward.close_scope(&other_scope, ClosePolicy::Cancel)
            .await
            .unwrap(),
        1
    );
    match wait_for(&closed).await {
        Outcome::Cancelled(c) => assert_eq!(c.by, CancelledBy::Owner),
        other => panic!("expected cancelled by owner, got {other:?}"),
    }
    parent.cancel(None).await.unwrap();
    match wait_for(&child).await {
        Outcome::Cancelled(c) => assert_eq!(c.by, CancelledBy::Parent),
        other => panic!("expected cancelled by parent, got {other:?}"),
    }
    settle().await;
    assert_eq!(started(&log), ["parent"]);
    let status = ward.status().await.unwrap();
    assert_eq!(
        (status.queued, status.running_slots, status.live),
        (0, 0, 0)
    );
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_owner_that_exits_cancels_its_queued_tasks() {
    let ward = capped(1).await;
    let log = Log::default();
    let blocker = blocker(&ward, &log).await;
    let (host, _notices) = common::owner::host().await;
    let owned = ward
        .submit(
            common::owner::owned_by(&host, "owned")
                .queue_when_busy()
                .on_owner_exit(ClosePolicy::Cancel),
            noted(&log, "owned"),
        )
        .await
        .unwrap();
    let next = ward
        .submit(queued("next"), noted(&log, "next"))
        .await
        .unwrap();
    host.stop_and_wait(None, None).await.unwrap();
    match wait_for(&owned).await {
        Outcome::Cancelled(c) => assert_eq!(c.by, CancelledBy::Owner),
        other => panic!("expected cancelled by owner, got {other:?}"),
    }
    blocker.cancel(None).await.unwrap();
    assert_eq!(wait_for(&next).await, Outcome::completed(json!("next")));
    assert_eq!(started(&log), ["blocker", "next"]);
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn shutdown_cancels_queued_tasks_and_they_never_start() {
    let ward = capped(1).await;
    let log = Log::default();
    ward.submit(TaskSpec::new("a"), noted_long(&log, "a"))
        .await
        .unwrap();
    let b = ward.submit(queued("b"), noted(&log, "b")).await.unwrap();
    ward.shutdown(secs(1)).await.unwrap();
    match b.get().unwrap().outcome.clone() {
        Some(Outcome::Cancelled(c)) => assert_eq!(c.by, CancelledBy::Shutdown),
        other => panic!("expected cancelled by shutdown, got {other:?}"),
    }
    settle().await;
    assert_eq!(started(&log), ["a"]);
}

#[tokio::test(start_paused = true)]
async fn the_sweep_leaves_queued_tasks_alone() {
    let ward = Taskward::builder()
        .max_running(1)
        .no_default_ttl()
        .sweep_interval(common::SWEEP)
        .spawn()
        .await
        .unwrap();
    let log = Log::default();
    ward.submit(TaskSpec::new("a"), noted_long(&log, "a"))
        .await
        .unwrap();
    let b = ward.submit(queued("b"), noted(&log, "b")).await.unwrap();
    tokio::time::sleep(secs(60)).await;
    let record = b.get().unwrap();
    assert_eq!(
        (record.status, record.phase),
        (Status::Working, Some(Phase::Queued))
    );
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_timeout_counts_from_the_start_not_from_the_queue() {
    let ward = capped(1).await;
    let blocker = ward
        .submit(TaskSpec::new("blocker"), |_ctx| async {
            tokio::time::sleep(secs(10)).await;
            Ok(json!("done"))
        })
        .await
        .unwrap();
    let timed = ward
        .submit(queued("timed").timeout(secs(5)), |_ctx| async {
            tokio::time::sleep(secs(3)).await;
            Ok(json!("in time"))
        })
        .await
        .unwrap();
    assert_eq!(wait_for(&blocker).await, Outcome::completed(json!("done")));
    assert_eq!(wait_for(&timed).await, Outcome::completed(json!("in time")));
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_start_that_fails_after_the_queue_fails_the_task_start_failed() {
    let ward = capped(1).await;
    let log = Log::default();
    let blocker = blocker(&ward, &log).await;
    let broken = ward
        .submit(
            queued("broken"),
            |_ctx: TaskContext| -> std::future::Ready<Result<Value, TaskError>> {
                panic!("the factory breaks")
            },
        )
        .await
        .unwrap();
    let next = ward
        .submit(queued("next"), noted(&log, "next"))
        .await
        .unwrap();
    blocker.cancel(None).await.unwrap();
    let outcome = wait_for(&broken).await;
    assert_eq!(
        outcome.failure().map(|f| f.cause),
        Some(FailureCause::StartFailed)
    );
    assert_eq!(wait_for(&next).await, Outcome::completed(json!("next")));
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_retry_needs_a_running_slot() {
    let ward = capped(1).await;
    let log = Log::default();
    let retried = {
        let log = log.clone();
        ward.submit(
            TaskSpec::new("retried").restart(Restart::transient(2, Backoff::fixed(secs(1)))),
            move |ctx: TaskContext| {
                let log = log.clone();
                async move {
                    log.lock()
                        .unwrap()
                        .push(format!("retried-{}", ctx.attempt()));
                    if ctx.attempt() == 1 {
                        Err(TaskError::new("first attempt fails"))
                    } else {
                        Ok(json!("second"))
                    }
                }
            },
        )
        .await
        .unwrap()
    };
    // Queued behind the first attempt; it gets the slot while the retry waits out its backoff.
    let holder = ward
        .submit(queued("holder"), noted_long(&log, "holder"))
        .await
        .unwrap();
    tokio::time::sleep(secs(5)).await;
    assert_eq!(started(&log), ["retried-1", "holder"]);
    let record = retried.get().unwrap();
    assert_eq!((record.phase, record.attempt), (Some(Phase::Queued), 2));

    holder.cancel(None).await.unwrap();
    assert_eq!(
        wait_for(&retried).await,
        Outcome::completed(json!("second"))
    );
    assert_eq!(started(&log), ["retried-1", "holder", "retried-2"]);
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_suspended_task_frees_its_slot_and_its_resume_needs_one() {
    let log = Log::default();
    let ward = {
        let log = log.clone();
        Taskward::builder()
            .max_running(1)
            .register("job", move |ctx: TaskContext, input: Value| {
                let log = log.clone();
                async move {
                    log.lock().unwrap().push(format!("job-{}", ctx.attempt()));
                    let _ = input;
                    ctx.cancelled().await;
                    Err(TaskError::cancelled())
                }
            })
            .spawn()
            .await
            .unwrap()
    };
    let scope = Scope::global();
    let job = ward
        .submit_kind(TaskSpec::new("job"), json!({}))
        .await
        .unwrap();
    let other = ward
        .submit(queued("other"), noted_long(&log, "other"))
        .await
        .unwrap();
    ward.suspend(&scope, job.id()).await.unwrap();
    settle().await;
    assert_eq!(phase(&job), Some(Phase::Suspended));
    assert_eq!(
        started(&log),
        ["job-1", "other"],
        "the slot went to the queue"
    );

    ward.resume(&scope, job.id()).await.unwrap();
    settle().await;
    assert_eq!(phase(&job), Some(Phase::Queued), "waits for the slot");
    other.cancel(None).await.unwrap();
    settle().await;
    assert_eq!(phase(&job), Some(Phase::Running));
    assert_eq!(started(&log), ["job-1", "other", "job-2"]);
    ward.shutdown(secs(1)).await.unwrap();
}

// ------------------------------------------------------------------ durable restart

/// A kind whose work waits until cancelled, noting each start.
fn job_kind(disk: &Disk, log: &Log) -> taskward::Builder {
    let log = log.clone();
    Taskward::builder()
        .durable(disk.clone())
        .no_default_ttl()
        .max_running(1)
        .register("job", move |ctx: TaskContext, input: Value| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(input["n"].to_string());
                if input["forever"] == json!(true) {
                    ctx.cancelled().await;
                    return Err(TaskError::cancelled());
                }
                Ok(input)
            }
        })
}

#[tokio::test]
async fn queued_tasks_come_back_queued_after_a_restart_in_their_order() {
    let disk = Disk::new();
    let log = Log::default();
    let ward = job_kind(&disk, &log).spawn().await.unwrap();
    let running = ward
        .submit_kind(TaskSpec::new("job"), json!({ "n": 1, "forever": true }))
        .await
        .unwrap();
    let low = ward
        .submit_kind(queued("job").priority(1), json!({ "n": 2 }))
        .await
        .unwrap();
    let high = ward
        .submit_kind(queued("job").priority(7), json!({ "n": 3 }))
        .await
        .unwrap();
    let closure = ward
        .submit(queued("closure"), |_ctx| async { Ok(json!("never")) })
        .await
        .unwrap();
    let stored = disk
        .record(high.id())
        .expect("durable when submit returned");
    assert_eq!((stored.phase, stored.priority), (Some(Phase::Queued), 7));
    // The process dies now.
    let after_crash = disk.crash_copy();
    drop(ward);

    let log2 = Log::default();
    let ward2 = job_kind(&after_crash, &log2).spawn().await.unwrap();
    let scope = Scope::global();
    let record = ward2.get(&scope, low.id()).unwrap();
    assert_eq!(
        (record.phase, record.attempt),
        (Some(Phase::Queued), 1),
        "queued again, its first attempt still to run"
    );
    let outcome = ward2.wait(&scope, closure.id()).await.unwrap();
    assert_eq!(
        outcome.failure().map(|f| f.cause),
        Some(FailureCause::Interrupted)
    );
    ward2.cancel(&scope, running.id(), None).await.unwrap();
    assert!(matches!(
        ward2.wait(&scope, low.id()).await.unwrap(),
        Outcome::Completed { .. }
    ));
    assert!(matches!(
        ward2.wait(&scope, high.id()).await.unwrap(),
        Outcome::Completed { .. }
    ));
    assert_eq!(started(&log2), ["1", "3", "2"], "resumed, then by priority");
    ward2.shutdown(Duration::from_secs(1)).await.unwrap();
}
