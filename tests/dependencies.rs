//! Task dependencies (`TaskSpec::depends_on`): a task waits, `working` in phase `queued`,
//! until every task it depends on has completed; a dependency that fails fails it
//! (`dependency_failed`), one cancelled or expired cancels it (by `dependency`); dependencies
//! are checked at submit and survive a restart.

mod common;

use std::time::Duration;

use common::disk::Disk;
use common::started::{Log, noted_sleep, started};
use common::{secs, settle, wait_for};
use serde_json::{Value, json};
use taskward::{
    CancelledBy, Error, FailureCause, Outcome, Phase, Scope, Status, TaskContext, TaskError,
    TaskHandle, TaskId, TaskSpec, Taskward,
};

async fn ward() -> Taskward {
    Taskward::builder().no_default_ttl().spawn().await.unwrap()
}

fn after(name: &str, deps: &[&TaskHandle]) -> TaskSpec {
    TaskSpec::new(name).depends_on(deps.iter().map(|t| t.id()))
}

#[tokio::test(start_paused = true)]
async fn a_task_waits_until_every_dependency_has_completed() {
    let ward = ward().await;
    let log = Log::default();
    let a = ward
        .submit(TaskSpec::new("a"), noted_sleep(&log, "a", secs(10)))
        .await
        .unwrap();
    let b = ward
        .submit(TaskSpec::new("b"), noted_sleep(&log, "b", secs(5)))
        .await
        .unwrap();
    let c = ward
        .submit(after("c", &[&a, &b]), noted_sleep(&log, "c", secs(1)))
        .await
        .unwrap();
    assert_eq!(c.record().status, Status::Working);
    assert_eq!(c.record().phase, Some(Phase::Queued));
    assert_eq!(c.record().depends_on, vec![a.id(), b.id()]);
    let status = ward.status().await.unwrap();
    assert_eq!(status.awaiting_dependencies, 1);
    assert_eq!(status.phase_count(Phase::Queued), 1);

    tokio::time::sleep(secs(6)).await;
    let record = c.get().unwrap();
    assert_eq!(record.phase, Some(Phase::Queued), "a is still running");
    assert_eq!(
        record.status_message.as_deref(),
        Some("queued: waiting for 1 dependency")
    );
    assert_eq!(started(&log), ["a", "b"]);

    assert_eq!(wait_for(&c).await, Outcome::completed(json!("c")));
    assert_eq!(started(&log), ["a", "b", "c"]);
    assert_eq!(ward.status().await.unwrap().awaiting_dependencies, 0);
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_failed_dependency_fails_its_dependents_down_the_chain() {
    let ward = ward().await;
    let log = Log::default();
    let a = ward
        .submit(TaskSpec::new("a"), |_ctx| async {
            tokio::time::sleep(secs(1)).await;
            Err(TaskError::new("broken"))
        })
        .await
        .unwrap();
    let b = ward
        .submit(after("b", &[&a]), noted_sleep(&log, "b", secs(1)))
        .await
        .unwrap();
    let c = ward
        .submit(after("c", &[&b]), noted_sleep(&log, "c", secs(1)))
        .await
        .unwrap();

    let failure = wait_for(&b).await.failure().cloned().expect("failed");
    assert_eq!(failure.cause, FailureCause::DependencyFailed);
    assert_eq!(
        failure.data,
        Some(json!({ "dependency": a.id().to_string(), "outcome": "error" }))
    );
    let failure = wait_for(&c).await.failure().cloned().expect("failed");
    assert_eq!(failure.cause, FailureCause::DependencyFailed);
    assert_eq!(
        failure.data.as_ref().unwrap()["dependency"],
        json!(b.id().to_string())
    );
    assert_eq!(
        failure.data.as_ref().unwrap()["outcome"],
        json!("dependency_failed")
    );
    settle().await;
    assert!(started(&log).is_empty(), "no dependent ran");
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_or_expired_dependency_cancels_its_dependents() {
    let ward = Taskward::builder()
        .sweep_interval(common::SWEEP)
        .spawn()
        .await
        .unwrap();
    let log = Log::default();
    let cancelled = ward.submit(TaskSpec::new("a"), common::long).await.unwrap();
    let expiring = ward
        .submit(TaskSpec::new("e").ttl(secs(5)), common::long)
        .await
        .unwrap();
    let b = ward
        .submit(after("b", &[&cancelled]), noted_sleep(&log, "b", secs(1)))
        .await
        .unwrap();
    let c = ward
        .submit(after("c", &[&expiring]), noted_sleep(&log, "c", secs(1)))
        .await
        .unwrap();

    cancelled.cancel(None).await.unwrap();
    match wait_for(&b).await {
        Outcome::Cancelled(c) => {
            assert_eq!(c.by, CancelledBy::Dependency);
            assert!(c.reason.unwrap().contains(&cancelled.id().to_string()));
        }
        other => panic!("expected cancelled by dependency, got {other:?}"),
    }
    match wait_for(&c).await {
        Outcome::Cancelled(c) => assert_eq!(c.by, CancelledBy::Dependency),
        other => panic!("expected cancelled by dependency, got {other:?}"),
    }
    settle().await;
    assert!(started(&log).is_empty());
    assert_eq!(ward.status().await.unwrap().awaiting_dependencies, 0);
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn dependencies_already_ended_at_submit_resolve_at_once() {
    let ward = ward().await;
    let log = Log::default();
    let scope = Scope::global();
    let done = common::completed(&ward, &scope, "done", json!(1)).await;
    let failed = common::submit_failing(&ward, &scope, "failed", "no").await;
    wait_for(&failed).await;
    let cancelled = ward
        .submit(TaskSpec::new("cancelled"), common::long)
        .await
        .unwrap();
    cancelled.cancel(None).await.unwrap();

    let runs = ward
        .submit(after("runs", &[&done]), noted_sleep(&log, "runs", secs(1)))
        .await
        .unwrap();
    assert_eq!(
        runs.record().phase,
        Some(Phase::Running),
        "nothing to wait for"
    );
    assert_eq!(wait_for(&runs).await, Outcome::completed(json!("runs")));

    let fails = ward
        .submit(
            after("fails", &[&done, &failed]),
            noted_sleep(&log, "fails", secs(1)),
        )
        .await
        .unwrap();
    assert_eq!(fails.record().status, Status::Failed);
    assert_eq!(
        wait_for(&fails).await.failure().map(|f| f.cause),
        Some(FailureCause::DependencyFailed)
    );
    let dropped = ward
        .submit(
            after("dropped", &[&cancelled]),
            noted_sleep(&log, "dropped", secs(1)),
        )
        .await
        .unwrap();
    match wait_for(&dropped).await {
        Outcome::Cancelled(c) => assert_eq!(c.by, CancelledBy::Dependency),
        other => panic!("expected cancelled by dependency, got {other:?}"),
    }
    settle().await;
    assert_eq!(started(&log), ["runs"]);
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_unknown_or_foreign_dependency_is_not_found_and_nothing_is_created() {
    let ward = ward().await;
    let log = Log::default();
    let theirs = ward
        .submit(
            TaskSpec::new("theirs").scope(Scope::session("other")),
            common::long,
        )
        .await
        .unwrap();
    let unknown = TaskId::new();
    for dep in [unknown, theirs.id()] {
        let refused = ward
            .submit(
                TaskSpec::new("mine")
                    .scope(Scope::session("me"))
                    .depends_on([dep]),
                noted_sleep(&log, "mine", secs(1)),
            )
            .await;
        match refused {
            Err(Error::NotFound(id)) => assert_eq!(id, dep),
            other => panic!("expected NotFound, got {other:?}"),
        }
    }
    assert_eq!(ward.status().await.unwrap().tasks, 1, "nothing was created");
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn too_many_dependencies_is_a_typed_error() {
    let ward = ward().await;
    let log = Log::default();
    let mut deps = Vec::new();
    for _ in 0..65 {
        deps.push(
            common::completed(&ward, &Scope::global(), "dep", json!(null))
                .await
                .id(),
        );
    }
    // Repeats count once: 64 distinct ids are fine.
    let fine = TaskSpec::new("fine").depends_on(deps[..64].iter().copied().chain([deps[0]]));
    let ok = ward
        .submit(fine, noted_sleep(&log, "fine", secs(1)))
        .await
        .unwrap();
    assert_eq!(wait_for(&ok).await, Outcome::completed(json!("fine")));

    let refused = ward
        .submit(
            TaskSpec::new("over").depends_on(deps.clone()),
            noted_sleep(&log, "over", secs(1)),
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(Error::TooManyDependencies { count: 65, max: 64 })
        ),
        "{refused:?}"
    );
    assert_eq!(
        ward.status().await.unwrap().tasks,
        66,
        "nothing was created"
    );
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_task_whose_dependencies_completed_queues_for_a_running_slot_in_its_turn() {
    let ward = Taskward::builder().max_running(1).spawn().await.unwrap();
    let log = Log::default();
    let a = ward
        .submit(TaskSpec::new("a"), noted_sleep(&log, "a", secs(5)))
        .await
        .unwrap();
    let queued = ward
        .submit(
            TaskSpec::new("queued").queue_when_busy(),
            noted_sleep(&log, "queued", secs(5)),
        )
        .await
        .unwrap();
    // Never refused for a slot: it was admitted at submit, and waits.
    let dependent = ward
        .submit(
            after("dependent", &[&a]),
            noted_sleep(&log, "dependent", secs(1)),
        )
        .await
        .unwrap();
    tokio::time::sleep(secs(6)).await;
    assert_eq!(
        started(&log),
        ["a", "queued"],
        "submitted first, queued first"
    );
    let record = dependent.get().unwrap();
    assert_eq!(
        (record.phase, record.status_message.as_deref()),
        (
            Some(Phase::Queued),
            Some("queued: waiting for a running slot")
        )
    );
    assert_eq!(wait_for(&queued).await, Outcome::completed(json!("queued")));
    assert_eq!(
        wait_for(&dependent).await,
        Outcome::completed(json!("dependent"))
    );
    assert_eq!(started(&log), ["a", "queued", "dependent"]);
    ward.shutdown(secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn shutdown_cancels_waiting_dependents_by_shutdown() {
    let ward = ward().await;
    let log = Log::default();
    let mut deps = Vec::new();
    let mut dependents = Vec::new();
    for i in 0..8 {
        let dep = ward
            .submit(TaskSpec::new("dep"), common::long)
            .await
            .unwrap();
        let name = format!("dependent-{i}");
        let spec = after(&name, &[&dep]);
        dependents.push(
            ward.submit(spec, noted_sleep(&log, &name, secs(1)))
                .await
                .unwrap(),
        );
        deps.push(dep);
    }
    ward.shutdown(secs(1)).await.unwrap();
    for task in &dependents {
        match task.get().unwrap().outcome.clone() {
            Some(Outcome::Cancelled(c)) => assert_eq!(c.by, CancelledBy::Shutdown),
            other => panic!("expected cancelled by shutdown, got {other:?}"),
        }
    }
    assert!(started(&log).is_empty());
}

/// A kind that waits forever in the first process (`block`) and completes in the next.
fn job_kind(disk: &Disk, log: &Log, block: bool) -> taskward::Builder {
    let log = log.clone();
    Taskward::builder()
        .durable(disk.clone())
        .no_default_ttl()
        .register("job", move |_ctx: TaskContext, input: Value| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(input["n"].to_string());
                if block {
                    std::future::pending::<()>().await;
                }
                Ok(input)
            }
        })
}

#[tokio::test]
async fn a_dependent_keeps_waiting_across_a_restart() {
    let disk = Disk::new();
    let log = Log::default();
    let ward = job_kind(&disk, &log, true).spawn().await.unwrap();
    let a = ward
        .submit_kind(TaskSpec::new("job"), json!({ "n": 1 }))
        .await
        .unwrap();
    let b = ward
        .submit_kind(TaskSpec::new("job").depends_on([a.id()]), json!({ "n": 2 }))
        .await
        .unwrap();
    assert_eq!(disk.record(b.id()).unwrap().depends_on, vec![a.id()]);
    let after_crash = disk.crash_copy();
    drop(ward);

    let log2 = Log::default();
    let ward2 = job_kind(&after_crash, &log2, false).spawn().await.unwrap();
    let scope = Scope::global();
    assert!(matches!(
        ward2.wait(&scope, a.id()).await.unwrap(),
        Outcome::Completed { .. }
    ));
    assert_eq!(
        ward2.wait(&scope, b.id()).await.unwrap(),
        Outcome::completed(json!({ "n": 2 }))
    );
    assert_eq!(started(&log2), ["1", "2"], "b ran after a, once");
    ward2.shutdown(Duration::from_secs(1)).await.unwrap();
}
