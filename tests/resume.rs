//! Named, resumable work: registered kinds, checkpoints, resume after a restart, and suspend
//! and resume (docs/durability.md).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::disk::Disk;
use common::{settle, wait_for};
use serde_json::{Value, json};
use taskward::{Error, Outcome, Phase, Scope, Status, TaskContext, TaskError, TaskSpec, Taskward};
use tokio::sync::mpsc;

/// Counts from its last checkpoint (or 0) to `input.to`, checkpointing each step. At
/// `input.park_at` on its first attempt it tells the test and waits forever (the process
/// "dies" there). It watches its token between steps.
async fn count(
    ctx: TaskContext,
    input: Value,
    at_step: mpsc::UnboundedSender<u64>,
) -> Result<Value, TaskError> {
    let to = input["to"].as_u64().unwrap_or(10);
    let park_at = input["park_at"].as_u64();
    let from = ctx.last_checkpoint().and_then(|c| c.as_u64()).unwrap_or(0);
    let mut at = from;
    while at < to {
        if ctx.is_cancelled() {
            return Err(TaskError::cancelled());
        }
        at += 1;
        ctx.checkpoint(json!(at));
        let _ = at_step.send(at);
        if Some(at) == park_at && ctx.attempt() == 1 {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(json!({ "counted": at, "from": from, "attempt": ctx.attempt() }))
}

fn counter(disk: Option<&Disk>) -> (taskward::Builder, mpsc::UnboundedReceiver<u64>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut builder =
        Taskward::builder().register("count", move |ctx, input| count(ctx, input, tx.clone()));
    if let Some(disk) = disk {
        builder = builder.durable(disk.clone());
    }
    (builder, rx)
}

async fn step(rx: &mut mpsc::UnboundedReceiver<u64>, n: u64) {
    while let Some(at) = rx.recv().await {
        if at >= n {
            return;
        }
    }
    panic!("the work stopped before step {n}");
}

/// Waits (a minute at most) until the task is suspended, and returns its record.
async fn until_suspended(ward: &Taskward, id: taskward::TaskId) -> Arc<taskward::TaskRecord> {
    let scope = Scope::global();
    let mut events = ward.subscribe(taskward::EventFilter::all().task(id));
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let record = ward.get(&scope, id).unwrap();
            if record.phase == Some(Phase::Suspended) {
                return record;
            }
            let _ = events.recv().await;
        }
    })
    .await
    .expect("suspended within a minute")
}

#[tokio::test]
async fn a_task_of_a_registered_kind_records_its_kind_and_input() {
    let (builder, _rx) = counter(None);
    let ward = builder.spawn().await.unwrap();
    let task = ward
        .submit_kind(TaskSpec::new("count"), json!({ "to": 3 }))
        .await
        .unwrap();
    assert_eq!(task.record().name.as_ref(), "count");
    assert_eq!(task.record().input.as_deref(), Some(&json!({ "to": 3 })));
    assert_eq!(
        task.wait().await.unwrap(),
        Outcome::completed(json!({ "counted": 3, "from": 0, "attempt": 1 }))
    );
    match ward.submit_kind(TaskSpec::new("nope"), json!({})).await {
        Err(Error::UnknownKind(kind)) => assert_eq!(kind.as_ref(), "nope"),
        other => panic!("expected UnknownKind, got {other:?}"),
    }
    assert_eq!(ward.status().await.unwrap().tasks, 1, "nothing was created");
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn a_resumable_task_interrupted_by_a_restart_resumes_from_its_last_checkpoint() {
    let disk = Disk::new();
    let (builder, mut rx) = counter(Some(&disk));
    let ward = builder.spawn().await.unwrap();
    let task = ward
        .submit_kind(TaskSpec::new("count"), json!({ "to": 8, "park_at": 5 }))
        .await
        .unwrap();
    step(&mut rx, 5).await;
    // A submit's commit also covers the checkpoint queued before it.
    ward.submit(TaskSpec::new("barrier"), |_ctx| async { Ok(json!(null)) })
        .await
        .unwrap();
    // The process dies now.
    let after_crash = disk.crash_copy();

    let (builder, _rx2) = counter(Some(&after_crash));
    let ward2 = builder.spawn().await.unwrap();
    let record = ward2.get(&Scope::global(), task.id()).unwrap();
    assert_eq!(
        record.status,
        Status::Working,
        "resumed, not failed: {record:?}"
    );
    assert_eq!(record.attempt, 2);
    assert_eq!(
        ward2.wait(&Scope::global(), task.id()).await.unwrap(),
        Outcome::completed(json!({ "counted": 8, "from": 5, "attempt": 2 }))
    );
    ward2.shutdown(Duration::from_secs(1)).await.unwrap();
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn suspend_stops_the_work_at_its_checkpoint_and_resume_continues_from_it() {
    let (builder, mut rx) = counter(None);
    let ward = builder.spawn().await.unwrap();
    let scope = Scope::global();
    let task = ward
        .submit_kind(TaskSpec::new("count"), json!({ "to": 1000 }))
        .await
        .unwrap();
    step(&mut rx, 3).await;
    ward.suspend(&scope, task.id()).await.unwrap();
    let record = until_suspended(&ward, task.id()).await;
    assert_eq!(record.status, Status::Working);
    assert_eq!(record.phase, Some(Phase::Suspended));
    assert!(
        record
            .status_message
            .as_deref()
            .unwrap()
            .contains("suspended")
    );
    let status = ward.status().await.unwrap();
    assert_eq!(status.live, 1, "a suspended task is live");
    // The checkpoint is the last step the work reached before it stopped.
    let mut checkpoint = 3;
    while let Ok(at) = rx.try_recv() {
        checkpoint = checkpoint.max(at);
    }
    // No attempt runs while suspended: no step comes.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(
        rx.try_recv().is_err(),
        "the work went on after it was suspended"
    );

    ward.resume(&scope, task.id()).await.unwrap();
    match wait_for(&task).await {
        Outcome::Completed { value } => {
            assert_eq!(value["counted"], json!(1000));
            assert_eq!(value["attempt"], json!(2));
            assert_eq!(value["from"], json!(checkpoint));
            assert!(checkpoint >= 3);
        }
        other => panic!("expected completed, got {other:?}"),
    }
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn suspend_and_resume_refuse_what_they_do_not_apply_to() {
    let (builder, _rx) = counter(None);
    let ward = builder.spawn().await.unwrap();
    let scope = Scope::global();
    let closure = ward
        .submit(TaskSpec::new("closure"), common::long)
        .await
        .unwrap();
    assert!(matches!(
        ward.suspend(&scope, closure.id()).await,
        Err(Error::NotResumable(id)) if id == closure.id()
    ));
    let counting = ward
        .submit_kind(TaskSpec::new("count"), json!({ "to": 1000 }))
        .await
        .unwrap();
    assert!(matches!(
        ward.resume(&scope, counting.id()).await,
        Err(Error::WrongPhase { .. })
    ));
    assert!(matches!(
        ward.suspend(&Scope::session("other"), counting.id()).await,
        Err(Error::NotFound(_))
    ));
    ward.suspend(&scope, counting.id()).await.unwrap();
    assert!(matches!(
        ward.suspend(&scope, counting.id()).await,
        Err(Error::WrongPhase { .. })
    ));
    let done = ward
        .submit_kind(TaskSpec::new("count"), json!({ "to": 1 }))
        .await
        .unwrap();
    wait_for(&done).await;
    assert!(matches!(
        ward.suspend(&scope, done.id()).await,
        Err(Error::AlreadyTerminal { .. })
    ));
    // A suspended task can still be cancelled.
    settle().await;
    let cancelled = ward.cancel(&scope, counting.id(), None).await.unwrap();
    assert_eq!(cancelled.status, Status::Cancelled);
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn a_suspended_task_stays_suspended_across_a_restart() {
    let disk = Disk::new();
    let (builder, mut rx) = counter(Some(&disk));
    let ward = builder.spawn().await.unwrap();
    let scope = Scope::global();
    let task = ward
        .submit_kind(TaskSpec::new("count"), json!({ "to": 50 }))
        .await
        .unwrap();
    step(&mut rx, 2).await;
    ward.suspend(&scope, task.id()).await.unwrap();
    until_suspended(&ward, task.id()).await;
    ward.submit(TaskSpec::new("barrier"), |_ctx| async { Ok(json!(null)) })
        .await
        .unwrap();
    let after_crash = disk.crash_copy();

    let (builder, _rx2) = counter(Some(&after_crash));
    let ward2 = builder.spawn().await.unwrap();
    let record = ward2.get(&scope, task.id()).unwrap();
    assert_eq!(record.phase, Some(Phase::Suspended));
    ward2.resume(&scope, task.id()).await.unwrap();
    match ward2.wait(&scope, task.id()).await.unwrap() {
        Outcome::Completed { value } => {
            assert_eq!(value["counted"], json!(50));
            assert!(value["from"].as_u64().unwrap() >= 2);
        }
        other => panic!("expected completed, got {other:?}"),
    }
    ward2.shutdown(Duration::from_secs(1)).await.unwrap();
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn the_checkpoint_of_a_closure_task_is_dropped() {
    let ward = Taskward::builder().spawn().await.unwrap();
    let task = ward
        .submit(TaskSpec::new("closure"), |ctx: TaskContext| async move {
            ctx.checkpoint(json!(1));
            Ok(json!(ctx.last_checkpoint().is_none()))
        })
        .await
        .unwrap();
    assert_eq!(task.wait().await.unwrap(), Outcome::completed(json!(true)));
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn work_submitted_with_an_input_resumes_as_its_registered_kind() {
    let disk = Disk::new();
    let (builder, _rx) = counter(Some(&disk));
    let ward = builder.spawn().await.unwrap();
    // The work runs here as a closure; after a restart, the kind's handler takes over.
    let task = ward
        .submit(
            TaskSpec::new("count").input(json!({ "to": 4 })),
            common::long,
        )
        .await
        .unwrap();
    let after_crash = disk.crash_copy();
    let (builder, _rx2) = counter(Some(&after_crash));
    let ward2 = builder.spawn().await.unwrap();
    assert_eq!(
        ward2.wait(&Scope::global(), task.id()).await.unwrap(),
        Outcome::completed(json!({ "counted": 4, "from": 0, "attempt": 2 }))
    );
    match ward
        .submit(TaskSpec::new("unregistered").input(json!({})), common::long)
        .await
    {
        Err(Error::UnknownKind(kind)) => assert_eq!(kind.as_ref(), "unregistered"),
        other => panic!("expected UnknownKind, got {other:?}"),
    }
    ward2.shutdown(Duration::from_secs(1)).await.unwrap();
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn a_shutdown_over_a_durable_store_leaves_resumable_tasks_to_the_next_start() {
    let disk = Disk::new();
    let (builder, mut rx) = counter(Some(&disk));
    let ward = builder.spawn().await.unwrap();
    let resumable = ward
        .submit_kind(TaskSpec::new("count"), json!({ "to": 100 }))
        .await
        .unwrap();
    let closure = ward
        .submit(TaskSpec::new("closure"), common::long)
        .await
        .unwrap();
    step(&mut rx, 3).await;
    let report = ward.shutdown(Duration::from_secs(1)).await.unwrap();
    assert_eq!(report.parked, 1);
    assert_eq!(
        disk.record(resumable.id()).unwrap().status,
        Status::Working,
        "kept live in the store"
    );
    assert_eq!(disk.record(closure.id()).unwrap().status, Status::Cancelled);

    let (builder, _rx2) = counter(Some(&disk));
    let ward2 = builder.spawn().await.unwrap();
    match ward2.wait(&Scope::global(), resumable.id()).await.unwrap() {
        Outcome::Completed { value } => {
            assert_eq!(value["counted"], json!(100));
            assert_eq!(value["attempt"], json!(2));
            assert!(value["from"].as_u64().unwrap() >= 3, "{value}");
        }
        other => panic!("expected completed, got {other:?}"),
    }
    ward2.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn a_resumed_task_keeps_the_timeout_it_was_submitted_with() {
    let disk = Disk::new();
    let (builder, mut rx) = counter(Some(&disk));
    let ward = builder.spawn().await.unwrap();
    // Ten seconds of counting: only its timeout ends the resumed attempt sooner.
    let spec = TaskSpec::new("count").timeout(Duration::from_secs(2));
    let task = ward
        .submit_kind(spec, json!({ "to": 1000, "park_at": 2 }))
        .await
        .unwrap();
    step(&mut rx, 2).await;
    ward.submit(TaskSpec::new("barrier"), |_ctx| async { Ok(json!(null)) })
        .await
        .unwrap();
    let after_crash = disk.crash_copy();
    assert!(
        task.record().policies.is_some(),
        "the record carries the task's own timeout"
    );

    let (builder, _rx2) = counter(Some(&after_crash));
    let ward2 = builder.spawn().await.unwrap();
    match ward2.wait(&Scope::global(), task.id()).await.unwrap() {
        Outcome::Failed(failure) => assert_eq!(failure.cause, taskward::FailureCause::TimedOut),
        other => panic!("the resumed attempt should time out, not {other:?}"),
    }
    ward2.shutdown(Duration::from_secs(1)).await.unwrap();
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}
