//! Semantic 5, crashes: a panic in the work fails the task with cause panicked and its message;
//! a runner that dies without reporting fails the task with cause runner lost (or retries it
//! under a transient policy); no task stays non-terminal without a live runner, and the sweep
//! checks it too.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{HOUR, all_events, events_of};
use serde_json::{Value, json};
use taskward::{
    Backoff, Error, EventFilter, EventKind, FailureCause, Outcome, Phase, Restart, Scope, Status,
    TaskContext, TaskHandle, TaskSpec, Taskward,
};

/// The runner actors alive now.
fn runners(ward: &Taskward) -> Vec<ractor::ActorCell> {
    ward.runner_supervisor_cell()
        .expect("the runner supervisor runs")
        .get_children()
}

/// Work that ignores its token, sleeps an hour, then sets `finished`.
fn sleeper(
    finished: Arc<AtomicBool>,
) -> impl Fn(
    TaskContext,
) -> std::pin::Pin<Box<dyn Future<Output = Result<Value, taskward::TaskError>> + Send>>
+ Send
+ Sync
+ 'static {
    move |_ctx: TaskContext| {
        let finished = finished.clone();
        Box::pin(async move {
            tokio::time::sleep(HOUR).await;
            finished.store(true, Ordering::SeqCst);
            Ok(json!("finished"))
        })
    }
}

/// The invariant, checked from outside: every task is terminal or has a runner that answers.
async fn assert_no_live_task_without_a_runner(ward: &Taskward, tasks: &[TaskHandle]) {
    for task in tasks {
        let record = task.get().unwrap();
        if record.is_terminal() {
            continue;
        }
        match task.runner_status().await {
            Ok(status) => assert_eq!(status.task_id, task.id()),
            Err(Error::NoLiveRunner(_)) if record.phase == Some(Phase::RetryWait) => {}
            Err(e) => panic!(
                "task {} is {:?} without a live runner: {e}",
                task.id(),
                record.phase
            ),
        }
    }
    let status = ward.status().await.unwrap();
    assert_eq!(
        status.live_runners as u64,
        status.count(Status::Working) - status.phase_count(Phase::RetryWait),
        "{status:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_panic_fails_the_task_with_cause_panicked_and_its_message() {
    let ward = common::ward().await;
    let scope = Scope::session("s-panic");
    let mut sub = ward.subscribe(EventFilter::all());

    let later = ward
        .submit(
            TaskSpec::new("later").scope(scope.clone()),
            |_ctx: TaskContext| async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if true {
                    panic!("the disk is on fire: sector {}", 42);
                }
                Ok(json!("unreachable"))
            },
        )
        .await
        .unwrap();
    let at_once = ward
        .submit(
            TaskSpec::new("at_once").scope(scope.clone()),
            |_ctx: TaskContext| async move {
                std::panic::panic_any(String::from("an owned panic message"));
                #[allow(unreachable_code)]
                Ok(Value::Null)
            },
        )
        .await
        .unwrap();

    for (task, message) in [
        (&later, "the disk is on fire: sector 42"),
        (&at_once, "an owned panic message"),
    ] {
        let outcome = task.wait().await.unwrap();
        let failure = outcome.failure().expect("failed");
        assert_eq!(failure.cause, FailureCause::Panicked);
        assert!(failure.message.contains(message), "{failure}");
        let record = task.get().unwrap();
        assert_eq!(record.status, Status::Failed);
        assert_eq!(record.phase, None);
    }
    // Both failures were published.
    let events = all_events(&mut sub).await;
    for task in [&later, &at_once] {
        assert!(
            events.iter().any(|e| e.task_id == task.id()
                && matches!(&e.kind, EventKind::Failed(f) if f.cause == FailureCause::Panicked)),
            "{events:?}"
        );
    }

    // The panic stayed in the work: no runner is left, none counted as crashed, and the
    // runtime goes on.
    let status = ward.status().await.unwrap();
    assert_eq!(status.live_runners, 0);
    assert_eq!(status.runner_failures, 0);
    assert_eq!(status.count(Status::Failed), 2);
    let next = ward
        .submit(TaskSpec::new("next"), common::instant(json!("fine")))
        .await
        .unwrap();
    assert_eq!(
        next.wait().await.unwrap(),
        Outcome::completed(json!("fine"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_panic_is_retried_under_a_transient_policy() {
    let ward = common::ward().await;
    let task = ward
        .submit(
            TaskSpec::new("flaky").restart(Restart::transient(
                3,
                Backoff::fixed(Duration::from_secs(1)),
            )),
            |ctx: TaskContext| async move {
                if ctx.attempt() < 3 {
                    panic!("attempt {} panicked", ctx.attempt());
                }
                Ok(json!(ctx.attempt()))
            },
        )
        .await
        .unwrap();
    assert_eq!(task.wait().await.unwrap(), Outcome::completed(json!(3)));
    assert_eq!(task.get().unwrap().attempt, 3);
    assert_eq!(ward.status().await.unwrap().retries, 2);
}

#[tokio::test(start_paused = true)]
async fn a_killed_runner_fails_the_task_with_cause_runner_lost() {
    let ward = Taskward::builder().no_default_ttl().spawn().await.unwrap();
    let mut sub = ward.subscribe(EventFilter::all());
    let finished = Arc::new(AtomicBool::new(false));
    let task = ward
        .submit(TaskSpec::new("victim"), sleeper(finished.clone()))
        .await
        .unwrap();
    // Half-way between two sweeps (every second), so the runner supervisor sees the death.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let cells = runners(&ward);
    assert_eq!(cells.len(), 1);
    cells[0].kill();

    let before = tokio::time::Instant::now();
    let outcome = task.wait().await.unwrap();
    // Told by the runner supervisor, not found later by a sweep.
    assert!(
        before.elapsed() < Duration::from_millis(500),
        "{:?}",
        before.elapsed()
    );
    let failure = outcome.failure().expect("failed");
    assert_eq!(failure.cause, FailureCause::RunnerLost);
    let record = task.get().unwrap();
    assert_eq!(record.status, Status::Failed);
    assert_eq!(
        record.outcome.as_ref().unwrap().failure().unwrap().cause,
        FailureCause::RunnerLost
    );
    let kinds = events_of(&mut sub, task.id()).await;
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, EventKind::Failed(f) if f.cause == FailureCause::RunnerLost)),
        "{kinds:?}"
    );

    let status = ward.status().await.unwrap();
    assert_eq!(status.live_runners, 0);
    assert_eq!(status.live, 0);
    assert_eq!(status.runner_failures, 1);
    assert!(matches!(
        task.runner_status().await,
        Err(Error::AlreadyTerminal {
            status: Status::Failed,
            ..
        })
    ));

    // The work died with its runner: it never reaches its end.
    tokio::time::sleep(2 * HOUR).await;
    assert!(!finished.load(Ordering::SeqCst));
    assert_eq!(task.get().unwrap().status, Status::Failed);
}

#[tokio::test(start_paused = true)]
async fn a_killed_runner_is_retried_under_a_transient_policy() {
    let ward = common::ward().await;
    let task = ward
        .submit(
            TaskSpec::new("phoenix").restart(Restart::transient(
                2,
                Backoff::fixed(Duration::from_secs(5)),
            )),
            |ctx: TaskContext| async move {
                if ctx.attempt() == 1 {
                    tokio::time::sleep(HOUR).await;
                }
                Ok(json!({ "attempt": ctx.attempt() }))
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    runners(&ward)[0].kill();

    // Waiting out its backoff: working, no runner, attempt 2 next.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let record = task.get().unwrap();
    assert_eq!(record.status, Status::Working);
    assert_eq!(record.phase, Some(Phase::RetryWait));
    assert_eq!(record.attempt, 2);
    assert!(
        record
            .status_message
            .as_deref()
            .is_some_and(|m| m.contains("runner_lost")),
        "{:?}",
        record.status_message
    );
    assert!(matches!(
        task.runner_status().await,
        Err(Error::NoLiveRunner(_))
    ));

    assert_eq!(
        task.wait().await.unwrap(),
        Outcome::completed(json!({ "attempt": 2 }))
    );
    let status = ward.status().await.unwrap();
    assert_eq!(status.retries, 1);
    assert_eq!(status.runner_failures, 1);
    assert_eq!(status.live_runners, 0);
}

#[tokio::test(start_paused = true)]
async fn a_dead_runner_fails_only_its_own_partitions_tasks() {
    let ward = Taskward::builder()
        .runner_partitions(3)
        .spawn()
        .await
        .unwrap();
    let scope = Scope::session("s-partitions");
    let mut tasks = Vec::new();
    for i in 0..24 {
        let spec = TaskSpec::new(format!("t{i}")).scope(scope.clone());
        // Every third one is retried once, after a minute.
        let spec = if i % 3 == 0 {
            spec.restart(Restart::transient(
                2,
                Backoff::fixed(Duration::from_secs(60)),
            ))
        } else {
            spec
        };
        tasks.push(
            ward.submit(spec, sleeper(Arc::new(AtomicBool::new(false))))
                .await
                .unwrap(),
        );
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_no_live_task_without_a_runner(&ward, &tasks).await;
    assert_eq!(runners(&ward).len(), 3);

    // Kill the runner holding the first task: the tasks of its partition are lost with it.
    let victim = ward.runner_cell(&scope, tasks[0].id()).unwrap();
    let (lost, kept): (Vec<_>, Vec<_>) = tasks
        .iter()
        .enumerate()
        .partition(|(_, t)| ward.runner_cell(&scope, t.id()).unwrap().get_id() == victim.get_id());
    assert!(
        !kept.is_empty(),
        "24 random ids all hashed to one of 3 partitions"
    );
    victim.kill();
    tokio::time::sleep(Duration::from_millis(100)).await;

    for (i, task) in &lost {
        let record = task.get().unwrap();
        if i % 3 == 0 {
            assert_eq!(record.phase, Some(Phase::RetryWait), "{record:?}");
        } else {
            assert_eq!(record.status, Status::Failed);
            assert_eq!(
                record.outcome.as_ref().unwrap().failure().unwrap().cause,
                FailureCause::RunnerLost
            );
        }
    }
    for (_, task) in &kept {
        let record = task.get().unwrap();
        assert_eq!(record.phase, Some(Phase::Running), "{record:?}");
        assert_eq!(record.attempt, 1);
    }
    assert_no_live_task_without_a_runner(&ward, &tasks).await;
    // The partition has a new runner.
    let cells = runners(&ward);
    assert_eq!(cells.len(), 3);
    assert!(cells.iter().all(|c| c.get_id() != victim.get_id()));

    // After the backoff the retried tasks run again, on the new runner.
    tokio::time::sleep(Duration::from_secs(60)).await;
    for (i, task) in &lost {
        if i % 3 == 0 {
            assert_eq!(task.get().unwrap().phase, Some(Phase::Running));
            assert_eq!(task.runner_status().await.unwrap().attempt, 2);
        }
    }
    assert_no_live_task_without_a_runner(&ward, &tasks).await;
}

/// The sweep (every second by default) finds `task` without a runner and fails it.
async fn sweep_fails_it_runner_lost(ward: &Taskward, task: &TaskHandle) {
    tokio::time::sleep(Duration::from_secs(2)).await;
    let record = task.get().unwrap();
    assert_eq!(record.status, Status::Failed, "{record:?}");
    assert_eq!(
        record.outcome.as_ref().unwrap().failure().unwrap().cause,
        FailureCause::RunnerLost
    );
    let status = ward.status().await.unwrap();
    assert_eq!(status.live, 0);
    assert_eq!(
        status.live_runners, 0,
        "a dead runner is still counted live"
    );
}

#[tokio::test(start_paused = true)]
async fn the_sweep_finds_a_runner_that_died_unseen() {
    let ward = common::ward().await;
    let task = ward
        .submit(
            TaskSpec::new("unseen"),
            sleeper(Arc::new(AtomicBool::new(false))),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Unlinked from its supervisor, the runner's death reaches no one: only the sweep's
    // check of the invariant can find it.
    let sup = ward.runner_supervisor_cell().unwrap();
    let cell = runners(&ward).pop().unwrap();
    cell.unlink(sup);
    cell.kill();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(cell.get_status(), ractor::ActorStatus::Stopped);

    sweep_fails_it_runner_lost(&ward, &task).await;
    // The sweep had the partition's runner replaced.
    let replaced = runners(&ward);
    assert_eq!(replaced.len(), 1);
    assert_ne!(replaced[0].get_id(), cell.get_id());
}

#[tokio::test(start_paused = true)]
async fn a_runner_stopped_by_hand_fails_its_tasks_and_is_replaced() {
    let ward = common::ward().await;
    let task = ward
        .submit(
            TaskSpec::new("stopped"),
            sleeper(Arc::new(AtomicBool::new(false))),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // A normal stop (as an operator might do) is an exit like any other: its works stop with
    // it, and its tasks are lost.
    let cell = runners(&ward).pop().unwrap();
    cell.stop(Some("operator".into()));
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(cell.get_status(), ractor::ActorStatus::Stopped);

    let record = task.get().unwrap();
    assert_eq!(record.status, Status::Failed, "{record:?}");
    assert_eq!(
        record.outcome.as_ref().unwrap().failure().unwrap().cause,
        FailureCause::RunnerLost
    );
    assert_eq!(ward.status().await.unwrap().live_runners, 0);
    let replaced = runners(&ward);
    assert_eq!(replaced.len(), 1);
    assert_ne!(replaced[0].get_id(), cell.get_id());
    // The new runner runs new tasks.
    let next = ward
        .submit(TaskSpec::new("next"), |_ctx: TaskContext| async {
            Ok(json!(1))
        })
        .await
        .unwrap();
    assert_eq!(next.wait().await.unwrap(), Outcome::completed(json!(1)));
}

#[tokio::test(start_paused = true)]
async fn a_runner_killed_during_a_backoff_loses_the_waiting_attempt() {
    let ward = common::ward().await;
    let runs = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let task = ward
        .submit(
            TaskSpec::new("waits").restart(Restart::transient(
                2,
                Backoff::fixed(Duration::from_secs(60)),
            )),
            {
                let runs = runs.clone();
                move |_ctx: TaskContext| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    async { Err(taskward::TaskError::new("fails")) }
                }
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(task.get().unwrap().phase, Some(Phase::RetryWait));

    // The runner holds the attempt waiting out its backoff: it is lost with the runner.
    runners(&ward).pop().unwrap().kill();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let record = task.get().unwrap();
    assert_eq!(record.status, Status::Failed, "{record:?}");
    assert_eq!(
        record.outcome.as_ref().unwrap().failure().unwrap().cause,
        FailureCause::RunnerLost
    );
    // The attempt that was waiting never runs, and nothing is left held.
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let status = ward.status().await.unwrap();
    assert_eq!((status.controls, status.live_runners), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_task_submitted_while_its_runner_is_down_waits_queued_for_the_replacement() {
    let ward = common::ward().await;
    let scope = Scope::session("s-late");
    // Unlinked, the runner's death reaches no one: its partition has no live runner until
    // the sweep replaces it (two sweeps, about two seconds).
    common::settle().await;
    let sup = ward.runner_supervisor_cell().unwrap();
    let dead = runners(&ward).pop().unwrap();
    dead.unlink(sup);
    dead.kill();
    tokio::time::sleep(Duration::from_millis(10)).await;

    let submit = tokio::spawn({
        let ward = ward.clone();
        let scope = scope.clone();
        async move {
            ward.submit(
                TaskSpec::new("late").scope(scope),
                |_ctx: TaskContext| async { Ok(json!("ran")) },
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let waiting = ward.list(&scope, &taskward::ListQuery::new()).unwrap();
    assert_eq!(waiting.tasks.len(), 1);
    assert_eq!(waiting.tasks[0].phase, Some(Phase::Queued), "{waiting:?}");

    let task = submit.await.unwrap().unwrap();
    assert_eq!(task.wait().await.unwrap(), Outcome::completed(json!("ran")));
    let replaced = runners(&ward);
    assert_eq!(replaced.len(), 1);
    assert_ne!(replaced[0].get_id(), dead.get_id());
}

#[tokio::test(start_paused = true)]
async fn a_killed_runner_supervisor_takes_its_runners_and_their_tasks_with_it() {
    let ward = Taskward::builder()
        .runner_partitions(2)
        .spawn()
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        tasks.push(
            ward.submit(
                TaskSpec::new(format!("t{i}")),
                sleeper(Arc::new(AtomicBool::new(false))),
            )
            .await
            .unwrap(),
        );
    }
    common::settle().await;
    let sup = ward.runner_supervisor_cell().unwrap();
    let before: Vec<_> = ward.runner_cells().iter().map(|c| c.get_id()).collect();
    assert_eq!(before.len(), 2);

    sup.kill();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Its runners died with it: every task they held was interrupted, none is left working.
    for task in &tasks {
        let outcome = tokio::time::timeout(Duration::from_secs(60), task.wait())
            .await
            .expect("the task ended")
            .unwrap();
        assert_eq!(
            outcome.failure().map(|f| f.cause),
            Some(FailureCause::Interrupted),
            "{outcome:?}"
        );
    }
    // The root started a new supervisor, which started new runners for both partitions.
    let new_sup = ward.runner_supervisor_cell().unwrap();
    assert_ne!(new_sup.get_id(), sup.get_id());
    let after: Vec<_> = ward.runner_cells().iter().map(|c| c.get_id()).collect();
    assert_eq!(after.len(), 2);
    assert!(after.iter().all(|id| !before.contains(id)), "{after:?}");
    let next = ward
        .submit(TaskSpec::new("next"), |_ctx: TaskContext| async {
            Ok(json!(1))
        })
        .await
        .unwrap();
    assert_eq!(next.wait().await.unwrap(), Outcome::completed(json!(1)));
    let status = ward.status().await.unwrap();
    assert_eq!(status.runner_supervisor_restarts, 1);
    assert_eq!((status.controls, status.live_runners), (0, 0));
}
