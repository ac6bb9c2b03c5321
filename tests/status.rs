//! Semantic 12, status queries: the registry answers its status (counts by status and phase,
//! live runners, uptime, limits); a runner answers its own (phase, elapsed, progress, attempt,
//! deadline) while its work runs.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::settle;
use ractor::ActorStatus;
use serde_json::json;
use taskward::{
    Backoff, Error, Phase, Restart, Scope, Status, TaskContext, TaskError, TaskSpec, Taskward,
};
use tokio_util::sync::CancellationToken;

/// Work that reports `done` of 10 and then waits for `gate`.
fn gated(
    gate: CancellationToken,
    done: u64,
) -> impl Fn(
    TaskContext,
) -> futures_util::future::BoxFuture<'static, Result<serde_json::Value, TaskError>>
+ Send
+ Sync
+ 'static {
    move |ctx: TaskContext| {
        let gate = gate.clone();
        Box::pin(async move {
            ctx.progress(done, Some(10), "working");
            gate.cancelled().await;
            Ok(json!("released"))
        })
    }
}

#[tokio::test(start_paused = true)]
async fn the_registry_reports_counts_runners_uptime_and_limits() {
    let ward = Taskward::builder()
        .max_live_tasks(50)
        .max_live_per_scope(10)
        .max_ttl(Duration::from_secs(7200))
        .max_result_bytes(4096)
        .spawn()
        .await
        .unwrap();
    let scope = Scope::session("s");
    let gate = CancellationToken::new();

    let fresh = ward.status().await.unwrap();
    assert_eq!((fresh.tasks, fresh.live, fresh.live_runners), (0, 0, 0));
    assert!(fresh.accepting);

    let running: Vec<_> = futures_util::future::try_join_all((0..2).map(|_| {
        ward.submit(
            TaskSpec::new("gated").scope(scope.clone()),
            gated(gate.clone(), 3),
        )
    }))
    .await
    .unwrap();
    let done = common::submit_instant(&ward, &scope, "done", json!(1)).await;
    let failed = common::submit_failing(&ward, &scope, "failed", "no").await;
    let cancelled = common::submit_long(&ward, &scope, "cancelled").await;
    done.wait().await.unwrap();
    failed.wait().await.unwrap();
    cancelled.cancel(None).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;

    let status = ward.status().await.unwrap();
    assert_eq!(status.tasks, 5);
    assert_eq!(status.live, 2);
    assert_eq!(status.count(Status::Working), 2);
    assert_eq!(status.count(Status::InputRequired), 0);
    assert_eq!(status.count(Status::Completed), 1);
    assert_eq!(status.count(Status::Failed), 1);
    assert_eq!(status.count(Status::Cancelled), 1);
    assert_eq!(status.phase_count(Phase::Running), 2);
    for phase in [
        Phase::Queued,
        Phase::Starting,
        Phase::Cancelling,
        Phase::RetryWait,
    ] {
        assert_eq!(status.phase_count(phase), 0, "{phase}");
    }
    assert_eq!(
        status.live_runners, 2,
        "only the gated tasks still have runners"
    );
    assert_eq!(
        status.controls, 2,
        "only the live tasks keep a control block"
    );
    assert!(
        status.uptime >= Duration::from_secs(5) && status.uptime < Duration::from_secs(6),
        "{:?}",
        status.uptime
    );
    assert_eq!(status.limits.max_live_tasks, Some(50));
    assert_eq!(status.limits.max_live_per_scope, Some(10));
    assert_eq!(status.limits.max_ttl, Some(Duration::from_secs(7200)));
    assert_eq!(status.limits.max_result_bytes, Some(4096));
    assert!(status.accepting);
    assert_eq!(status.registry_restarts, 0);

    gate.cancel();
    for task in &running {
        task.wait().await.unwrap();
    }
    settle().await;
    let status = ward.status().await.unwrap();
    assert_eq!(status.live, 0);
    assert_eq!(status.count(Status::Working), 0);
    assert_eq!(status.count(Status::Completed), 3);
    assert_eq!(status.phase_count(Phase::Running), 0);
    assert_eq!(status.live_runners, 0);
    assert_eq!(status.controls, 0);
}

#[tokio::test(start_paused = true)]
async fn a_runner_answers_while_its_work_runs() {
    let ward = common::ward().await;
    let scope = Scope::session("s");
    let gate = CancellationToken::new();
    let task = ward
        .submit(
            TaskSpec::new("inspected")
                .scope(scope.clone())
                .timeout(Duration::from_secs(60)),
            gated(gate.clone(), 4),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;

    let status = ward.runner_status(&scope, task.id()).await.unwrap();
    assert_eq!(status.task_id, task.id());
    assert_eq!(status.name, "inspected");
    assert_eq!(status.phase, Phase::Running);
    assert_eq!(status.attempt, 1);
    assert!(
        status.elapsed >= Duration::from_secs(3) && status.elapsed < Duration::from_millis(3100),
        "{:?}",
        status.elapsed
    );
    assert_eq!((status.progress.done, status.progress.total), (4, Some(10)));
    assert_eq!(status.progress.message.as_deref(), Some("working"));
    let left = status.deadline_in.expect("it has a deadline");
    assert!(
        left > Duration::from_millis(56_900) && left <= Duration::from_secs(57),
        "{left:?}"
    );
    assert!(!status.cancel_requested);
    assert_eq!(task.get().unwrap().phase, Some(Phase::Running));

    // Time moves on, and so does the answer.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let later = task.runner_status().await.unwrap();
    assert!(
        later.elapsed >= Duration::from_secs(13),
        "{:?}",
        later.elapsed
    );
    assert!(later.deadline_in.unwrap() <= Duration::from_secs(47));

    gate.cancel();
    task.wait().await.unwrap();
    let r = task.runner_status().await;
    assert!(
        matches!(
            r,
            Err(Error::AlreadyTerminal {
                status: Status::Completed,
                ..
            })
        ),
        "{r:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_runner_past_its_deadline_answers_cancelling() {
    let ward = common::ward().await;
    let task = ward
        .submit(
            TaskSpec::new("stubborn")
                .timeout(Duration::from_secs(5))
                .cancel_grace(Duration::from_secs(10)),
            |ctx: TaskContext| common::stubborn(ctx, Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(7)).await;
    let status = task.runner_status().await.unwrap();
    assert_eq!(status.phase, Phase::Cancelling);
    assert!(status.cancel_requested);
    assert_eq!(status.deadline_in, Some(Duration::ZERO));
    assert_eq!(task.get().unwrap().phase, Some(Phase::Cancelling));
    let status = ward.status().await.unwrap();
    assert_eq!(status.phase_count(Phase::Cancelling), 1);
}

#[tokio::test(start_paused = true)]
async fn a_runner_answers_cancelling_through_its_grace_after_a_client_cancel() {
    let ward = common::ward().await;
    let scope = Scope::session("s");
    let task = ward
        .submit(
            TaskSpec::new("stubborn")
                .scope(scope.clone())
                .cancel_grace(Duration::from_secs(10)),
            |ctx: TaskContext| common::stubborn(ctx, Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    settle().await;
    let cancelled = task.cancel(None).await.unwrap();
    assert_eq!(cancelled.status, Status::Cancelled);

    // The task is cancelled, but its work runs out its grace: the runner still answers.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let status = ward.runner_status(&scope, task.id()).await.unwrap();
    assert_eq!(status.task_id, task.id());
    assert_eq!(status.phase, Phase::Cancelling);
    assert!(status.cancel_requested);

    // Once the grace has run out and the runner is gone, the task's status answers.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let r = ward.runner_status(&scope, task.id()).await;
    assert!(
        matches!(
            r,
            Err(Error::AlreadyTerminal {
                status: Status::Cancelled,
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(ward.status().await.unwrap().live_runners, 0);
}

#[tokio::test(start_paused = true)]
async fn no_live_runner_while_waiting_to_retry_and_the_next_attempt_answers() {
    let ward = common::ward().await;
    let gate = CancellationToken::new();
    let task = ward
        .submit(
            TaskSpec::new("flaky").restart(Restart::transient(
                3,
                Backoff::fixed(Duration::from_secs(10)),
            )),
            {
                let gate = gate.clone();
                move |ctx: TaskContext| {
                    let gate = gate.clone();
                    async move {
                        if ctx.attempt() == 1 {
                            return Err(TaskError::new("first attempt fails"));
                        }
                        gate.cancelled().await;
                        Ok(json!(ctx.attempt()))
                    }
                }
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(task.get().unwrap().phase, Some(Phase::RetryWait));
    let r = task.runner_status().await;
    assert!(
        matches!(r, Err(Error::NoLiveRunner(id)) if id == task.id()),
        "{r:?}"
    );
    assert_eq!(
        ward.status().await.unwrap().phase_count(Phase::RetryWait),
        1
    );

    tokio::time::sleep(Duration::from_secs(10)).await;
    let status = task.runner_status().await.unwrap();
    assert_eq!(status.attempt, 2);
    assert_eq!(status.phase, Phase::Running);
    gate.cancel();
    assert_eq!(task.wait().await.unwrap().value(), Some(&json!(2)));
}

#[tokio::test(start_paused = true)]
async fn runner_status_errors() {
    let ward = common::ward().await;
    let scope = Scope::session("s");
    let external = ward
        .submit_external(TaskSpec::new("elsewhere").scope(scope.clone()), |_| {})
        .await
        .unwrap();
    let r = ward.runner_status(&scope, external.id()).await;
    assert!(matches!(r, Err(Error::NoLiveRunner(_))), "{r:?}");

    let done = common::submit_instant(&ward, &scope, "done", json!(1)).await;
    done.wait().await.unwrap();
    let r = ward.runner_status(&scope, done.id()).await;
    assert!(
        matches!(r, Err(Error::AlreadyTerminal { id, status: Status::Completed }) if id == done.id()),
        "{r:?}"
    );
    let r = ward
        .runner_status(&Scope::session("other"), done.id())
        .await;
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
}

#[tokio::test(start_paused = true)]
async fn the_supervision_tree_is_visible_through_ractor() {
    let ward = Taskward::builder()
        .runner_partitions(2)
        .spawn()
        .await
        .unwrap();
    // ractor marks an actor running after its post_start, a moment after spawn returns.
    settle().await;
    let root = ward.root_cell();
    assert_eq!(root.get_status(), ActorStatus::Running);
    let registry = ward.registry_cell().expect("registry running");
    let runner_sup = ward
        .runner_supervisor_cell()
        .expect("runner supervisor running");
    let children: HashSet<_> = root.get_children().iter().map(|c| c.get_id()).collect();
    assert_eq!(
        children,
        HashSet::from([registry.get_id(), runner_sup.get_id()])
    );
    assert_eq!(
        registry.try_get_supervisor().map(|s| s.get_id()),
        Some(root.get_id())
    );
    // One runner per partition, linked under the runner supervisor, before any task.
    let runners = runner_sup.get_children();
    assert_eq!(runners.len(), 2);
    let ids =
        |cells: &[ractor::ActorCell]| cells.iter().map(|c| c.get_id()).collect::<HashSet<_>>();
    assert_eq!(ids(&ward.runner_cells()), ids(&runners));
    assert!(
        runners
            .iter()
            .all(|r| r.try_get_supervisor().map(|s| s.get_id()) == Some(runner_sup.get_id()))
    );

    let gate = CancellationToken::new();
    let tasks = futures_util::future::try_join_all(
        (0..3).map(|_| ward.submit(TaskSpec::new("gated"), gated(gate.clone(), 1))),
    )
    .await
    .unwrap();
    settle().await;
    // The tasks are held by the partitions' runners: no actor per task.
    assert_eq!(ids(&runner_sup.get_children()), ids(&runners));
    assert!(
        runners
            .iter()
            .all(|r| r.get_status() == ActorStatus::Running)
    );
    assert_eq!(ward.status().await.unwrap().live_runners, 3);

    gate.cancel();
    for t in &tasks {
        t.wait().await.unwrap();
    }
    settle().await;
    assert_eq!(ward.status().await.unwrap().live_runners, 0);
    // The runners outlive their tasks.
    assert_eq!(ids(&runner_sup.get_children()), ids(&runners));
    assert!(
        runners
            .iter()
            .all(|r| r.get_status() == ActorStatus::Running)
    );
}

#[tokio::test(start_paused = true)]
async fn a_runner_cell_is_mapped_to_its_tasks_and_killing_it_loses_only_them() {
    let ward = Taskward::builder()
        .runner_partitions(2)
        .spawn()
        .await
        .unwrap();
    let scope = Scope::session("s");
    let gate = CancellationToken::new();
    let mut tasks = Vec::new();
    for i in 0..16 {
        tasks.push(
            ward.submit(
                TaskSpec::new(format!("t{i}")).scope(scope.clone()),
                gated(gate.clone(), i),
            )
            .await
            .unwrap(),
        );
    }
    settle().await;

    // Every task with running work is listed once, with the runner of its partition.
    let listed: HashSet<_> = ward
        .runners()
        .into_iter()
        .map(|(task, cell)| (task, cell.get_id()))
        .collect();
    let mut expected = HashSet::new();
    for t in &tasks {
        expected.insert((t.id(), ward.runner_cell(&scope, t.id()).unwrap().get_id()));
    }
    assert_eq!(listed, expected);
    let children: HashSet<_> = ward
        .runner_supervisor_cell()
        .unwrap()
        .get_children()
        .iter()
        .map(|c| c.get_id())
        .collect();
    assert_eq!(
        listed.iter().map(|(_, c)| *c).collect::<HashSet<_>>(),
        children,
        "16 random ids all hashed to one of 2 partitions"
    );
    let r = ward.runner_cell(&Scope::session("other"), tasks[0].id());
    assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");

    let cell = ward.runner_cell(&scope, tasks[0].id()).unwrap();
    let (doomed, spared): (Vec<_>, Vec<_>) = tasks
        .iter()
        .partition(|t| ward.runner_cell(&scope, t.id()).unwrap().get_id() == cell.get_id());
    cell.kill();
    for task in &doomed {
        let outcome = task.wait().await.unwrap();
        assert_eq!(
            outcome.failure().map(|f| f.cause),
            Some(taskward::FailureCause::RunnerLost),
            "{outcome:?}"
        );
        let r = ward.runner_cell(&scope, task.id());
        assert!(
            matches!(
                r,
                Err(Error::AlreadyTerminal {
                    status: Status::Failed,
                    ..
                })
            ),
            "{r:?}"
        );
    }
    // The other partition's tasks are untouched.
    for task in &spared {
        assert_eq!(ward.get(&scope, task.id()).unwrap().status, Status::Working);
        assert_eq!(
            ward.runner_cell(&scope, task.id()).unwrap().get_status(),
            ActorStatus::Running
        );
    }
    let listed: HashSet<_> = ward.runners().into_iter().map(|(t, _)| t).collect();
    assert_eq!(listed, spared.iter().map(|t| t.id()).collect());

    let external = ward
        .submit_external(TaskSpec::new("elsewhere").scope(scope.clone()), |_| {})
        .await
        .unwrap();
    let r = ward.runner_cell(&scope, external.id());
    assert!(matches!(r, Err(Error::NoLiveRunner(_))), "{r:?}");
    gate.cancel();
    for task in &spared {
        task.wait().await.unwrap();
    }
}

#[tokio::test]
async fn inspect_reads_a_task_of_any_scope_and_get_still_checks_it() {
    let ward = taskward::Taskward::builder().spawn().await.unwrap();
    let scope = taskward::Scope::session("s-1");
    let task = ward
        .submit(
            taskward::TaskSpec::new("held").scope(scope.clone()),
            |ctx: taskward::TaskContext| async move {
                ctx.cancelled().await;
                Ok(serde_json::Value::Null)
            },
        )
        .await
        .unwrap();
    let seen = ward.inspect(task.id()).expect("in memory");
    assert_eq!(seen.scope, scope);
    assert!(ward.inspect(taskward::TaskId::new()).is_none());
    assert!(
        ward.get(&taskward::Scope::session("s-2"), task.id())
            .is_err()
    );
    ward.shutdown(std::time::Duration::from_secs(1))
        .await
        .unwrap();
}
