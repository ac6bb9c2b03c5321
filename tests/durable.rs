//! Durable tasks: submit waits for durability, group commit, and restart reconciliation
//! (DESIGN.md "Durability and scale-out"; docs/durability.md).
//!
//! The durable store here is a test "disk" that outlives the runtimes of one test; the SQLite
//! store passes the same checks in `tests/store_contract.rs`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::disk::Disk;
use common::{HOUR, instant, long};
use serde_json::json;
use taskward::{
    Error, FailureCause, Outcome, Scope, SessionRecord, Status, TaskRecord, TaskSpec, Taskward,
};
use time::OffsetDateTime;

async fn ward_on(disk: &Disk) -> Taskward {
    Taskward::builder()
        .durable(disk.clone())
        .spawn()
        .await
        .expect("runtime starts")
}

#[tokio::test]
async fn a_submit_returns_once_its_record_is_durable() {
    let disk = Disk::slow(Duration::from_millis(20));
    let ward = ward_on(&disk).await;
    let task = ward.submit(TaskSpec::new("job"), long).await.unwrap();
    let stored = disk
        .record(task.id())
        .expect("the record is on disk when submit returns");
    assert_eq!(stored.status, Status::Working);
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn submits_that_arrive_together_share_one_commit() {
    let disk = Disk::slow(Duration::from_millis(5));
    let ward = ward_on(&disk).await;
    let submits = (0..64).map(|i| {
        let ward = ward.clone();
        tokio::spawn(async move {
            ward.submit(TaskSpec::new(format!("job-{i}")), instant(json!(i)))
                .await
                .unwrap()
                .id()
        })
    });
    let ids = futures_util::future::join_all(submits).await;
    for id in ids {
        assert!(disk.record(id.unwrap()).is_some());
    }
    let commits = disk.commits();
    assert!(commits < 64, "64 submits took {commits} commits");
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn finished_tasks_are_served_after_a_restart_exactly_as_before() {
    let disk = Disk::new();
    let scope = Scope::session("s1");
    let ward = ward_on(&disk).await;
    let done = ward
        .submit(
            TaskSpec::new("done").scope(scope.clone()),
            instant(json!({"n": 42})),
        )
        .await
        .unwrap();
    done.wait().await.unwrap();
    let failed = common::submit_failing(&ward, &scope, "failed", "no disk").await;
    failed.wait().await.unwrap();
    let before = [
        ward.get(&scope, done.id()).unwrap(),
        ward.get(&scope, failed.id()).unwrap(),
    ];
    ward.shutdown(Duration::from_secs(1)).await.unwrap();

    let ward = ward_on(&disk).await;
    for record in &before {
        assert_eq!(&ward.get(&scope, record.id).unwrap(), record);
        assert_eq!(
            &ward.wait(&scope, record.id).await.unwrap(),
            record.outcome.as_ref().unwrap()
        );
    }
    let listed = common::listed_ids(&ward, &scope);
    assert_eq!(listed, vec![done.id(), failed.id()]);
    // Foreign scopes still get not found.
    assert!(matches!(
        ward.get(&Scope::session("s2"), done.id()),
        Err(Error::NotFound(_))
    ));
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// A wait that saw the task end returns once its end is durable: a process killed right
/// after (the disk copied at that instant, the commit of the end still under way) leaves the
/// task ended for the next one (a promise `crates/taskward-cli/tests/crash_restart.rs` checks).
#[tokio::test]
async fn an_awaited_outcome_survives_a_crash_right_after() {
    // Each commit takes long enough for the end to be seen before it is written.
    let disk = Disk::slow(Duration::from_millis(300));
    let ward = ward_on(&disk).await;
    let go = Arc::new(tokio::sync::Notify::new());
    let work = {
        let go = go.clone();
        move |_ctx: taskward::TaskContext| {
            let go = go.clone();
            async move {
                go.notified().await;
                Ok::<_, taskward::TaskError>(json!("done"))
            }
        }
    };
    let task = ward.submit(TaskSpec::new("job"), work).await.unwrap();
    // It ends after its creation is durable, so its end is in a commit of its own.
    go.notify_one();
    let outcome = task.wait().await.unwrap();
    assert!(matches!(outcome, Outcome::Completed { .. }), "{outcome:?}");
    let after_crash = disk.crash_copy();

    let ward2 = ward_on(&after_crash).await;
    let record = ward2.get(&Scope::global(), task.id()).unwrap();
    assert_eq!(record.status, Status::Completed, "{record:?}");
    ward2.shutdown(Duration::from_secs(1)).await.unwrap();
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// A cancel returns once the cancelled record is durable: a process killed right after
/// leaves the task cancelled for the next one (a promise checked by
/// `crates/taskward-cli/tests/crash_restart.rs`).
#[tokio::test]
async fn an_acknowledged_cancel_survives_a_crash_right_after() {
    let disk = Disk::slow(Duration::from_millis(300));
    let ward = ward_on(&disk).await;
    let task = ward.submit(TaskSpec::new("long"), long).await.unwrap();
    let cancelled = task.cancel(None).await.unwrap();
    assert_eq!(cancelled.status, Status::Cancelled);
    let after_crash = disk.crash_copy();

    let ward2 = ward_on(&after_crash).await;
    let record = ward2.get(&Scope::global(), task.id()).unwrap();
    assert_eq!(record.status, Status::Cancelled, "{record:?}");
    ward2.shutdown(Duration::from_secs(1)).await.unwrap();
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn a_task_working_when_the_process_died_fails_with_cause_interrupted() {
    let disk = Disk::new();
    let ward = ward_on(&disk).await;
    let task = ward.submit(TaskSpec::new("long"), long).await.unwrap();
    // The process dies now: what the disk holds is what the next process finds.
    let after_crash = disk.crash_copy();

    let ward2 = ward_on(&after_crash).await;
    let record = ward2.get(&Scope::global(), task.id()).unwrap();
    assert_eq!(record.status, Status::Failed);
    match ward2.wait(&Scope::global(), task.id()).await.unwrap() {
        Outcome::Failed(f) => {
            assert_eq!(f.cause, FailureCause::Interrupted);
            assert!(f.message.contains("process stopped"), "{}", f.message);
        }
        other => panic!("expected interrupted, got {other:?}"),
    }
    // Nothing is left working without a runner, and the status counts agree.
    let status = ward2.status().await.unwrap();
    assert_eq!(status.live, 0);
    // The interruption itself is durable.
    ward2.shutdown(Duration::from_secs(1)).await.unwrap();
    assert_eq!(
        after_crash.record(task.id()).unwrap().status,
        Status::Failed
    );
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}

fn written_earlier(name: &str, age: Duration, ttl: Duration, status: Status) -> TaskRecord {
    let mut record = TaskRecord::new(taskward::TaskId::new(), Scope::global(), name.into(), 1);
    record.created_at = OffsetDateTime::now_utc() - age;
    record.last_updated_at = record.created_at;
    record.ttl = Some(ttl);
    if status == Status::Completed {
        record.status = Status::Completed;
        record.phase = None;
        record.outcome = Some(Outcome::completed(json!("old")));
    }
    record
}

#[tokio::test]
async fn tasks_whose_ttl_elapsed_while_the_process_was_down_are_removed() {
    let disk = Disk::new();
    let finished = written_earlier("finished", 2 * HOUR, HOUR, Status::Completed);
    let working = written_earlier("working", 2 * HOUR, HOUR, Status::Working);
    let kept = written_earlier("kept", 2 * HOUR, 3 * HOUR, Status::Completed);
    for r in [&finished, &working, &kept] {
        disk.put(r.clone());
    }
    let ward = ward_on(&disk).await;
    for r in [&finished, &working] {
        assert!(matches!(
            ward.get(&Scope::global(), r.id),
            Err(Error::NotFound(_))
        ));
    }
    assert_eq!(ward.get(&Scope::global(), kept.id).unwrap().as_ref(), &kept);
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
    assert!(disk.record(finished.id).is_none());
    assert!(disk.record(working.id).is_none());
    assert!(disk.record(kept.id).is_some());
}

#[tokio::test(start_paused = true)]
async fn the_ttl_of_a_restored_task_counts_from_its_creation_on_the_wall_clock() {
    let disk = Disk::new();
    // Created 30 minutes ago with a TTL of an hour: 30 minutes left.
    let record = written_earlier("half", HOUR / 2, HOUR, Status::Completed);
    disk.put(record.clone());
    let ward = Taskward::builder()
        .durable(disk.clone())
        .sweep_interval(Duration::from_secs(1))
        .spawn()
        .await
        .unwrap();
    tokio::time::sleep(HOUR / 2 - Duration::from_secs(60)).await;
    assert!(
        ward.get(&Scope::global(), record.id).is_ok(),
        "still within its TTL"
    );
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(matches!(
        ward.get(&Scope::global(), record.id),
        Err(Error::NotFound(_))
    ));
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
    assert!(
        disk.record(record.id).is_none(),
        "the expiry reached the disk"
    );
}

#[tokio::test]
async fn a_restarted_runtime_keeps_creation_order_and_idempotency_keys() {
    let disk = Disk::new();
    let ward = ward_on(&disk).await;
    let first = ward
        .submit(
            TaskSpec::new("first").idempotency_key("k1"),
            instant(json!(1)),
        )
        .await
        .unwrap();
    first.wait().await.unwrap();
    ward.shutdown(Duration::from_secs(1)).await.unwrap();

    let ward = ward_on(&disk).await;
    let again = ward
        .submit(
            TaskSpec::new("first").idempotency_key("k1"),
            instant(json!(2)),
        )
        .await
        .unwrap();
    assert_eq!(
        again.id(),
        first.id(),
        "the key still dedupes after a restart"
    );
    let second = ward
        .submit(TaskSpec::new("second"), instant(json!(3)))
        .await
        .unwrap();
    let listed = common::listed_ids(&ward, &Scope::global());
    assert_eq!(listed, vec![first.id(), second.id()]);
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn sessions_are_kept_across_a_restart_until_forgotten() {
    let disk = Disk::new();
    let ward = ward_on(&disk).await;
    ward.persist_session(Arc::new(SessionRecord::new("kept", Some("alice".into()))));
    ward.persist_session(Arc::new(SessionRecord::new("closed", None)));
    ward.forget_session("closed");
    ward.shutdown(Duration::from_secs(1)).await.unwrap();

    let ward = ward_on(&disk).await;
    let sessions = ward.take_restored_sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].id.as_ref(), "kept");
    assert_eq!(sessions[0].principal.as_deref(), Some("alice"));
    assert!(ward.take_restored_sessions().is_empty(), "taken once");
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn shutdown_closes_the_store_so_that_the_next_runtime_opens_it_at_once() {
    let dir =
        std::env::temp_dir().join(format!("taskward-durable-test-{}", taskward::TaskId::new()));
    let db = dir.join("taskward.db");
    let open = || taskward_sqlite::SqliteStore::open(&db, taskward::Durability::Process).unwrap();
    let ward = Taskward::builder().durable(open()).spawn().await.unwrap();
    let task = ward
        .submit(TaskSpec::new("done"), instant(json!("kept")))
        .await
        .unwrap();
    task.wait().await.unwrap();
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
    // `ward` is still in scope: the store must be free all the same.
    let again = Taskward::builder().durable(open()).spawn().await.unwrap();
    assert_eq!(
        again.wait(&Scope::global(), task.id()).await.unwrap(),
        Outcome::completed(json!("kept"))
    );
    again.shutdown(Duration::from_secs(1)).await.unwrap();
    drop(ward);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_killed_registry_loses_no_write_of_the_journal() {
    let disk = Disk::new();
    let ward = ward_on(&disk).await;
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let released = std::sync::Mutex::new(Some(released));
    let task = ward
        .submit(TaskSpec::new("gated"), move |_ctx| {
            let gate = released.lock().unwrap().take();
            async move {
                if let Some(gate) = gate {
                    let _ = gate.await;
                }
                Ok(json!("after the restart"))
            }
        })
        .await
        .unwrap();
    let old = ward.registry_cell().unwrap();
    old.kill();
    common::settle().await;
    assert_ne!(
        ward.registry_cell().unwrap().get_id(),
        old.get_id(),
        "restarted"
    );
    release.send(()).unwrap();
    // Acknowledged by `wait` after the restart: it must be on disk, as a crash now finds it.
    assert_eq!(
        task.wait().await.unwrap(),
        Outcome::completed(json!("after the restart"))
    );
    let after_crash = disk.crash_copy();
    assert_eq!(
        after_crash.record(task.id()).unwrap().status,
        Status::Completed
    );
    let ward2 = ward_on(&after_crash).await;
    assert_eq!(
        ward2.wait(&Scope::global(), task.id()).await.unwrap(),
        Outcome::completed(json!("after the restart"))
    );
    ward2.shutdown(Duration::from_secs(1)).await.unwrap();
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}
